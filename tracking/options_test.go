package tracking

import (
	"errors"
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
		{"negative sweep interval", Options[string]{SweepInterval: -time.Second}},
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
	tests := []struct {
		name          string
		opts          Options[string]
		wantCapacity  int
		wantTTL       time.Duration
		wantSweepEach time.Duration
	}{
		{"zero value", Options[string]{}, DefaultCapacity, DefaultTTL, MaxDefaultSweepInterval},
		{"TTL/10 within bounds", Options[string]{TTL: 10 * time.Second}, DefaultCapacity, 10 * time.Second, time.Second},
		{"TTL/10 below minimum", Options[string]{TTL: 100 * time.Millisecond}, DefaultCapacity, 100 * time.Millisecond, MinDefaultSweepInterval},
		{"TTL/10 above maximum", Options[string]{TTL: time.Hour}, DefaultCapacity, time.Hour, MaxDefaultSweepInterval},
		{"explicit values kept", Options[string]{Capacity: 7, TTL: time.Hour, SweepInterval: time.Millisecond}, 7, time.Hour, time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			table, err := New(tt.opts)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			defer table.Close()
			got := table.opts
			if got.Capacity != tt.wantCapacity || got.TTL != tt.wantTTL || got.SweepInterval != tt.wantSweepEach {
				t.Errorf("resolved options = {Capacity:%d TTL:%v SweepInterval:%v}, want {%d %v %v}",
					got.Capacity, got.TTL, got.SweepInterval, tt.wantCapacity, tt.wantTTL, tt.wantSweepEach)
			}
			if got.Now == nil {
				t.Error("Now left nil")
			}
		})
	}
}
