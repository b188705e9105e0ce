package tracking

import (
	"errors"
	"math"
	"testing"
	"time"
)

func TestNewRejectsInvalidOptions(t *testing.T) {
	tests := []struct {
		name string
		opts Options[string]
	}{
		{"negative capacity", Options[string]{Capacity: -1}},
		{"negative TTL", Options[string]{TTL: -time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			table, err := New(tt.opts)
			if !errors.Is(err, ErrInvalidOptions) {
				t.Fatalf("New error = %v, want ErrInvalidOptions", err)
			}
			if table != nil {
				t.Fatal("New returned a table along with an error")
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	manual := newTestClock()
	tests := []struct {
		name         string
		opts         Options[string]
		wantCapacity int
		wantTTL      time.Duration
		wantClock    Clock
	}{
		{"zero value", Options[string]{}, DefaultCapacity, DefaultTTL, SystemClock()},
		{"explicit values kept", Options[string]{Capacity: 7, TTL: time.Hour, Clock: manual}, 7, time.Hour, manual},
		{"capacity above int32", Options[string]{Capacity: math.MaxInt}, math.MaxInt32, DefaultTTL, SystemClock()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			table, err := New(tt.opts)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			defer closeWithin(t, table)
			got := table.opts
			if got.Capacity != tt.wantCapacity || got.TTL != tt.wantTTL || got.Clock != tt.wantClock {
				t.Errorf("resolved options = {Capacity:%d TTL:%v Clock:%T}, want {%d %v %T}",
					got.Capacity, got.TTL, got.Clock, tt.wantCapacity, tt.wantTTL, tt.wantClock)
			}
		})
	}
}
