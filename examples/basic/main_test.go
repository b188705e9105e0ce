package main

import (
	"testing"

	"github.com/lcsvc/lcservice/internal/testproc"
)

// The tests run the example as its own process: built once, and killed
// with its temporary files however the test binary ends.
func TestMain(m *testing.M) { testproc.Main(m) }
