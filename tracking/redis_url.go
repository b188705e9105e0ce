package tracking

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/redis/go-redis/v9"
)

// RedisURLEnv is the environment variable the examples read the Redis URL
// from, to pass it to RedisFromURL.
const RedisURLEnv = "LC_REDIS_URL"

// RedisFromURL connects to the Redis server that rawURL names and checks,
// within DefaultCallTimeout (or ctx's deadline if sooner), that it answers.
// The URL is redis://[[user]:password@]host[:port][/db] (rediss:// for
// TLS, unix:///path/to/socket for a Unix socket, with ?db=N), as
// redis.ParseURL reads it, e.g. redis://127.0.0.1:6379/0. A service reads
// it from LC_REDIS_URL ([RedisURLEnv]):
//
//	client, err := tracking.RedisFromURL(ctx, os.Getenv(tracking.RedisURLEnv))
//
// The client bounds every call by its context's deadline, which is how a
// [Redis] store's CallTimeout reaches the socket. The caller owns the
// client and closes it after the stores that use it. Errors never repeat
// the URL, which may hold a password; one for a server that does not answer
// matches ErrUnavailable.
func RedisFromURL(ctx context.Context, rawURL string) (*redis.Client, error) {
	if rawURL == "" {
		return nil, fmt.Errorf("tracking: no Redis URL; set %s, e.g. to redis://127.0.0.1:6379/0", RedisURLEnv)
	}
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the URL, password included
		}
		return nil, fmt.Errorf("tracking: the Redis URL (%s) is not valid: %w; want redis://[:password@]host:port/db", RedisURLEnv, err)
	}
	opts.ContextTimeoutEnabled = true
	client := redis.NewClient(opts)
	ctx, cancel := context.WithTimeout(ctx, DefaultCallTimeout)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		client.Close()
		return nil, unreachable(opts.Addr, unavailableError{err})
	}
	return client, nil
}
