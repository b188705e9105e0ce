package tracking_test

import (
	"fmt"
	"time"

	"github.com/lcsvc/lcservice/tracking"
)

// A continuation is stored under the correlation ID its task carries, and
// looked up again when the reply comes back. A task nobody answers times
// out, once, on the sweeper goroutine.
func ExampleTable() {
	type continuation func(reply string) string

	timedOut := make(chan tracking.Entry[continuation], 1)
	table, err := tracking.New(tracking.Options[continuation]{
		TTL:       50 * time.Millisecond,
		OnTimeout: func(e tracking.Entry[continuation]) { timedOut <- e },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer table.Close()

	err = table.Add(tracking.Entry[continuation]{
		ID:    "6f1c2a9e",
		Value: func(reply string) string { return "packages: " + reply },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	if e, ok := table.Resolve("6f1c2a9e"); ok {
		fmt.Println(e.Value("3 installed"))
	}
	_, ok := table.Resolve("6f1c2a9e")
	fmt.Println("second reply finds it:", ok)

	if err := table.Add(tracking.Entry[continuation]{ID: "0b7d44c1", JobID: "job-1"}); err != nil {
		fmt.Println(err)
		return
	}
	select {
	case e := <-timedOut:
		fmt.Println("timed out:", e.ID, e.JobID)
	case <-time.After(10 * time.Second):
		fmt.Println("no timeout")
	}
	fmt.Printf("%+v\n", table.Stats())
	// Output:
	// packages: 3 installed
	// second reply finds it: false
	// timed out: 0b7d44c1 job-1
	// {Pending:0 Added:2 Resolved:1 Done:0 TimedOut:1 Evicted:0 Dropped:0}
}
