package tracking_test

import (
	"context"
	"fmt"
	"time"

	"github.com/lcsvc/lcservice/tracking"
)

// A continuation is stored under the task ID its task carries, and looked
// up again when the reply comes back. A task nobody answers times out,
// once. The example drives time with a ManualClock: Advance returns once
// the timeouts it made due have been handled. A service leaves
// Options.Clock nil and lives on the system clock.
func ExampleTable() {
	type continuation func(reply string) string

	ctx := context.Background()
	clock := tracking.NewManualClock(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC))
	table, err := tracking.New(tracking.Options[continuation]{
		TTL:   time.Minute,
		Clock: clock,
		OnTimeout: func(e tracking.Entry[continuation]) {
			fmt.Println("timed out:", e.ID, e.Value("no reply"))
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer table.Close()

	err = table.Add(ctx, tracking.Entry[continuation]{
		ID:    "6f1c2a9e",
		Value: func(reply string) string { return "packages: " + reply },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	if e, ok, err := table.Resolve(ctx, "6f1c2a9e"); err == nil && ok {
		fmt.Println(e.Value("3 installed"))
	}
	_, ok, _ := table.Resolve(ctx, "6f1c2a9e")
	fmt.Println("second reply finds it:", ok)

	err = table.Add(ctx, tracking.Entry[continuation]{
		ID:    "0b7d44c1",
		Value: func(reply string) string { return "job-1: " + reply },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	clock.Advance(59 * time.Second)
	fmt.Println("after 59s pending:", table.Len())
	clock.Advance(time.Second)
	fmt.Printf("%+v\n", table.Stats())
	// Output:
	// packages: 3 installed
	// second reply finds it: false
	// after 59s pending: 1
	// timed out: 0b7d44c1 job-1: no reply
	// {Pending:0 Added:2 Resolved:1 Done:0 TimedOut:1 Evicted:0 Dropped:0}
}
