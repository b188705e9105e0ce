package main

import (
	"fmt"
	"io"
	"sync"
)

// console serialises writes to the terminal: the cloud's observer and the
// command's own goroutine both print, and their lines must not interleave.
type console struct {
	mu sync.Mutex
	w  io.Writer
}

func (c *console) printf(format string, a ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintf(c.w, format, a...)
}

// write prints a block built elsewhere in one piece.
func (c *console) write(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	io.WriteString(c.w, s)
}
