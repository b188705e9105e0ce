//go:build unix

package service

import "syscall"

// fdLimit returns the process's open-file limit (soft), if it has one.
func fdLimit() (uint64, bool) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, false
	}
	cur := uint64(rl.Cur)
	if cur > 1<<40 { // unlimited
		return 0, false
	}
	return cur, true
}
