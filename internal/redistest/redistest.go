// Package redistest gives tests a Redis to run against: an in-process
// miniredis always, and the real server that LCSERVICE_TEST_REDIS_URL names
// when it is set (make test and CI start one), with the keys a test wrote
// deleted when it ends.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// URLEnv names the real Redis server tests also run against.
const URLEnv = "LCSERVICE_TEST_REDIS_URL"

// ServerURL returns the real server's URL, or "" when URLEnv is unset.
func ServerURL() string { return os.Getenv(URLEnv) }

// Mini starts a miniredis, stopped when the test ends, and returns its URL.
func Mini(tb testing.TB) (*miniredis.Miniredis, string) {
	m := miniredis.RunT(tb)
	return m, "redis://" + m.Addr()
}

// Name returns prefix followed by random hex: a service name no other test
// run uses, so runs on one server never see each other's keys.
func Name(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// DropKeysAtCleanup deletes, when the test ends, the keys matching pattern
// (a SCAN pattern, e.g. "lcservice:{name}:*") in the Redis at url.
func DropKeysAtCleanup(tb testing.TB, url, pattern string) {
	tb.Helper()
	opts, err := redis.ParseURL(url)
	if err != nil {
		tb.Fatalf("%s: %v", URLEnv, err)
	}
	tb.Cleanup(func() {
		c := redis.NewClient(opts)
		defer c.Close()
		ctx := context.Background()
		iter := c.Scan(ctx, 0, pattern, 1000).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
	})
}
