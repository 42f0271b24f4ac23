# extcloud-failover: `make help` lists the targets.
SHELL := /bin/bash
GO ?= go
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
LDFLAGS := -s -w
DYNALITE := tools/dynalite/node_modules/.bin/dynalite
ASL_VALIDATOR := tools/asl-validator/node_modules/.bin/asl-validator
# The Lambda Runtime Interface Emulator, built from its Go module (no Docker).
RIE_MODULE := github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie
RIE_VERSION := v0.0.0-20261030222936-bef5c4ba774d
RIE := tools/rie/bin/aws-lambda-rie
EVENT ?= events/stepfunctions.json
INVOKE_ENV ?= events/local.env
FUZZTIME ?= 30s

.DEFAULT_GOAL := help
.PHONY: help build build-CheckerFunction tools invoke test test-only lint vet demo bench fuzz soak clean

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-24s %s\n", $$1, $$2}'

build: ## build bin/extcloud-failover (host) and bin/bootstrap (Lambda, linux)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags='$(LDFLAGS)' -o bin/extcloud-failover ./cmd/cron
	CGO_ENABLED=0 GOOS=linux $(GO) build -trimpath -tags lambda.norpc -ldflags='$(LDFLAGS)' -o bin/bootstrap ./cmd/lambda

build-CheckerFunction: ## SAM's makefile build: bootstrap for arm64 into $(ARTIFACTS_DIR)
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -trimpath -tags lambda.norpc -ldflags='$(LDFLAGS)' -o $(ARTIFACTS_DIR)/bootstrap ./cmd/lambda

tools: ## install what the tests need when missing: supervisor (apt-get), dynalite and asl-validator (npm, pinned), aws-lambda-rie (go, pinned)
	@command -v supervisord >/dev/null || { echo "installing supervisor with apt-get"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get install -y supervisor >/dev/null 2>&1 || { $$SUDO apt-get update >/dev/null && $$SUDO apt-get install -y supervisor >/dev/null; }; }
	@command -v supervisord >/dev/null || { echo "supervisord still missing after apt-get install supervisor" >&2; exit 1; }
	@test -x $(DYNALITE) || { echo "installing dynalite with npm into tools/dynalite"; npm ci --prefix tools/dynalite --no-audit --no-fund --loglevel=error; }
	@test -x $(ASL_VALIDATOR) || { echo "installing asl-validator with npm into tools/asl-validator"; npm ci --prefix tools/asl-validator --no-audit --no-fund --loglevel=error; }
	@$(GO) version -m $(RIE) 2>/dev/null | grep -qF "$(RIE_VERSION)" || { echo "building aws-lambda-rie $(RIE_VERSION) into tools/rie/bin"; \
		GOBIN=$(CURDIR)/tools/rie/bin CGO_ENABLED=0 $(GO) install $(RIE_MODULE)@$(RIE_VERSION); }

invoke: tools build ## one invocation of bin/bootstrap under the Lambda emulator, with dynalite: make invoke EVENT=events/x.json
	$(GO) run ./tools/invoke -bootstrap bin/bootstrap -event $(EVENT) -env $(INVOKE_ENV)

vet: ## go vet and gofmt
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed on:"; gofmt -l .; exit 1; }
	$(GO) vet ./...
	$(GO) vet -tags lambda.norpc ./cmd/lambda
	$(GO) vet -tags soak ./internal/soak

lint: vet ## gofmt, go vet and staticcheck
	$(GO) run $(STATICCHECK) ./...

test: tools lint test-only ## install test tools, lint, and run every test with the race detector

test-only: ## run every test with the race detector (tools already installed)
	$(GO) test -race -count=1 -timeout 8m ./...

demo: build ## run the checker against three simulated regions and a real supervisord
	$(GO) run ./tools/demo -bin bin/extcloud-failover

bench: tools ## measure against baselines and write docs/BENCHMARKS.md
	@test -x /usr/bin/time || { echo "installing GNU time with apt-get (peak RSS)"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get install -y time >/dev/null 2>&1 || { $$SUDO apt-get update >/dev/null && $$SUDO apt-get install -y time >/dev/null; }; }
	$(GO) run ./tools/bench -out docs/BENCHMARKS.md

fuzz: ## run each fuzz target for FUZZTIME (default 30s)
	@set -e; \
	for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list 'Fuzz.*' $$pkg | grep '^Fuzz' || true); do \
			echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s $$pkg; \
		done; \
	done

soak: tools ## 2,000 invocations with random faults, kills and overlaps; writes docs/RELIABILITY.md figures
	$(GO) test -count=1 -timeout 30m -tags soak -run TestSoak -v ./internal/soak

clean: ## remove build outputs
	rm -rf bin
