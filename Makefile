# gameday: thin targets; the logic lives in Go. `make test` is what CI runs.
GO        ?= go
BIN       := bin/gameday
FUZZTIME  ?= 5m
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# The embedded control plane reports the Kubernetes version it is built from.
K8S_VERSION := v1.37.2
LDFLAGS   := -X k8s.io/component-base/version.gitVersion=$(K8S_VERSION) \
             -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37

.PHONY: build check test test-kind kind-images run demo bench lint fuzz golden clean

# Recipes use bash (local, $$SECONDS).
SHELL := /bin/bash

# Test budget. The whole suite takes about 19 minutes on a 2-core machine
# once the control plane is compiled (a cold build: 8 to 14 minutes);
# TEST_TIMEOUT is go test's per-package limit, sized to the slowest
# package (internal/app/cli, the end-to-end games) with room for a loaded
# machine. E2E_PARALLEL is how many end-to-end games play at once.
TEST_TIMEOUT  ?= 25m
CHECK_TIMEOUT ?= 5m
E2E_PARALLEL  ?= 4
# Where each test stage records its go test -json events; the summary
# (slowest tests, package wall times) is read from there. Browser tests
# save their screenshots in $(TEST_OUT)/artifacts.
TEST_OUT      := out/test
TESTTIMES     := $(GO) run ./internal/tools/testtimes

# Packages whose tests compare output with golden files (internal/testkit/golden),
# the README's scenario reference and scenarios/schema.json included.
GOLDEN_PKGS := ./scenarios ./internal/app/cli ./internal/domain/report ./internal/domain/schemadoc ./infra/kind

# bin/gameday-app is the app binary the scenario's images run on kind
# (static: the images' base has no libc to speak of).
build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/gameday
	CGO_ENABLED=0 $(GO) build -o bin/gameday-app ./cmd/gameday-app

# Packages light enough to run under the race detector in CI. The
# Kubernetes control plane (infra/embedded and what links it) is not:
# instrumenting it costs a second full compile; its tests run without -race.
RACE_PKGS := ./scenarios/... ./verify/... ./session/... ./internal/domain/iampolicy/... ./internal/ground/rundir/... \
             ./internal/domain/report/... ./internal/testkit/leakcheck/... ./internal/ground/procgroup/... ./infra/ecr/... \
             ./internal/app/config/... ./infra/dockerhost/...

# The fast tier, for the edit-test loop: gofmt, vet, unit and golden tests.
check:
	@out=$$(gofmt -l .); [ -z "$$out" ] || { echo "gofmt needed:"; echo "$$out"; exit 1; }
	$(GO) vet ./...
	$(GO) test -short -timeout $(CHECK_TIMEOUT) ./...

# The full suite, the one CI runs. Every stage runs even when one fails;
# then the summary, and the exit status of the first failure. -count=1:
# the end-to-end tests drive a gameday binary and moto, kubectl and aws,
# which go test's cache does not see, so a cached pass could hide a
# failure.
test: build
	@rm -rf $(TEST_OUT); mkdir -p $(TEST_OUT); fail=0; start=$$SECONDS; \
	stage() { local t0=$$SECONDS; echo "== $$1"; shift; "$$@" || { c=$$?; [ $$fail -ne 0 ] || fail=$$c; }; echo "== took $$((SECONDS-t0))s"; }; \
	stage "gofmt" bash -c 'out=$$(gofmt -l .); [ -z "$$out" ] || { echo "gofmt needed:"; echo "$$out"; exit 1; }'; \
	stage "vet" $(GO) vet ./...; \
	stage "tests" env GAMEDAY_TEST_ARTIFACTS=$(abspath $(TEST_OUT))/artifacts $(TESTTIMES) -o $(TEST_OUT)/tests.jsonl -- $(GO) test -json -count=1 -timeout $(TEST_TIMEOUT) -parallel $(E2E_PARALLEL) ./...; \
	stage "race" $(TESTTIMES) -o $(TEST_OUT)/race.jsonl -- $(GO) test -json -count=1 -race -short -timeout $(CHECK_TIMEOUT) $(RACE_PKGS); \
	home=$$(mktemp -d -t gameday-selftest-XXXXXX); \
	stage "gameday test (the library)" env GAMEDAY_HOME="$$home" $(BIN) test --parallel 2; rm -rf "$$home"; \
	echo "== make test: $$((SECONDS-start))s, exit $$fail"; \
	$(TESTTIMES) -report $(TEST_OUT)/tests.jsonl $(TEST_OUT)/race.jsonl; exit $$fail

# The kind backend's end-to-end tests, verbosely. They need a Docker
# engine and say why they skip without one (`make test` runs them too).
test-kind: build
	$(GO) test -count=1 -v -timeout $(TEST_TIMEOUT) ./infra/kind/
	$(GO) test -count=1 -v -timeout $(TEST_TIMEOUT) -run 'Kind' ./internal/app/cli/

# The images a kind run needs that no registry has, built offline from
# Debian packages and Go modules into the local Docker engine (kept when
# their inputs did not change): the base of the scenario's images, and
# kind's base and node images. The node image's binaries are built here
# from infra/images/nodeimage/go.mod, static, at the embedded control
# plane's Kubernetes version; kind's base files come from the kind
# module. Needs root (debootstrap) and the docker CLI.
NODE_BITS    := out/kind-node-bits
NODE_CMDS    := kubelet kubeadm kubectl kube-apiserver kube-controller-manager kube-scheduler
NODE_LDFLAGS := -s -w $(LDFLAGS) -X k8s.io/component-base/version.gitTreeState=clean \
                -X k8s.io/client-go/pkg/version.gitVersion=$(K8S_VERSION) \
                -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=37
kind-images: build
	@mkdir -p $(NODE_BITS); t0=$$SECONDS; echo "== building the node binaries (Kubernetes $(K8S_VERSION), etcd, pause) into $(NODE_BITS)"; \
	cd infra/images/nodeimage && CGO_ENABLED=0 $(GO) build -ldflags "$(NODE_LDFLAGS)" -o $(abspath $(NODE_BITS))/ $(addprefix k8s.io/kubernetes/cmd/,$(NODE_CMDS)) && \
	CGO_ENABLED=0 $(GO) build -ldflags "-s -w" -o $(abspath $(NODE_BITS))/etcd go.etcd.io/etcd/server/v3 && cd $(CURDIR) && \
	CGO_ENABLED=0 $(GO) build -ldflags "-s -w" -o $(NODE_BITS)/gameday-pause ./cmd/gameday-pause && \
	echo "== node binaries: $$((SECONDS-t0))s"
	$(GO) mod download sigs.k8s.io/kind
	$(BIN) images --moto --node-bits $(NODE_BITS) --kind-files "$$($(GO) list -m -f '{{.Dir}}' sigs.k8s.io/kind)/images/base/files"

SCENARIO  ?= ecr-imagepullbackoff

run: build
	$(BIN) run $(SCENARIO)

demo: build
	$(BIN) run $(SCENARIO) --autopilot

# The library's table (handover and solution per scenario, and `gameday
# test` of the whole library) plays each game once; the rest three times.
bench:
	$(GO) test -run '^$$' -bench . -skip 'Library' -benchtime 3x -timeout 30m ./...
	$(GO) test -run '^$$' -bench 'Library' -benchtime 1x -timeout 60m ./internal/app/cli/

lint:
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

fuzz:
	$(GO) test ./scenarios -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME) -timeout 0

golden:
	$(GO) test -short -timeout $(CHECK_TIMEOUT) $(GOLDEN_PKGS) -update

clean:
	rm -rf bin out
