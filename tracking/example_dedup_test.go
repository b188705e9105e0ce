package tracking_test

import (
	"context"
	"fmt"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/lcsvc/lcservice/tracking"
)

// Two replicas of a service share which webhooks they have answered: a
// message delivered to both runs its handler once. A service connects with
//
//	client, err := tracking.RedisFromURL(ctx, os.Getenv(tracking.RedisURLEnv))
//	store, err := tracking.NewRedisDeliveries(client, tracking.RedisDeliveriesOptions{Prefix: "lcservice:packages:"})
//	svc, err := service.New(name, secret, service.WithDeliveryStore(store))
//
// and the service calls Begin and Finish itself; the example calls them as
// the service would, on an in-process Redis.
func ExampleRedisDeliveries() {
	ctx := context.Background()
	server, err := miniredis.Run()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer server.Close()

	var replicas []*tracking.RedisDeliveries
	for range 2 {
		client, err := tracking.RedisFromURL(ctx, "redis://"+server.Addr()+"/0")
		if err != nil {
			fmt.Println(err)
			return
		}
		defer client.Close()
		store, err := tracking.NewRedisDeliveries(client, tracking.RedisDeliveriesOptions{Prefix: "lcservice:packages:"})
		if err != nil {
			fmt.Println(err)
			return
		}
		replicas = append(replicas, store)
	}

	// The service's key for a message: its name, event type, organization
	// and message id.
	key := "packages\x00org_install\x00" + "7e1c0a52-0000-4000-8000-000000000001\x00mid-42"
	deadline := time.Now().Add(time.Minute)

	d, _ := replicas[0].Begin(ctx, key, deadline)
	fmt.Println("replica 0 claims the message:", d.Claimed)
	d, _ = replicas[1].Begin(ctx, key, deadline) // the same message, delivered again
	fmt.Println("replica 1 claims it too:", d.Claimed, "- in progress until the deadline:", d.Deadline.After(time.Now()))

	if err := replicas[0].Finish(ctx, key, []byte(`{"success":true}`)); err != nil {
		fmt.Println(err)
		return
	}
	d, _ = replicas[1].Begin(ctx, key, deadline)
	fmt.Printf("replica 1 answers from replica 0's answer: %s\n", d.Answer)
	// Output:
	// replica 0 claims the message: true
	// replica 1 claims it too: false - in progress until the deadline: true
	// replica 1 answers from replica 0's answer: {"success":true}
}
