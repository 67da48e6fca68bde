# gameday: thin targets; the logic lives in Go. `make test` is what CI runs.
GO        ?= go
BIN       := bin/gameday
FUZZTIME  ?= 5m
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# The embedded control plane reports the Kubernetes version it is built from.
K8S_VERSION := v1.37.2
LDFLAGS   := -X k8s.io/component-base/version.gitVersion=$(K8S_VERSION) \
             -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37

.PHONY: build test test-kind run demo bench lint fuzz golden clean

# Packages whose tests compare output with golden files (internal/golden).
GOLDEN_PKGS := ./internal/cli ./internal/report ./internal/schemadoc ./infra/kind

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/gameday

# Packages light enough to run under the race detector in CI. The
# Kubernetes control plane (infra/embedded and what links it) is not:
# instrumenting it costs a second full compile; its tests run without -race.
RACE_PKGS := ./scenarios/... ./verify/... ./internal/iampolicy/... ./internal/rundir/... \
             ./internal/report/... ./internal/leakcheck/... ./internal/procgroup/... ./infra/ecr/... \
             ./internal/config/... ./infra/dockerhost/...

test: build
	$(GO) vet ./...
	$(GO) test ./...
	$(GO) test -race -short $(RACE_PKGS)
	GAMEDAY_HOME=$$(mktemp -d -t gameday-selftest-XXXXXX) && $(BIN) test && rm -rf "$$GAMEDAY_HOME"

# The kind backend's end-to-end tests, verbosely. They need a Docker
# engine and say why they skip without one (`make test` runs them too).
test-kind: build
	$(GO) test -count=1 -v ./infra/kind/
	$(GO) test -count=1 -v -run 'Kind' ./internal/cli/

SCENARIO  ?= ecr-imagepullbackoff

run: build
	$(BIN) run $(SCENARIO)

demo: build
	$(BIN) run $(SCENARIO) --autopilot

bench:
	$(GO) test -run '^$$' -bench . -benchtime 3x ./...

lint:
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

fuzz:
	$(GO) test ./scenarios -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME)

golden:
	$(GO) test -short $(GOLDEN_PKGS) -update

clean:
	rm -rf bin
