# lcservice — common tasks. `make test` is what CI runs.
GO ?= go

.PHONY: build test vet fmt-check demo run-basic bench

build:
	$(GO) build ./...

test:
	$(GO) test -race -count=1 ./...

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

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
