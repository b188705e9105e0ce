# lcservice — common tasks. `make test` is what CI runs.
GO ?= go

.PHONY: build test test-short vet fmt-check demo run-basic bench soak

build:
	$(GO) build ./...

# The race detector needs cgo and a C compiler; without them the tests run
# without it, and say so. The tracking package's Redis tests also run against
# a real Redis: the one LCSERVICE_TEST_REDIS_URL names, else a private
# redis-server that .ci/test-redis starts for the run if one is on PATH, else
# they are skipped (and say so). TEST_TIMEOUT bounds each package's tests: it
# fits a first run, which compiles everything, on a slow 2-core machine.
TEST_TIMEOUT ?= 30m

test:
	@GO=$(GO) bash .ci/go-test -timeout $(TEST_TIMEOUT) ./...

# The inner loop: -short skips the black-box runs of the built examples
# (hostile load, floods, shutdown under load), the builds and the tutorial
# module.
test-short:
	@GO=$(GO) bash .ci/go-test -short -timeout $(TEST_TIMEOUT) ./...

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

# The main job: an interactive service investigates fake sensors end to end.
# Both programs are built into bin/ (ignored by git); lcsim runs the service
# as its child process against the emulated cloud.
demo:
	$(GO) build -o bin/ ./cmd/lcsim ./examples/packages
	bin/lcsim demo -- bin/packages

# A development secret unless one is exported; never use it in production.
run-basic: export LC_SHARED_SECRET ?= dev-secret-change-me
run-basic:
	$(GO) run ./examples/basic

# Benchmarks: BenchmarkAddResolve (memory) beside BenchmarkRedisAddResolve
# (miniredis, and a real Redis found or started as for test),
# BenchmarkPendingMemory (heap per task and Add/Resolve at a million
# pending), BenchmarkPendingTasks (the same for an interactive service's
# tasks, as Task makes them), and
# BenchmarkSoak: the package-survey service under a mixed load for
# SOAK_DURATION (default 2m), reporting memory and goroutines.
bench:
	@bash .ci/test-redis run $(GO) test -run '^$$' -bench . -benchmem ./...

# The soak alone, e.g. make soak SOAK_DURATION=10m
soak:
	$(GO) test -run '^$$' -bench Soak -benchtime 1x -timeout 0 -v ./examples/packages/survey
