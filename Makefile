# gameday: thin targets; the logic lives in Go. `make test` is what CI runs.
GO        ?= go
BIN       := bin/gameday
FUZZTIME  ?= 5m
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# The embedded control plane reports the Kubernetes version it is built from.
K8S_VERSION := v1.37.2
LDFLAGS   := -X k8s.io/component-base/version.gitVersion=$(K8S_VERSION) \
             -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37

.PHONY: build test run demo bench lint fuzz clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/gameday

test: build
	$(GO) vet ./...
	$(GO) test ./...

run: build
	@echo "make run: the game runner (gameday run) is not yet available; it is being built (see the README's status)." >&2
	@echo "Showing the incident you will play instead:" >&2
	$(BIN) describe ecr-imagepullbackoff

demo: build
	@echo "make demo: autopilot (gameday run --autopilot) is not yet available; showing the full scenario with spoilers." >&2
	$(BIN) describe ecr-imagepullbackoff --spoilers

bench:
	$(GO) test -run '^$$' -bench . -benchtime 3x ./...

lint:
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

fuzz:
	$(GO) test ./scenarios -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME)

clean:
	rm -rf bin
