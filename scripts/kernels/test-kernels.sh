#!/usr/bin/env bash
# Runs the end-to-end suite in every attach mode on every kernel it can: the
# host's own kernel in tracepoint and auto mode, and Debian's 6.1 and 6.12
# cloud kernels under qemu in fentry, kprobe, tracepoint and auto mode. Prints
# one summary line per kernel and mode, then checks (in CI) or rewrites
# (elsewhere) the README's coverage table from the results.
#
# Exits non-zero if any run failed, timed out or did not run its suite.
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
logs="$repo/build/kernels/logs"
kernels=(6.1 6.12)
vm_modes=(fentry kprobe tracepoint auto)
host_modes=(tracepoint auto)

summaries=()
failed=0

log() {
	echo "test-kernels: $*" >&2
}

# Runs the suite on the host kernel in one mode, with the same summary line
# format as the VM runs.
run_host() {
	local mode="$1" console="$logs/host-$1.log" rc=0
	log "host kernel $(uname -r), mode $mode"
	(cd "$repo" && FILE_ACCESS_TEST_ATTACH="$mode" go test -count=1 -v . >"$console" 2>&1) || rc=$?
	local passed failed_tests skipped
	passed="$(grep -c -- '--- PASS' "$console" || true)"
	failed_tests="$(grep -c -- '--- FAIL' "$console" || true)"
	skipped="$(grep -c -- '--- SKIP' "$console" || true)"
	summaries+=("host $(uname -r), mode $mode: $passed passed, $failed_tests failed, $skipped skipped")
	if [ "$rc" -ne 0 ]; then
		grep -- '--- FAIL' "$console" >&2 || tail -n 20 "$console" >&2
		return 1
	fi
}

mkdir -p "$logs"
rm -f "$logs"/*.log

for mode in "${host_modes[@]}"; do
	run_host "$mode" || failed=1
done

for kernel in "${kernels[@]}"; do
	for mode in "${vm_modes[@]}"; do
		summary_file="$(mktemp)"
		if bash "$repo/scripts/kernels/run-vm-tests.sh" "$kernel" "$mode" >/dev/null 2>"$summary_file"; then
			:
		else
			failed=1
			grep -E 'error|FAIL|crashed|timed out|stopped before' "$summary_file" >&2 || tail -n 20 "$summary_file" >&2
		fi
		line="$(grep -E "^run-vm-tests: kernel $kernel, mode $mode: [0-9]+ passed" "$summary_file" | sed 's/^run-vm-tests: //' || true)"
		summaries+=("${line:-kernel $kernel, mode $mode: did not run its suite}")
		rm -f "$summary_file"
	done
done

echo "test-kernels: summary"
for line in "${summaries[@]}"; do
	echo "  $line"
done

if [ "$failed" -ne 0 ]; then
	log "some runs failed; consoles in $logs"
	exit 1
fi

if [ -n "${CI:-}" ]; then
	bash "$repo/scripts/kernels/coverage-table.sh" --check
else
	bash "$repo/scripts/kernels/coverage-table.sh" --write
fi
