# meshintent: the two commands are `make demo` and `make test` (see README.md).
SHELL := /usr/bin/env bash
GO    ?= go
BIN   ?= $(CURDIR)/bin
PKG     := github.com/meshintent/meshintent
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/meshintent

.PHONY: all help build demo test vet lint bench tools generate

all: build

## help: this list of targets
help:
	@sed -n 's/^## //p' $(MAKEFILE_LIST)

## build: the reconciler binary into ./bin (git-ignored), static like the image's
build:
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/reconciler \
	  -ldflags="-s -w -X $(PKG)/internal/cli.buildVersion=$(VERSION) -X $(PKG)/internal/cli.buildCommit=$(COMMIT)" ./cmd/reconciler

## tools: kube-apiserver (built from Go modules) and etcd into the cache outside the repo
tools:
	@test/tools/install.sh >/dev/null

## demo: start a local control plane and sync examples/repo into it
## (the built binary runs it, not `go run`: Ctrl-C ends it with exit 0)
demo: tools
	@$(GO) build -o "$(CACHE)/bin/demo" ./test/demo
	@KUBEBUILDER_ASSETS="$$(test/tools/install.sh)" exec "$(CACHE)/bin/demo" --repo-dir examples/repo --path overlays/prod

## test: the whole suite, with every set-up step it needs (lint first)
test: lint
	@assets="$$(test/tools/install.sh)" && \
	  KUBEBUILDER_ASSETS="$$assets" $(GO) test -count=1 -timeout 40m ./...
	@$(MAKE) --no-print-directory fuzz

## fuzz: each fuzz target for FUZZTIME (new failing inputs land in the
## package's testdata/fuzz, the committed corpus)
FUZZTIME ?= 10s
FUZZ_TARGETS := pkg/intent:FuzzDecode pkg/render:FuzzRender pkg/render:FuzzScan pkg/render:FuzzFastPathMatchesKustomize pkg/yamlguard:FuzzParse
.PHONY: fuzz
fuzz:
	@for t in $(FUZZ_TARGETS); do \
	  echo "fuzz $${t#*:} ($(FUZZTIME))"; \
	  $(GO) test ./$${t%%:*}/ -run '^$$' -fuzz "^$${t#*:}\$$" -fuzztime $(FUZZTIME) || exit 1; \
	done

## lint: go vet, gofmt, staticcheck and golangci-lint (.golangci.yml), the
## linters pinned in test/tools/lint and built once into the cache
lint:
	@test/tools/lint.sh

## vet: go vet and gofmt only
vet:
	$(GO) vet ./...
	@unformatted="$$(gofmt -l $$(git ls-files '*.go'))"; \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi

## bench: render + policy gate and no-op apply benchmarks (figures in README.md)
bench: tools
	$(GO) test -run '^$$' -bench . -benchmem ./pkg/pipeline/ ./pkg/render/ ./pkg/validate/
	@KUBEBUILDER_ASSETS="$$(test/tools/install.sh)" $(GO) test -run '^$$' -bench . -benchmem -benchtime 10x ./pkg/apply/

## generate: deepcopy code, the IntentSync CRD and the controller's RBAC
## (config/rbac/role.yaml) from the kubebuilder markers, and the CLI schema's
## descriptions (go generate ./internal/cli)
generate:
	hack/generate.sh

## bench-compare: process start; meshintent validate vs kubectl kustomize | conftest on
## the flat, overlay and overlay2 shapes at 100, 1,000 and 5,000 services (medians,
## peak RSS, ratios, slopes); kubectl apply; then on a local control plane the
## controller's latency, P2 (a one-line commit to 1,000 services → applied) and RSS
## (test/bench; prints a Markdown table; about an hour on two shared cores, most of it
## in conftest). A quick run: make bench-compare BENCH_FLAGS='-parts start,offline
## -sizes 100,1000,5000 -shapes flat,overlay,overlay2 -runs 3 -peer-max 1000'
## (-peer-max: conftest only up to 1,000 services; meshintent at every size)
.PHONY: bench-compare
bench-compare: tools
	@KUBEBUILDER_ASSETS="$$(test/tools/install.sh)" $(GO) run ./test/bench $(BENCH_FLAGS)
