# mapx: make test runs the whole suite; make bench compares the maps.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

GO          ?= go
BIN         := $(CURDIR)/.bin
STATICCHECK := $(BIN)/staticcheck
BENCHSTAT   := $(BIN)/benchstat
STATICCHECK_VERSION := v0.8.2
BENCHSTAT_VERSION   := v0.0.0-20260908200009-22c9c6c9d4da

# Every Go module of the repository; each is vetted and tested on its own.
MODULES := . instrumented exporters persist dashboards loadgen examples deploy/stack deploy/collector e2e bench

BENCH       ?= .
BENCH_COUNT ?= 6
BENCH_TIME  ?= 500ms
BENCH_OUT   ?= bench/results.txt
BENCH_CPU   ?=

.PHONY: all demo test fmt-check vet staticcheck test-race test-norace fuzz-seeds bench tools stack-up stack-down clean

all: test

test: fmt-check vet staticcheck test-race test-norace fuzz-seeds

$(STATICCHECK):
	GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

$(BENCHSTAT):
	GOBIN=$(BIN) $(GO) install golang.org/x/perf/cmd/benchstat@$(BENCHSTAT_VERSION)

tools: $(STATICCHECK) $(BENCHSTAT)

fmt-check:
	@out="$$(gofmt -l $$(git ls-files '*.go') 2>&1)"; \
	if [ -n "$$out" ]; then echo "gofmt: these files need formatting:"; echo "$$out"; exit 1; fi
	@echo "gofmt: ok"

vet:
	@for m in $(MODULES); do echo "go vet: $$m"; (cd $$m && $(GO) vet ./...); done

staticcheck: $(STATICCHECK)
	@for m in $(MODULES); do echo "staticcheck: $$m"; (cd $$m && $(STATICCHECK) ./...); done

test-race:
	@for m in $(MODULES); do echo "go test -race: $$m"; (cd $$m && $(GO) test -race -count=1 ./...); done

# Modules whose code differs outside race-detector builds run once more
# without it: the core (its lookups' prefetch of the dirty table) and
# instrumented (its counters' increments).
NORACE_MODULES := . instrumented
test-norace:
	@for m in $(NORACE_MODULES); do echo "go test (no race detector): $$m"; (cd $$m && $(GO) test -count=1 ./...); done

# The seed corpus of every fuzz target, on its own so that a failure names it.
fuzz-seeds:
	@for m in $(MODULES); do (cd $$m && \
	  for p in $$($(GO) list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' ./...); do \
	    if $(GO) test -list '^Fuzz' $$p | grep '^Fuzz' >/dev/null; then \
	      echo "fuzz seed corpus: $$p"; $(GO) test -count=1 -run '^Fuzz' $$p; fi; \
	  done); done

# The main job: loadgen on the instrumented map through a healthy phase, a
# leak, pressure (snapshots, cancelled iterations, the cap) and recovery, with
# /metrics on 127.0.0.1:9464 and the debug page (URL printed) at
# http://127.0.0.1:9464/debug/mapx; about three minutes. DEMO_FLAGS=-forever
# repeats the phases until interrupted.
demo:
	$(GO) -C loadgen run . -demo $(DEMO_FLAGS)

# Rounds run one after another so that every implementation sees the same
# machine noise; benchstat puts them side by side (mapx is the base column),
# and pairs gives the median of the ratios taken within each round.
bench: $(BENCHSTAT)
	@rm -f $(BENCH_OUT)
	@for i in $$(seq $(BENCH_COUNT)); do \
	  echo "bench round $$i of $(BENCH_COUNT)" >&2; \
	  (cd bench && $(GO) test -run '^$$' -bench '$(BENCH)' -benchtime $(BENCH_TIME) -count 1 $(if $(BENCH_CPU),-cpu $(BENCH_CPU)) .) >> $(BENCH_OUT); \
	done
	$(BENCHSTAT) -col /impl $(BENCH_OUT)
	$(GO) -C bench run ./cmd/pairs $(abspath $(BENCH_OUT))

# The Docker Compose stack (needs a Docker engine and GRAFANA_ADMIN_PASSWORD).
stack-up:
	@test -n "$${GRAFANA_ADMIN_PASSWORD:-}" || { echo "set GRAFANA_ADMIN_PASSWORD: Grafana has no default password"; exit 1; }
	docker compose up -d --build

stack-down:
	GRAFANA_ADMIN_PASSWORD=$${GRAFANA_ADMIN_PASSWORD:-unused-by-down} docker compose down

clean:
	rm -rf $(BIN)
