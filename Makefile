# gameday: thin targets; the logic lives in Go. `make test` is what CI runs.
GO        ?= go
BIN       := bin/gameday
FUZZTIME  ?= 5m
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: build test run demo bench lint fuzz clean

build:
	$(GO) build -o $(BIN) ./cmd/gameday

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
	$(GO) test -run '^$$' -bench . -benchmem ./...

lint:
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

fuzz:
	$(GO) test ./scenarios -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME)

clean:
	rm -rf bin
