# imbridge: build, test and run locally. `make help` lists the targets.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
KAFKA   := deploy/kafka/kafka.sh
# Ports and folders (README, "Ports and folders"). `make test` shares nothing with
# `make dev` nor with another checkout's `make test`: by default (auto) its broker runs on
# ports picked free at the start (deploy/kafka/ports.sh, reserved until the run ends) in a
# private temporary folder (TEST_KAFKA_DIR, deleted at the end), and each test that needs
# a broker or the three-node cluster (deploy/kafka/cluster.sh, nodes on PORT..PORT+2,
# controllers on PORT+10..PORT+12) picks its own ports and folder. Set a number to pin one.
TEST_KAFKA_PORT ?= auto
TEST_KAFKA_DIR  ?=
TEST_KAFKA_CLUSTER_PORT ?= auto
# `make dev` and `make kafka-cluster-up` use fixed ports (controllers as above), so that
# the README's commands work as written; kafka.sh and cluster.sh refuse a port another
# process holds, and name it.
DEV_KAFKA_PORT  ?= 19092
DEV_KAFKA_CLUSTER_PORT  ?= 19500
KAFKA_CLUSTER := deploy/kafka/cluster.sh

.PHONY: help build test test-go test-long fuzz conformance staticcheck prometheus-tools tracing-tools rules-copies deploy-tools bench bench-micro tools dev kafka-up kafka-down kafka-cluster-up kafka-cluster-down

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: ## build bin/imbridge
	$(GO) build -trimpath -ldflags "-s -w -X main.version=$(VERSION)" -o bin/imbridge ./cmd/imbridge

tools: ## install what the tests need that Go does not bring: kcat (Debian package)
	@command -v kcat >/dev/null 2>&1 || { \
	  echo "installing kcat from Debian's packages"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq kcat >/dev/null; \
	}
	@command -v java >/dev/null 2>&1 || { echo "java (17 or newer) is needed for the local Kafka broker"; exit 1; }
	@command -v mvn >/dev/null 2>&1 || { echo "mvn (Maven) is needed to resolve the local Kafka broker"; exit 1; }
	@python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || { echo "python3 with venv (Debian: python3-venv) is needed for the schemathesis run"; exit 1; }
	@command -v curl >/dev/null 2>&1 || { echo "curl is needed by the README walk-through test"; exit 1; }

# kafka.sh run starts a fresh broker, runs test-go with IMBRIDGE_TEST_KAFKA_BROKERS set,
# then stops the broker and deletes its folder.
test: tools ## vet and test everything against a real broker (started here on free ports unless IMBRIDGE_TEST_KAFKA_BROKERS is set)
	@if [ -n "$$IMBRIDGE_TEST_KAFKA_BROKERS" ]; then \
	  $(MAKE) --no-print-directory test-go; \
	else \
	  KAFKA_LOCAL_PORT=$(TEST_KAFKA_PORT) KAFKA_LOCAL_DIR="$(TEST_KAFKA_DIR)" KAFKA_LOCAL_TOPICS= \
	    $(KAFKA) run $(MAKE) --no-print-directory test-go; \
	fi

test-go: staticcheck prometheus-tools tracing-tools deploy-tools
	$(GO) vet ./...
	$(STATICCHECK) ./...
	schema/conformance/run.sh 25
	IMBRIDGE_TEST_KAFKA_CLUSTER_PORT=$(TEST_KAFKA_CLUSTER_PORT) IMBRIDGE_KUSTOMIZE=$(KUSTOMIZE) IMBRIDGE_HELM=$(HELM) \
	  $(GO) test -race -count=1 -timeout 30m $(GOTESTFLAGS) ./...

conformance: ## schemathesis against the live callback endpoint (CONFORMANCE_EXAMPLES per phase, default 500)
	schema/conformance/run.sh $(or $(CONFORMANCE_EXAMPLES),500)

STATICCHECK_VERSION := v0.8.2
STATICCHECK := $(shell $(GO) env GOPATH)/bin/staticcheck
staticcheck:
	@$(STATICCHECK) -version 2>/dev/null | grep -q "($(STATICCHECK_VERSION))" || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

# promtool (TestAlertRules: promtool check rules and test rules) and promqlnames
# (TestDashboardMetrics: the metrics each PromQL expression reads), built into GOPATH/bin
# from deploy/prometheus/tools, whose go.mod pins the Prometheus module. promtool is
# rebuilt only when it comes from another version (the first build takes minutes);
# promqlnames, small, every time.
PROMETHEUS_TOOLS   := deploy/prometheus/tools
PROMETHEUS_VERSION := $(shell awk '{ for (i = 1; i < NF; i++) if ($$i == "github.com/prometheus/prometheus") print $$(i+1) }' $(PROMETHEUS_TOOLS)/go.mod)
PROMTOOL           := $(shell $(GO) env GOPATH)/bin/promtool
PROMQLNAMES        := $(shell $(GO) env GOPATH)/bin/promqlnames
prometheus-tools: ## build promtool and promqlnames at the pinned Prometheus version (the alert and dashboard tests use them)
	@$(GO) version -m $(PROMTOOL) 2>/dev/null | grep -Eq "github.com/prometheus/prometheus[[:space:]]+$(PROMETHEUS_VERSION)[[:space:]]" || { \
	  echo "building promtool from github.com/prometheus/prometheus $(PROMETHEUS_VERSION)"; \
	  cd $(PROMETHEUS_TOOLS) && $(GO) build -o $(PROMTOOL) github.com/prometheus/prometheus/cmd/promtool; }
	@cd $(PROMETHEUS_TOOLS) && $(GO) build -o $(PROMQLNAMES) ./promqlnames
RULES := deploy/prometheus/imbridge.rules.yaml
rules-copies: ## copy the alert rules into the chart and the kustomize monitoring component (after changing them)
	cp $(RULES) deploy/helm/imbridge/files/imbridge.rules.yaml
	{ sed -n '1,/^spec:$$/p' deploy/k8s/components/monitoring/prometheusrule.yaml; sed 's/^\(.\)/  \1/' $(RULES); } > deploy/k8s/components/monitoring/prometheusrule.yaml.new
	mv deploy/k8s/components/monitoring/prometheusrule.yaml.new deploy/k8s/components/monitoring/prometheusrule.yaml

# Jaeger (TestTracesReachJaeger: an OTLP receiver with a query API), built into
# GOPATH/bin from deploy/tracing/tools, whose go.mod pins the Jaeger module; rebuilt only
# when it comes from another version (the first build takes minutes).
TRACING_TOOLS  := deploy/tracing/tools
JAEGER_VERSION := $(shell awk '{ for (i = 1; i < NF; i++) if ($$i == "github.com/jaegertracing/jaeger") print $$(i+1) }' $(TRACING_TOOLS)/go.mod)
JAEGER         := $(shell $(GO) env GOPATH)/bin/jaeger
tracing-tools: ## build Jaeger at the pinned version (the tracing test sends it spans)
	@$(GO) version -m $(JAEGER) 2>/dev/null | grep -Eq "github.com/jaegertracing/jaeger[[:space:]]+$(JAEGER_VERSION)[[:space:]]" || { \
	  echo "building jaeger from github.com/jaegertracing/jaeger $(JAEGER_VERSION)"; \
	  cd $(TRACING_TOOLS) && $(GO) build -o $(JAEGER) github.com/jaegertracing/jaeger/cmd/jaeger; }

# The deployment's tests render deploy/k8s with kustomize and deploy/helm with helm
# (cmd/imbridge/deploy_render_test.go), at these versions, installed like staticcheck
# into GOPATH/bin (never the repository); go version -m tells the installed version.
KUSTOMIZE_VERSION := v5.8.2
HELM_VERSION := v4.3.2
TOOLS_BIN := $(firstword $(subst :, ,$(shell $(GO) env GOPATH)))/bin
KUSTOMIZE := $(TOOLS_BIN)/kustomize
HELM := $(TOOLS_BIN)/helm
deploy-tools: ## install the pinned kustomize and helm the deployment's tests use
	@$(GO) version -m $(KUSTOMIZE) 2>/dev/null | grep -qE "^[[:space:]]+mod[[:space:]]+sigs.k8s.io/kustomize/kustomize/v5[[:space:]]+$(KUSTOMIZE_VERSION)[[:space:]]" || \
	  GOBIN=$(TOOLS_BIN) $(GO) install sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION)
	@$(GO) version -m $(HELM) 2>/dev/null | grep -qE "^[[:space:]]+mod[[:space:]]+helm.sh/helm/v4[[:space:]]+$(HELM_VERSION)[[:space:]]" || \
	  GOBIN=$(TOOLS_BIN) $(GO) install helm.sh/helm/v4/cmd/helm@$(HELM_VERSION)

test-long: ## like test, with the long fault tests (25 kills under load; several minutes)
	$(MAKE) --no-print-directory test GOTESTFLAGS="-tags long -timeout 60m"

FUZZTIME ?= 1m
fuzz: ## run every fuzz target for FUZZTIME each (make fuzz FUZZTIME=10m); the seeds run in make test
	$(GO) test ./bridge -run '^$$' -fuzz '^FuzzQuery$$' -fuzztime $(FUZZTIME)
	$(GO) test ./bridge -run '^$$' -fuzz '^FuzzMap$$' -fuzztime $(FUZZTIME)
	$(GO) test ./bridge -run '^$$' -fuzz '^FuzzDecodeDifferential$$' -fuzztime $(FUZZTIME)
	$(GO) test ./bridge -run '^$$' -fuzz '^FuzzAppendJSON$$' -fuzztime $(FUZZTIME)
	$(GO) test ./bridge -run '^$$' -fuzz '^FuzzMemberArrives$$' -fuzztime $(FUZZTIME)
	$(GO) test ./bridge/httpapi -run '^$$' -fuzz '^FuzzHandler$$' -fuzztime $(FUZZTIME)

BENCH_KAFKA_PORT ?= 19292
KAFKA_VERSION := $(shell sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' deploy/kafka/pom.xml)
# The suite also builds the Watermill peer (cmd/imbridge-bench/watermill-peer, a module of
# its own) into bin/, and judges the allocations per callback that BenchmarkCallbackToSpool
# measures first (allocs/op, passed as --allocs-per-callback).
bench: build ## the benchmark table: ceiling, Watermill peer, spool and sync mode, mixed load, one-core capacity, against a local broker; adds it to BENCHMARKS.md
	$(GO) build -o bin/imbridge-bench ./cmd/imbridge-bench
	@allocs=$$($(GO) test ./bridge/httpapi -run '^$$' -bench '^BenchmarkCallbackToSpool$$' -benchmem | \
	  awk '$$1 ~ /^BenchmarkCallbackToSpool/ { for (i = 2; i <= NF; i++) if ($$i == "allocs/op") a = $$(i-1) } END { print a }'); \
	[ -n "$$allocs" ] || { echo "BenchmarkCallbackToSpool reported no allocs/op"; exit 1; }; \
	echo "BenchmarkCallbackToSpool: $$allocs allocs/op"; \
	export KAFKA_LOCAL_PORT=$(BENCH_KAFKA_PORT) KAFKA_LOCAL_TOPICS="imbridge.bench:6"; \
	trap '$(KAFKA) down' EXIT; \
	$(KAFKA) down && $(KAFKA) up && \
	bin/imbridge-bench suite --imbridge bin/imbridge --brokers 127.0.0.1:$(BENCH_KAFKA_PORT) --topic imbridge.bench \
	  --kafka-version $(KAFKA_VERSION) --write BENCHMARKS.md --allocs-per-callback "$$allocs" \
	  --broker-pid-file "$${KAFKA_LOCAL_DIR:-$${TMPDIR:-/tmp}/imbridge-kafka-$(BENCH_KAFKA_PORT)}/broker.pid" $(BENCHFLAGS)

bench-micro: ## hot-path micro benchmarks with allocations, COUNT times each for benchstat
	$(GO) test ./bridge/... -run '^$$' -bench . -benchmem -count $(or $(COUNT),6)

kafka-up: ## start the development broker on 127.0.0.1:19092 with imbridge's default topics (README's route table)
	KAFKA_LOCAL_PORT=$(DEV_KAFKA_PORT) $(KAFKA) up

kafka-down: ## stop the development broker and delete its data
	KAFKA_LOCAL_PORT=$(DEV_KAFKA_PORT) $(KAFKA) down

kafka-cluster-up: ## start a three-node development cluster on 127.0.0.1:19500-19502 with imbridge's topics (RF 3, min.insync.replicas=2)
	KAFKA_CLUSTER_PORT=$(DEV_KAFKA_CLUSTER_PORT) $(KAFKA_CLUSTER) up

kafka-cluster-down: ## stop the development cluster and delete its data
	KAFKA_CLUSTER_PORT=$(DEV_KAFKA_CLUSTER_PORT) $(KAFKA_CLUSTER) down

# Ctrl-C reaches every process of the terminal's group. The recipe's shell execs the
# binary, built first (`go run` exits 1 after Ctrl-C whatever the program did, and a
# shell left waiting dies of the signal): make then sees imbridge's own exit status, 0
# after a clean stop, and reports no error.
dev: kafka-up build ## run imbridge on 127.0.0.1 against the development broker (no Docker); Ctrl-C stops it
	IMBRIDGE_SDKAPPID=$${IMBRIDGE_SDKAPPID:-1400000000} \
	IMBRIDGE_CALLBACK_TOKEN=$${IMBRIDGE_CALLBACK_TOKEN:-dev-token} IMBRIDGE_DEV_MODE=true \
	IMBRIDGE_LISTEN=$${IMBRIDGE_LISTEN:-127.0.0.1:8080} IMBRIDGE_ADMIN_LISTEN=$${IMBRIDGE_ADMIN_LISTEN:-127.0.0.1:9090} \
	IMBRIDGE_KAFKA_BROKERS=127.0.0.1:$(DEV_KAFKA_PORT) \
	IMBRIDGE_LOG_FORMAT=$${IMBRIDGE_LOG_FORMAT:-console} \
	exec bin/imbridge serve
