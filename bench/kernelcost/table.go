package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/fileaccess-otel/fileaccessreceiver/internal/probe"
)

// Targets of the receiver's kernel side.
const (
	maxRatioToFloor     = 1.5  // receiver-added on unwatched / empty-added
	maxPercentOfBare    = 5.0  // receiver-added on unwatched, % of a bare pread
	maxWatchedAddedNsTP = 1000 // receiver-added on watched, tracepoint mode
)

func printTable(w io.Writer, s settings, mode probe.Mode, attached []string, res results) {
	last := len(res.names) - 1 // the receiver; 0 is bare; between them the floors
	floor := last - 1          // the empty program at the receiver's own hook

	fmt.Fprintf(w, "### Kernel cost: %s mode (%s)\n\n", mode, strings.Join(attached, ", "))
	fmt.Fprintf(w, "One-byte preads, %d a loop, %d repetitions interleaved; medians, with min–max over repetitions.\n\n", s.preads, s.reps)
	fmt.Fprintln(w, "| measure | value | target | verdict |")
	fmt.Fprintln(w, "|---|---|---|---|")
	fmt.Fprintf(w, "| bare pread, unwatched file | %s |  |  |\n", nsCell(res.unwatched[0]))
	fmt.Fprintf(w, "| bare pread, watched file | %s |  |  |\n", nsCell(res.watched[0]))
	for i := 1; i < last; i++ {
		fmt.Fprintf(w, "| added by %s (unwatched file) | %s |  | floor |\n", res.names[i], nsCell(added(res.unwatched, i)))
	}

	recvU := median(added(res.unwatched, last))
	floorU := median(added(res.unwatched, floor))
	bare := median(res.unwatched[0])
	fmt.Fprintf(w, "| added by the receiver, unwatched file | %s |  |  |\n", nsCell(added(res.unwatched, last)))

	ratio := recvU / floorU
	ratioVerdict := verdict(ratio <= maxRatioToFloor)
	if floorU <= 0 {
		ratioVerdict = "not measured: the floor drowned in noise"
	}
	fmt.Fprintf(w, "| receiver-added / %s-added, unwatched | %.2f | ≤ %.1f | %s |\n",
		res.names[floor], ratio, maxRatioToFloor, ratioVerdict)

	pct := 100 * recvU / bare
	pctVerdict := verdict(pct <= maxPercentOfBare)
	if mode == probe.ModeTracepoint && pct > maxPercentOfBare && floorU > 0 {
		pctVerdict = fmt.Sprintf("missed: unreachable in tracepoint mode, the empty hook alone is %.1f %%", 100*floorU/bare)
	}
	fmt.Fprintf(w, "| receiver-added, %% of bare pread, unwatched | %.1f %% | ≤ %.0f %% | %s |\n", pct, maxPercentOfBare, pctVerdict)

	recvW := median(added(res.watched, last))
	watchedVerdict := "no target outside tracepoint mode"
	if mode == probe.ModeTracepoint {
		watchedVerdict = verdict(recvW <= maxWatchedAddedNsTP)
	}
	fmt.Fprintf(w, "| added by the receiver, watched file (record written) | %s | ≤ %d ns | %s |\n",
		nsCell(added(res.watched, last)), maxWatchedAddedNsTP, watchedVerdict)

	expected := uint64(s.preads) * uint64(s.reps)
	fmt.Fprintf(w, "| records drained / watched preads; lost (ring full) | %d / %d; %d |  | %s |\n\n",
		res.stats.records, expected, res.stats.ringFull, verdict(res.stats.records == expected && res.stats.ringFull == 0))
	fmt.Fprintf(w, "Other programs on the system call tracepoints (paid by every loop, bare included): %d before, %d after.\n\n",
		res.neighbours[0], res.neighbours[1])
}

func nsCell(v []float64) string {
	lo, hi := spread(v)
	return fmt.Sprintf("%.0f ns (%.0f–%.0f)", median(v), lo, hi)
}

func verdict(met bool) string {
	if met {
		return "met"
	}
	return "missed"
}
