package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// outcome is how one webhook went: "" for success, else the kind of error.
type outcome string

// Error kinds the summary counts.
const (
	errTimeout   outcome = "timeout"
	errTransport outcome = "transport"
	errRefused   outcome = "success:false"
)

func httpStatusOutcome(code int) outcome { return outcome(fmt.Sprintf("HTTP %d", code)) }

// runLoadTest sends webhooks until c.duration has passed or ctx ends,
// printing a progress line every second.
func runLoadTest(ctx context.Context, c loadConfig, m *webhookMaker, progress io.Writer) (*loadSummary, error) {
	client := newLoadClient(c)
	defer client.CloseIdleConnections()
	sum := newLoadSummary()
	cpu0, cpuErr := processCPU(c.serverPID)
	ctx, cancel := context.WithTimeout(ctx, c.duration)
	defer cancel()

	var seq atomic.Uint64
	tickets := pace(ctx, c.rate, c.concurrency)
	start := time.Now()
	var wg sync.WaitGroup
	for range c.concurrency {
		wg.Go(func() {
			for range tickets {
				kind := c.mix.pick(seq.Add(1) - 1)
				body, sig := m.make(kind)
				t0 := time.Now()
				out := send(client, c.url, body, sig)
				sum.record(kind, time.Since(t0), out)
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for running := true; running; {
		select {
		case <-tick.C:
			fmt.Fprintln(progress, sum.progress(time.Since(start)))
		case <-done:
			running = false
		}
	}
	sum.elapsed = time.Since(start)
	if c.serverPID > 0 {
		cpu1, err := processCPU(c.serverPID)
		if err = errors.Join(cpuErr, err); err != nil {
			return nil, fmt.Errorf("reading the service's CPU time (-server-pid %d): %w", c.serverPID, err)
		}
		sum.serverCPU = cpu1 - cpu0
	}
	return sum, nil
}

// pace hands out one ticket per webhook to send: as fast as workers take
// them, or at rate per second. The channel closes when ctx ends.
func pace(ctx context.Context, rate float64, workers int) <-chan struct{} {
	ch := make(chan struct{}, workers)
	go func() {
		defer close(ch)
		var tick <-chan time.Time
		if rate > 0 {
			t := time.NewTicker(max(time.Duration(float64(time.Second)/rate), time.Microsecond))
			defer t.Stop()
			tick = t.C
		}
		for {
			if tick != nil {
				select {
				case <-tick:
				case <-ctx.Done():
					return
				}
			}
			select {
			case ch <- struct{}{}:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch
}

// send posts one webhook and classifies the answer.
func send(client *http.Client, url string, body []byte, sig string) outcome {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return errTransport
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("lc-svc-sig", sig)
	resp, err := client.Do(req)
	if err != nil {
		var te interface{ Timeout() bool }
		if errors.As(err, &te) && te.Timeout() {
			return errTimeout
		}
		return errTransport
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		return errTransport
	}
	if resp.StatusCode != http.StatusOK {
		return httpStatusOutcome(resp.StatusCode)
	}
	var r struct {
		Success bool `json:"success"`
	}
	if json.Unmarshal(answer, &r) != nil || !r.Success {
		return errRefused
	}
	return ""
}
