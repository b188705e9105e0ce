package tracking_test

import (
	"context"
	"fmt"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/lcsvc/lcservice/tracking"
)

// Two replicas of a service share their pending tasks through Redis: a
// reply reaching either resolves the task, once, and a task nobody answers
// times out once, in one replica. A service connects with
//
//	client, err := tracking.RedisFromURL(ctx, os.Getenv(tracking.RedisURLEnv))
//
// and leaves Clock nil; the example runs on an in-process Redis and a
// ManualClock, so that Advance runs the replicas' sweeps.
func ExampleRedis() {
	// What a replica needs to handle a reply it did not task: data, not a
	// closure.
	type task struct {
		Handler string
		Sensor  string
	}

	ctx := context.Background()
	server, err := miniredis.Run()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer server.Close()
	clock := tracking.NewManualClock(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC))

	var replicas []*tracking.Redis[task]
	for name := range 2 {
		client, err := tracking.RedisFromURL(ctx, "redis://"+server.Addr()+"/0")
		if err != nil {
			fmt.Println(err)
			return
		}
		defer client.Close() // after the store: the store never closes it
		store, err := tracking.NewRedis(ctx, tracking.RedisOptions[task]{
			Client: client,
			Prefix: "lcservice:packages:",
			TTL:    time.Minute,
			Clock:  clock,
			OnTimeout: func(e tracking.Entry[task]) {
				fmt.Printf("replica %d: %s timed out: %s on %s had no answer\n", name, e.ID, e.Value.Handler, e.Value.Sensor)
			},
		})
		if err != nil {
			fmt.Println(err)
			return
		}
		defer store.Close()
		replicas = append(replicas, store)
	}

	// Replica 0 tasks two sensors; the first answer reaches replica 1.
	for id, sensor := range map[string]string{"6f1c2a9e": "web-1", "0b7d44c1": "db-1"} {
		if err := replicas[0].Add(ctx, tracking.Entry[task]{ID: id, Value: task{"packages", sensor}}); err != nil {
			fmt.Println(err)
			return
		}
	}
	if e, ok, err := replicas[1].Resolve(ctx, "6f1c2a9e"); err == nil && ok {
		fmt.Printf("replica 1: %s answered %s (%s)\n", e.Value.Sensor, e.ID, e.Value.Handler)
	}
	_, ok, _ := replicas[0].Resolve(ctx, "6f1c2a9e")
	fmt.Println("replica 0 finds it too:", ok)

	clock.Advance(time.Minute) // both replicas sweep; one claims the expired task
	fmt.Println("pending:", replicas[0].Stats().Pending)
	// Output:
	// replica 1: web-1 answered 6f1c2a9e (packages)
	// replica 0 finds it too: false
	// replica 0: 0b7d44c1 timed out: packages on db-1 had no answer
	// pending: 0
}
