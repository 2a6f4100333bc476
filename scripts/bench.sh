#!/usr/bin/env bash
# Runs every benchmark of the receiver and prints one Markdown table on stdout
# (progress goes to stderr): the user-space Go benchmarks, the kernel cost of
# the BPF programs (bench/kernelcost) and the whole collector under load
# (bench/loadgen). A copy of the table goes to build/bench/results.md.
#
# Needs root: the last two load BPF programs. Takes about six minutes.
#   BENCH_QUICK=1        fewer repetitions and 5 s a rate: about two minutes
#   BENCH_PREADS, BENCH_REPS      kernelcost's loop length and repetitions
#   BENCH_RATES, BENCH_DURATION   loadgen's rates (comma-separated) and time a rate
#   BENCH_MODE           the receiver's attach setting (default auto)
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
	echo "bench: the kernel and end-to-end benchmarks load BPF programs and must run as root (try: sudo make bench)" >&2
	exit 1
fi

cd "$(dirname "$0")/.."
GO="${GO:-go}"
MAKE="${MAKE:-make}"
OTELCOL="${OTELCOL:-$PWD/build/otelcol-fileaccess/otelcol-fileaccess}"
OUT_DIR="$PWD/build/bench"
mkdir -p "$OUT_DIR"

if [ "${BENCH_QUICK:-0}" = 1 ]; then
	preads="${BENCH_PREADS:-500000}" reps="${BENCH_REPS:-3}"
	duration="${BENCH_DURATION:-5s}" benchtime=200ms
else
	preads="${BENCH_PREADS:-1000000}" reps="${BENCH_REPS:-7}"
	duration="${BENCH_DURATION:-30s}" benchtime=1s
fi
rates="${BENCH_RATES:-25000,50000,100000,200000,300000,400000}"
mode="${BENCH_MODE:-auto}"

echo "bench: building the collector and the benchmark programs" >&2
"$MAKE" --no-print-directory build >&2
"$GO" build -o "$OUT_DIR/kernelcost" ./bench/kernelcost
"$GO" build -o "$OUT_DIR/loadgen" ./bench/loadgen

# go test's benchmark lines, as rows of a table under the package they belong to.
go_benchmarks() {
	echo "### User space: Go benchmarks (-benchtime $benchtime)"
	echo
	echo "| package | benchmark | ns/op | B/op | allocs/op |"
	echo "|---|---|---|---|---|"
	"$GO" test -run '^$' -bench . -benchmem -benchtime "$benchtime" ./... |
		tee "$OUT_DIR/go-bench.txt" |
		awk '
			/^pkg: / { pkg = $2; sub(/^github.com\/fileaccess-otel\/fileaccessreceiver\/?/, "./", pkg) }
			/^Benchmark/ {
				ns = bop = allocs = ""
				for (i = 3; i < NF; i++) {
					if ($(i + 1) == "ns/op") ns = $i
					if ($(i + 1) == "B/op") bop = $i
					if ($(i + 1) == "allocs/op") allocs = $i
				}
				printf "| %s | %s | %s | %s | %s |\n", pkg, $1, ns, bop, allocs
				name = $1; sub(/-[0-9]+$/, "", name)
				if (name == "BenchmarkAppendRecord") { conv_ns = ns; conv_allocs = allocs }
				if (name == "BenchmarkPdataFloor") { floor_ns = ns; floor_allocs = allocs }
			}
			END {
				if (conv_ns == "" || floor_ns == "") exit
				print ""
				printf "Conversion of one access (AppendRecord): %.0f records/s on one core (target 1000000), %s allocations (target 2). ", 1e9 / conv_ns, conv_allocs
				printf "pdata alone, building the same record from ready values (PdataFloor): %.0f records/s, %s allocations; AppendRecord takes %.2f times its time.\n", 1e9 / floor_ns, floor_allocs, conv_ns / floor_ns
			}'
	echo
}

{
	echo "## Benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo
	echo "Kernel $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) CPUs; load average at start $(cut -d' ' -f1-3 /proc/loadavg)."
	echo
	echo "bench: Go benchmarks" >&2
	go_benchmarks
	echo "bench: kernel cost, $reps repetitions of $preads preads" >&2
	"$OUT_DIR/kernelcost" -n "$preads" -reps "$reps" -mode "$mode"
	echo "bench: end to end, $duration a rate" >&2
	"$OUT_DIR/loadgen" -collector "$OTELCOL" -rates "$rates" -duration "$duration" -mode "$mode"
	echo "Load average at the end $(cut -d' ' -f1-3 /proc/loadavg)."
} | tee "$OUT_DIR/results.md"
