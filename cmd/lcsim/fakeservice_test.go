package main

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"
)

// fakeServiceEnv makes the test binary a misbehaving service (see
// fakeService) instead of running the tests.
const fakeServiceEnv = "LCSIM_FAKE_SERVICE"

// fakePIDsEnv names a file every fake service appends its process id to,
// so a test can check that none is left running.
const fakePIDsEnv = "LCSIM_FAKE_PIDS"

// fakeService is the test binary run by `lcsim demo` as a service that
// goes wrong in the way mode says:
//
//	exit          prints a line and exits 3 at once
//	sleep         never listens
//	spawn         starts a "sleep" child of its own and, once the child has
//	              recorded itself, exits 3, leaving it running
//	unauthorized  answers GET /healthz, refuses every webhook with HTTP 401
//	stubborn      unauthorized, and ignores SIGTERM
func fakeService(mode string) int {
	if f, err := os.OpenFile(os.Getenv(fakePIDsEnv), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600); err == nil {
		fmt.Fprintln(f, os.Getpid())
		f.Close()
	}
	switch mode {
	case "exit":
		fmt.Fprintln(os.Stderr, "fake service: giving up at once")
		return 3
	case "sleep":
		fmt.Println("fake service: recorded") // for spawn
		time.Sleep(time.Hour)                 // the subject: a service that never listens
		return 0
	case "spawn":
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), fakeServiceEnv+"=sleep")
		out, err := cmd.StdoutPipe()
		if err == nil {
			err = cmd.Start()
		}
		if err == nil {
			// Once the child has recorded its pid, leave it behind.
			_, err = bufio.NewReader(out).ReadString('\n')
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "fake service:", err)
			return 1
		}
		fmt.Fprintln(os.Stderr, "fake service: leaving a child behind")
		return 3
	case "stubborn":
		signal.Ignore(syscall.SIGTERM)
		fallthrough
	case "unauthorized":
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && r.URL.Path == "/healthz" {
				w.Write([]byte("ok\n"))
				return
			}
			http.Error(w, `{"error":"invalid signature"}`, http.StatusUnauthorized)
		})
		fmt.Fprintln(os.Stderr, http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), h))
		return 1
	}
	fmt.Fprintf(os.Stderr, "fake service: unknown mode %q\n", mode)
	return 2
}
