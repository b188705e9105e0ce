package redistest

import (
	"context"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

func TestDropKeysAtCleanupDeletesOnlyMatchingKeys(t *testing.T) {
	m, url := Mini(t)
	name := Name("t-")
	if !strings.HasPrefix(name, "t-") || len(name) != len("t-")+12 || name == Name("t-") {
		t.Fatalf("Name = %q; want t- and 12 random hex digits", name)
	}
	t.Run("test", func(t *testing.T) {
		DropKeysAtCleanup(t, url, "lcservice:{"+name+"}:*")
		c := redis.NewClient(&redis.Options{Addr: m.Addr()})
		defer c.Close()
		for _, k := range []string{"lcservice:{" + name + "}:a", "lcservice:{" + name + "}:b", "other"} {
			if err := c.Set(context.Background(), k, "v", 0).Err(); err != nil {
				t.Fatal(err)
			}
		}
	})
	if keys := m.Keys(); len(keys) != 1 || keys[0] != "other" {
		t.Errorf("keys after the test ended = %v; want only the unmatched one", keys)
	}
}
