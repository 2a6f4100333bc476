#!/usr/bin/env bash
# Builds the README's coverage table from the COVERAGE lines that TestCoverage
# logs, in the consoles that test-kernels.sh keeps under build/kernels/logs/.
#
# Usage: scripts/kernels/coverage-table.sh          prints the table
#        scripts/kernels/coverage-table.sh --write  replaces it in README.md
#        scripts/kernels/coverage-table.sh --check  fails if README.md differs
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
logs="$repo/build/kernels/logs"
readme="$repo/README.md"
begin='<!-- coverage-table:begin (scripts/kernels/coverage-table.sh writes this) -->'
end='<!-- coverage-table:end -->'

# Each line out: mode, the kernel's release, the way, seen|not-seen. The VM
# consoles name their kernel in the start marker; the host is named by uname -r.
results() {
	local log kernel
	for log in "$logs"/*.log; do
		case "$(basename "$log")" in
		# Major and minor only: a rebuilt host kernel must not change the table.
		host-*) kernel="host $(uname -r | cut -d. -f1,2)" ;;
		*) kernel="$(tr -d '\r' <"$log" | grep -a -m1 -o 'vm-tests start: kernel [^,]*' | sed 's/.*kernel //' || true)" ;;
		esac
		tr -d '\r' <"$log" | grep -a 'COVERAGE mode=' |
			sed -E 's/.*COVERAGE mode=([a-z]+) way="([^"]+)" result=([a-z-]+).*/\1\t\2\t\3/' |
			awk -F'\t' -v k="$kernel" 'BEGIN { OFS = "\t" } { print $1, k, $2, $3 }'
	done
}

table() {
	local rows
	rows="$(results)"
	[ -n "$rows" ] || {
		echo "coverage-table: no COVERAGE lines under $logs: run make test-kernels first" >&2
		exit 1
	}
	awk -F'\t' '
		{
			if (!($3 in order)) { order[$3] = ++n; way[n] = $3 }
			key = $1 SUBSEP $3
			if ($4 == "seen") seen[key] = seen[key] (seen[key] ? ", " : "") $2
			else unseen[key] = unseen[key] (unseen[key] ? ", " : "") $2
			kernels[$1] = kernels[$1] (index(kernels[$1], $2) ? "" : (kernels[$1] ? ", " : "") $2)
		}
		function cell(mode, w,   key) {
			key = mode SUBSEP w
			if (!(key in seen) && !(key in unseen)) return "not run"
			if (!(key in unseen)) return "seen"
			if (!(key in seen)) return "not seen"
			return "seen on " seen[key] "; not on " unseen[key]
		}
		END {
			print "| I/O | fentry | kprobe | tracepoint |"
			print "|---|---|---|---|"
			for (i = 1; i <= n; i++)
				printf "| %s | %s | %s | %s |\n", way[i], cell("fentry", way[i]), cell("kprobe", way[i]), cell("tracepoint", way[i])
			print ""
			printf "Kernels run: fentry on %s; kprobe on %s; tracepoint on %s.\n", kernels["fentry"], kernels["kprobe"], kernels["tracepoint"]
		}' <<<"$rows"
}

# Prints README.md with the text between the markers replaced by the table.
readme_with_table() {
	local new="$1"
	grep -qF "$begin" "$readme" || { echo "coverage-table: README.md has no $begin marker" >&2; exit 1; }
	awk -v begin="$begin" -v end="$end" -v table="$new" '
		$0 == begin { print; print table; skip = 1; next }
		$0 == end { skip = 0 }
		!skip { print }' "$readme"
}

case "${1:-}" in
"") table ;;
--write)
	updated="$(readme_with_table "$(table)")"
	printf '%s\n' "$updated" >"$readme"
	echo "coverage-table: README.md updated"
	;;
--check)
	if ! diff -u "$readme" <(readme_with_table "$(table)"); then
		echo "coverage-table: README.md's coverage table differs from these results; run make test-kernels and commit README.md" >&2
		exit 1
	fi
	echo "coverage-table: README.md matches the results"
	;;
*)
	echo "usage: $0 [--write | --check]" >&2
	exit 2
	;;
esac
