package cache_test

import (
	"context"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// commandCounter is a go-redis hook that counts the commands a client
// sends, by name, so tests can see whether the cache asked Redis at all.
type commandCounter struct {
	mu     sync.Mutex
	counts map[string]int
}

func countCommands(rdb redis.UniversalClient) *commandCounter {
	c := &commandCounter{counts: map[string]int{}}
	rdb.AddHook(c)
	return c
}

func (c *commandCounter) count(name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[name]
}

func (c *commandCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *commandCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.mu.Lock()
		c.counts[strings.ToLower(cmd.Name())]++
		c.mu.Unlock()
		return next(ctx, cmd)
	}
}

func (c *commandCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
