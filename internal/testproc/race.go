//go:build race

package testproc

// raceEnabled reports whether this test binary was built with -race.
const raceEnabled = true
