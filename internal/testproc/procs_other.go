//go:build !linux

package testproc

// becomeReaper does nothing where the system has no subreapers.
func becomeReaper() {}

// killAll does nothing where the system cannot list a process's
// descendants: Command's processes end with their contexts.
func killAll() []string { return nil }
