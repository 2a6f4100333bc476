# Building, testing and running the collector with the file_access receiver.
# `make tools` installs what a fresh machine lacks; every other target that
# needs those tools installs them first.

GO ?= go

BIN_DIR := $(CURDIR)/build/bin
OCB := $(BIN_DIR)/builder
OTELCOL := $(CURDIR)/build/otelcol-fileaccess/otelcol-fileaccess
CONFIG ?= config/default.yaml

# Go files of this module, without the builder's generated sources in build/.
GO_FILES = $(shell find . -name '*.go' -not -path './build/*' -not -path './.git/*')

.PHONY: tools generate check-generate build run test test-kernels bench lint vet clean

tools:
	GO="$(GO)" bash scripts/install-tools.sh

# Rebuilds the committed BPF objects and their Go bindings with the pinned clang.
generate: tools
	$(GO) generate ./internal/probe/

# Fails when the committed BPF objects differ from what the sources give.
check-generate: generate
	@changes="$$(git status --porcelain internal/probe)"; \
	if [ -n "$$changes" ]; then \
		echo "check-generate: internal/probe differs from a fresh 'make generate':"; \
		echo "$$changes"; \
		echo "check-generate: run 'make generate' and commit the result"; \
		exit 1; \
	fi; \
	echo "check-generate: internal/probe is up to date"

build: tools
	$(OCB) --config=builder-config.yaml
	@echo "build: $(OTELCOL)"

# Loading BPF programs needs root; sudo is left to the caller.
run:
	@if [ "$$(id -u)" -ne 0 ]; then \
		echo "run: the collector loads BPF programs and must run as root (try: sudo make run)"; \
		exit 1; \
	fi
	$(MAKE) build
	$(OTELCOL) --config $(CONFIG)

# The end-to-end tests in e2e/ run the binary that build makes; they and the
# probe tests skip without root. A short fuzz run of each record decoder
# follows; go test -fuzz takes one target a run.
test: build
	OTELCOL_FILEACCESS="$(OTELCOL)" $(GO) test -count=1 ./...
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime 10s ./internal/record/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeProcess$$' -fuzztime 10s ./internal/record/

# The end-to-end suite on the host kernel and, under qemu, on Debian's 6.1 and
# 6.12 kernels, in every attach mode; needs root.
test-kernels:
	bash scripts/kernels/test-kernels.sh

# The Go benchmarks, the kernel cost of the programs and the whole collector
# under load, as one table; needs root. BENCH_QUICK=1 shortens it, see
# scripts/bench.sh.
bench:
	@GO="$(GO)" MAKE="$(MAKE)" OTELCOL="$(OTELCOL)" bash scripts/bench.sh

lint: vet

vet:
	@unformatted="$$(gofmt -l $(GO_FILES))"; \
	if [ -n "$$unformatted" ]; then \
		echo "vet: these files need gofmt:"; \
		echo "$$unformatted"; \
		exit 1; \
	fi
	$(GO) vet ./...

clean:
	rm -rf build
