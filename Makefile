# kefu — customer-service backend for e-commerce shops.
# Every tool is pinned below and built from the Go module proxy into ./bin
# (git-ignored); nothing is downloaded as a prebuilt binary.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
MAKEFLAGS += --warn-undefined-variables --no-builtin-rules

BIN      := $(CURDIR)/bin
STAMPS   := $(BIN)/.stamps
DEPS     := $(CURDIR)/.protodeps
export PATH  := $(BIN):$(PATH)
export GOBIN := $(BIN)

# ---- pinned versions -------------------------------------------------------
BUF_VERSION                 := v1.75.0
PROTOC_GEN_GO_VERSION       := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION  := v1.6.2
GRPC_GATEWAY_VERSION        := v2.33.0
GRPC_GATEWAY_V1_VERSION     := v1.16.0
PROTOVALIDATE_PROTO_VERSION := v1.2.2
TEMPORAL_CLI_VERSION        := v1.5.1
NATS_SERVER_VERSION         := v2.15.3
PROMTOOL_VERSION            := v0.316.0
GNOSTIC_VERSION             := v0.7.1

# Every Go module of the workspace (a plain `go test ./...` fails at a go.work root).
MODULE_DIRS = $(shell go list -f '{{.Dir}}' -m)
MODULE_PKGS = $(addsuffix /...,$(MODULE_DIRS))

# Environment the tests and the dev stack share: where Postgres is (started
# or initialised when absent) and which Temporal CLI the harness starts.
ENSURE_PG := deploy/dev/ensure-postgres.sh
export KEFU_TEMPORAL_CLI := $(BIN)/temporal
export KEFU_NATS_SERVER  := $(BIN)/nats-server

##@ General
.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make \033[36m<target>\033[0m\n"} \
	  /^[a-zA-Z0-9_.-]+:.*?##/ { printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2 } \
	  /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Tools
# go install <pkg>@<version> into ./bin; a stamp per version re-installs on a bump.
define go-tool
$(STAMPS)/$(1)-$(3):
	@mkdir -p $(STAMPS)
	@echo ">> installing $(1) $(3)"
	go install $(2)@$(3)
	@rm -f $(STAMPS)/$(1)-*
	@touch $$@
TOOL_STAMPS += $(STAMPS)/$(1)-$(3)
endef

TOOL_STAMPS :=
$(eval $(call go-tool,buf,github.com/bufbuild/buf/cmd/buf,$(BUF_VERSION)))
$(eval $(call go-tool,protoc-gen-go,google.golang.org/protobuf/cmd/protoc-gen-go,$(PROTOC_GEN_GO_VERSION)))
$(eval $(call go-tool,protoc-gen-go-grpc,google.golang.org/grpc/cmd/protoc-gen-go-grpc,$(PROTOC_GEN_GO_GRPC_VERSION)))
$(eval $(call go-tool,protoc-gen-grpc-gateway,github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway,$(GRPC_GATEWAY_VERSION)))
$(eval $(call go-tool,protoc-gen-openapi,github.com/google/gnostic/cmd/protoc-gen-openapi,$(GNOSTIC_VERSION)))
$(eval $(call go-tool,temporal,github.com/temporalio/cli/cmd/temporal,$(TEMPORAL_CLI_VERSION)))
$(eval $(call go-tool,nats-server,github.com/nats-io/nats-server/v2,$(NATS_SERVER_VERSION)))
# Prometheus 3.x's Go module versions are v0.3xx (v0.316.0 = Prometheus 3.16).
$(eval $(call go-tool,promtool,github.com/prometheus/prometheus/cmd/promtool,$(PROMTOOL_VERSION)))

PROTO_TOOLS := $(filter-out $(STAMPS)/temporal-% $(STAMPS)/nats-server-% $(STAMPS)/promtool-%,$(TOOL_STAMPS))
NATS_SERVER := $(STAMPS)/nats-server-$(NATS_SERVER_VERSION)
TEMPORAL    := $(STAMPS)/temporal-$(TEMPORAL_CLI_VERSION)
PROMTOOL    := $(STAMPS)/promtool-$(PROMTOOL_VERSION)

.PHONY: tools
tools: $(TOOL_STAMPS) ## Build every pinned tool into ./bin (Temporal CLI takes ~6 min once, promtool ~5).

##@ Contracts
.PHONY: protodeps
protodeps: ## Copy dependency protos from their Go modules into .protodeps (git-ignored).
	@deploy/dev/protodeps.sh "$(DEPS)" "$(PROTOVALIDATE_PROTO_VERSION)" "$(GRPC_GATEWAY_V1_VERSION)" "$(GRPC_GATEWAY_VERSION)"

.PHONY: generate
generate: $(PROTO_TOOLS) protodeps ## Regenerate Go, gRPC, gateway code and OpenAPI from proto/.
	find proto/gen -type f \( -name '*.pb.go' -o -name '*.pb.gw.go' -o -name '*.openapi.json' \) -delete
	rm -rf .build/openapi
	buf generate
	cd proto/gen && GOWORK=off GOFLAGS=-mod=mod go mod tidy >/dev/null
	@# gnostic's OpenAPI 3 → the served contract (required, readOnly, errors, headers, examples)
	go run ./gateway/cmd/kefu-openapi -in .build/openapi/openapi.yaml -out proto/gen/openapi/kefu.openapi.json

# The typed TypeScript client (@kefu/client): generated from the committed
# contract by @hey-api/openapi-ts (pinned in clients/typescript, npm ci from
# its lockfile) into src/gen and dist (git-ignored); the e2e phase drives it.
.PHONY: client
client: ## Generate and build the TypeScript client (clients/typescript) from the OpenAPI contract; check openapi-typescript accepts it.
	@command -v npm >/dev/null || { echo ">> installing nodejs and npm"; $(call apt-install,nodejs npm); }
	cd clients/typescript && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build && npm run --silent check:openapi-typescript

##@ Pages
# Debian packages the pages need, installed only when absent (root or sudo).
define apt-install
sudo=""; [ "$$(id -u)" -ne 0 ] && sudo="sudo"; \
$$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(1)
endef

# `make web` output (committed): the dashboard script and the API browser (/docs).
WEB_OUT := gateway/internal/gateway/dashboard/kpi.js gateway/internal/gateway/docs

.PHONY: web
web: ## Build the pages into the gateway from the npm lockfiles (dashboard: Chart.js via esbuild; /docs: Swagger UI); commit the output.
	@command -v npm >/dev/null || { echo ">> installing nodejs and npm"; $(call apt-install,nodejs npm); }
	cd web/dashboard && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build
	cd web/docs && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build

.PHONY: browser
browser: ## Install Debian's Chromium for the page tests when absent.
	@command -v chromium >/dev/null || [ -n "$${KEFU_CHROMIUM:-}" ] || { echo ">> installing chromium (page tests)"; $(call apt-install,chromium); }

##@ Quality
.PHONY: lint
lint: generate web lint-rules lint-contract ## Regenerate code and pages (fail on a stale diff), buf lint, gofmt, go vet on every module, the alert rules, the OpenAPI contract.
	@if [ -n "$$(git status --porcelain -- proto/gen)" ]; then \
	  echo "generated code is stale: commit the output of 'make generate'"; \
	  git status --short -- proto/gen; git --no-pager diff --stat -- proto/gen; exit 1; fi
	@if [ -n "$$(git status --porcelain -- $(WEB_OUT))" ]; then \
	  echo "the page bundles are stale: commit the output of 'make web'"; git status --short -- $(WEB_OUT); exit 1; fi
	buf lint
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' ':!proto/gen/**') ); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	go vet $(MODULE_PKGS)
	@if command -v kubectl >/dev/null; then kubectl kustomize deploy/k8s/overlays/dev >/dev/null && echo "k8s manifests build"; \
	  else echo "kubectl not installed: k8s manifests not checked"; fi

# The alert rules live once, in the PrometheusRule manifest; promtool reads
# plain rule files, so its spec (everything under `spec:`, de-indented by
# two) is extracted into .build/ (git-ignored) beside a copy of the tests.
RULES      := deploy/k8s/base/monitoring/prometheusrule.yaml
RULES_TEST := deploy/k8s/base/monitoring/rules_test.yaml
RULES_OUT  := $(CURDIR)/.build/monitoring

.PHONY: lint-contract
lint-contract: ## Lint the OpenAPI contract with redocly (pinned in web/contract; 0 errors allowed).
	@command -v npm >/dev/null || { echo ">> installing nodejs and npm"; $(call apt-install,nodejs npm); }
	cd web/contract && npm ci --no-audit --no-fund --loglevel=error && npm run --silent lint

.PHONY: lint-rules
lint-rules: $(PROMTOOL) ## promtool check and unit-test the alert rules (deploy/k8s/base/monitoring).
	@rm -rf $(RULES_OUT) && mkdir -p $(RULES_OUT)
	awk '/^spec:/ { f = 1; next } f && /^[^[:space:]#]/ { exit } f { sub(/^  /, ""); print }' $(RULES) > $(RULES_OUT)/rules.yaml
	@grep -q '^groups:' $(RULES_OUT)/rules.yaml || { echo "no spec.groups in $(RULES)"; exit 1; }
	cp $(RULES_TEST) $(RULES_OUT)/rules_test.yaml
	promtool check rules --lint-fatal $(RULES_OUT)/rules.yaml || { \
	  echo "(line numbers are of the extracted file: add $$(awk '/^spec:/ { print NR; exit }' $(RULES)) for $(RULES))"; exit 1; }
	promtool test rules $(RULES_OUT)/rules_test.yaml

.PHONY: test
test: lint test-go chaos ## Lint, every module's tests (unit, workflow, integration vs real Postgres + Temporal, e2e), then the chaos run.

.PHONY: test-go
test-go: $(TEMPORAL) $(NATS_SERVER) browser client ## Every module's tests without the lint step.
	DATABASE_URL="$$($(ENSURE_PG))" go test -count=1 -race -timeout 30m $(MODULE_PKGS)

.PHONY: chaos
chaos: $(TEMPORAL) ## The chaos run (~4 min): real binaries under load while the worker, order and after-sale are killed, Postgres stops, Temporal dies; reconciles exactly.
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	  echo ">> installing Debian's postgresql (the chaos run starts a private cluster)"; \
	  sudo=""; [ "$$(id -u)" -ne 0 ] && sudo="sudo"; \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; fi
	KEFU_CHAOS=1 go test -count=1 -timeout 14m -v -run '^TestChaos$$' ./gateway/chaos/ | grep -vE '^\s*$$'

.PHONY: test-short
test-short: ## Unit tests only (no Postgres, no Temporal server).
	go test -count=1 -short $(MODULE_PKGS)

.PHONY: bench
bench: $(TEMPORAL) $(NATS_SERVER) ## Every benchmark, then each figure next to its target (ratios measured in one run; logs in .data/bench/).
	DATABASE_URL="$$($(ENSURE_PG))" deploy/dev/bench.sh

BENCHES := timers orders chat gateway lists writes insights events
.PHONY: $(addprefix bench-,$(BENCHES))
$(addprefix bench-,$(BENCHES)): bench-%: $(TEMPORAL) $(NATS_SERVER) ## One benchmark: bench-timers (10,000 open complaints, 2,000 clocks due in a minute), bench-orders, bench-chat, bench-gateway, bench-lists, bench-writes, bench-insights, bench-events.
	DATABASE_URL="$$($(ENSURE_PG))" deploy/dev/bench.sh $*

##@ Run
.PHONY: run
run: $(TEMPORAL) $(NATS_SERVER) ## Start Postgres (if needed), Temporal dev server, every built service, worker and gateway.
	deploy/dev/run.sh

.PHONY: seed
seed: ## Import the seed catalogue (30 products, FAQs, quick replies) into SEED_SHOP_ID (default shop_demo).
	DATABASE_URL="$$($(ENSURE_PG))" go run ./services/catalogue/cmd/catalogue seed

.PHONY: seed-demo
seed-demo: ## With `make run` up: a month of shop_demo — today through the REST API (chats, ratings, orders, a return, a complaint), the 29 days before projected into insights.
	JWT_HS256_SECRET="$${JWT_HS256_SECRET:-kefu-dev-only-secret-never-in-production}" \
	  go run ./gateway/cmd/kefu-demo -url "http://127.0.0.1:$${GATEWAY_PORT:-8080}" -shop "$${SEED_SHOP_ID:-shop_demo}"
	DATABASE_URL="$$($(ENSURE_PG))" NATS_URL="$${NATS_URL:-nats://127.0.0.1:4223}" SEED_SHOP_ID="$${SEED_SHOP_ID:-shop_demo}" \
	  SERVICE_TOKEN_KEY="$$(cat .data/service-token.key)" go run ./services/insights/cmd/insights demo-history

.PHONY: tidy
tidy: ## go mod tidy in every module.
	for d in $(MODULE_DIRS); do (cd $$d && go mod tidy); done

.PHONY: clean
clean: ## Remove build outputs and dev-stack state (keeps ./bin).
	rm -rf .data .protodeps .build
