//go:build !unix

package service

// fdLimit reports no open-file limit where the platform has none to read.
func fdLimit() (uint64, bool) { return 0, false }
