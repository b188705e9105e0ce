package main

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// loadSummary collects what a load run measured.
type loadSummary struct {
	mu        sync.Mutex
	latencies []time.Duration // every webhook's, in the order they ended
	errors    map[outcome]int
	byKind    map[string]int
	lastCount int // webhooks counted at the previous progress line
	lastAt    time.Duration

	elapsed   time.Duration
	serverCPU time.Duration // the service's user+system CPU time over the run, if measured
}

func newLoadSummary() *loadSummary {
	return &loadSummary{errors: map[outcome]int{}, byKind: map[string]int{}}
}

func (s *loadSummary) record(kind string, d time.Duration, out outcome) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latencies = append(s.latencies, d)
	s.byKind[kind]++
	if out != "" {
		s.errors[out]++
	}
}

// progress is one line: elapsed time, webhooks sent, the rate over the
// last interval, errors, and the latency of the interval's webhooks.
func (s *loadSummary) progress(at time.Duration) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	recent := slices.Clone(s.latencies[s.lastCount:])
	rate := float64(len(recent)) / (at - s.lastAt).Seconds()
	s.lastCount, s.lastAt = len(s.latencies), at
	slices.Sort(recent)
	return fmt.Sprintf("%5.1fs  %8d sent  %8.0f/s  %6d errors  p50 %-9s p99 %s",
		at.Seconds(), len(s.latencies), rate, s.errorCount(), roundDur(percentile(recent, 50)), roundDur(percentile(recent, 99)))
}

func (s *loadSummary) errorCount() int {
	n := 0
	for _, c := range s.errors {
		n += c
	}
	return n
}

func (s *loadSummary) errorRate() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.latencies) == 0 {
		return 0
	}
	return float64(s.errorCount()) / float64(len(s.latencies))
}

// String is the final summary.
func (s *loadSummary) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	lat := slices.Clone(s.latencies)
	slices.Sort(lat)
	n := len(lat)
	var b strings.Builder
	fmt.Fprintf(&b, "\nwebhooks   %d in %s: %.0f/s", n, s.elapsed.Round(time.Millisecond), float64(n)/s.elapsed.Seconds())
	kinds := slices.Sorted(maps.Keys(s.byKind))
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = k + " " + strconv.Itoa(s.byKind[k])
	}
	fmt.Fprintf(&b, " (%s)\n", strings.Join(parts, ", "))
	if n > 0 {
		fmt.Fprintf(&b, "latency    p50 %s  p90 %s  p99 %s  p99.9 %s  max %s\n",
			roundDur(percentile(lat, 50)), roundDur(percentile(lat, 90)), roundDur(percentile(lat, 99)),
			roundDur(percentile(lat, 99.9)), roundDur(lat[n-1]))
	}
	if s.serverCPU > 0 && n > 0 {
		fmt.Fprintf(&b, "server CPU %s in all, %s per webhook\n", s.serverCPU.Round(time.Millisecond), roundDur(s.serverCPU/time.Duration(n)))
	}
	if len(s.errors) == 0 {
		b.WriteString("errors     none\n")
		return b.String()
	}
	fmt.Fprintf(&b, "errors     %d (%.2f%%):", s.errorCount(), 100*float64(s.errorCount())/float64(max(n, 1)))
	for _, o := range slices.Sorted(maps.Keys(s.errors)) {
		fmt.Fprintf(&b, " %s %d;", o, s.errors[o])
	}
	b.WriteString("\n")
	return b.String()
}

// percentile returns the p-th percentile of sorted latencies (nearest rank).
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p/100*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func roundDur(d time.Duration) time.Duration {
	switch {
	case d >= 100*time.Millisecond:
		return d.Round(time.Millisecond)
	case d >= 100*time.Microsecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

// processCPU returns the user plus system CPU time of process pid, from
// /proc (Linux); pid 0 means none was asked for.
func processCPU(pid int) (time.Duration, error) {
	if pid == 0 {
		return 0, nil
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; fields after its ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	const ticksPerSecond = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticksPerSecond, nil
}
