// Command hello prints a line: the program testproc's tests build.
package main

import "fmt"

func main() { fmt.Println("hello from a built binary") }
