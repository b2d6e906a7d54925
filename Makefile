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
# The published ones and their release version are in the file versions;
# README.md says why each of the others exists.
MODULES := . instrumented exporters persist dashboards loadgen examples bench deploy
VERSION ?=
# In the workspace (go.work) the pattern ./... at the root would take in every
# module below it: the core is vetted and tested on its own, outside it (it
# requires none of its siblings).
in_module = cd $(1) && if [ "$(1)" = . ]; then export GOWORK=off; fi && 
RELEASE = $(GO) -C deploy run ./release/cmd/release

BENCH       ?= .
BENCH_COUNT ?= 6
BENCH_TIME  ?= 500ms
BENCH_OUT   ?= bench/results.txt
BENCH_CPU   ?=

.PHONY: all demo test fmt-check versions-check vet staticcheck test-race fuzz-seeds bench tools bump tidy stack-up stack-down clean

all: test

test: fmt-check versions-check vet staticcheck test-race fuzz-seeds

$(STATICCHECK):
	GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

$(BENCHSTAT):
	GOBIN=$(BIN) $(GO) install golang.org/x/perf/cmd/benchstat@$(BENCHSTAT_VERSION)

tools: $(STATICCHECK) $(BENCHSTAT)

fmt-check:
	@out="$$(gofmt -l $$(git ls-files '*.go') 2>&1)"; \
	if [ -n "$$out" ]; then echo "gofmt: these files need formatting:"; echo "$$out"; exit 1; fi
	@echo "gofmt: ok"

# Every go.mod requires the published modules at the version in versions,
# holds no replace directive, and has the same go directive.
versions-check:
	$(RELEASE) check

# make bump VERSION=v0.2.0: the one place a release version is changed.
bump:
	@test -n "$(VERSION)" || { echo "usage: make bump VERSION=vX.Y.Z"; exit 2; }
	$(RELEASE) bump -version $(VERSION)

# go mod tidy of every module, resolving the siblings from a proxy built from
# the working tree (within the workspace go mod tidy cannot; see README.md).
tidy:
	$(RELEASE) tidy

vet:
	@for m in $(MODULES); do echo "go vet: $$m"; ($(call in_module,$$m)$(GO) vet ./...); done

staticcheck: $(STATICCHECK)
	@for m in $(MODULES); do echo "staticcheck: $$m"; ($(call in_module,$$m)$(STATICCHECK) ./...); done

# deploy/release's tests are the release rehearsal: every published module
# served from a file:// proxy built from the working tree, fetched by a fresh
# consumer module outside the repository. No module has code that differs
# outside race-detector builds, so -race alone tests what ships.
test-race:
	@for m in $(MODULES); do echo "go test -race: $$m"; ($(call in_module,$$m)$(GO) test -race -count=1 ./...); done


# The seed corpus of every fuzz target, on its own so that a failure names it.
fuzz-seeds:
	@for m in $(MODULES); do ($(call in_module,$$m)true && \
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
	@echo "building the load generator into .bin/loadgen (the first time this compiles OpenTelemetry: a few minutes)..."
	@$(GO) -C loadgen build -o $(BIN)/loadgen .
	$(BIN)/loadgen -demo $(DEMO_FLAGS)

# Rounds run one after another so that every implementation sees the same
# machine noise; benchstat puts them side by side (mapx is the base column),
# and pairs gives the median of the ratios taken within each round, of ns/op
# and, for the benchmarks that report them, of CPU time (cpu-ns/op) and
# thread CPU time (thread-ns/op).
bench: $(BENCHSTAT)
	@rm -f $(BENCH_OUT)
	@for i in $$(seq $(BENCH_COUNT)); do \
	  echo "bench round $$i of $(BENCH_COUNT)" >&2; \
	  (cd bench && $(GO) test -run '^$$' -bench '$(BENCH)' -benchtime $(BENCH_TIME) -count 1 $(if $(BENCH_CPU),-cpu $(BENCH_CPU)) .) >> $(BENCH_OUT); \
	done
	$(BENCHSTAT) -col /impl $(BENCH_OUT)
	$(GO) -C bench run ./cmd/pairs $(abspath $(BENCH_OUT))
	@for u in cpu-ns/op thread-ns/op; do \
	  if grep -q " $$u" $(BENCH_OUT); then $(GO) -C bench run ./cmd/pairs -unit $$u $(abspath $(BENCH_OUT)); fi; \
	done

# The Docker Compose stack (needs a Docker engine and GRAFANA_ADMIN_PASSWORD).
stack-up:
	@test -n "$${GRAFANA_ADMIN_PASSWORD:-}" || { echo "set GRAFANA_ADMIN_PASSWORD: Grafana has no default password"; exit 1; }
	docker compose up -d --build

stack-down:
	GRAFANA_ADMIN_PASSWORD=$${GRAFANA_ADMIN_PASSWORD:-unused-by-down} docker compose down

clean:
	rm -rf $(BIN)
