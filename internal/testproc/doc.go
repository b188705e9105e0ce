// Package testproc runs what this module's tests start outside their own
// process — the binaries they build, the processes they run, the files
// they write to the temporary directory — so that nothing is left behind
// however a test binary ends: passed, failed, interrupted or timed out.
//
// A package whose tests build or start programs calls Main from its
// TestMain:
//
//	func TestMain(m *testing.M) { testproc.Main(m) }
//
// Main gives the test binary a private temporary directory (TMPDIR, so
// t.TempDir, os.MkdirTemp and the processes the tests start write there)
// and removes it when the binary ends. On Linux it also makes the test
// binary the reaper of the processes its children leave behind, so that
// when it ends it can kill every process started under it, including
// grandchildren whose parent is gone. It ends the same way on SIGINT,
// SIGTERM and SIGHUP, and shortly before the -test.timeout the go command
// set runs out: then it kills what the tests started, removes their files
// and panics with every goroutine's stack, as the testing package does.
//
// Binary builds a main package once per test binary with the flags the test
// binary itself was built with (-race when it was), so the build reuses the
// packages go test compiled already; Build does the same for Examples and
// for a recipe's flags, such as the one DockerfileRecipe reads from a
// Dockerfile; Command starts a process in a process group of its own that
// is killed with its group when its context ends.
package testproc
