package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// Targets of the whole collector on a two-core machine.
const (
	targetRate    = 200_000 // watched accesses a second without loss
	targetIdleMiB = 80
)

func printTable(w io.Writer, s settings, idle, hwm float64, steps []step) {
	fmt.Fprintf(w, "### End to end: otelcol-fileaccess, file_access → debug (basic), %s a rate\n\n", s.duration)
	fmt.Fprintln(w, "| target /s | achieved /s | preads made | records accepted | lost | refused | collector CPU µs / record | collector CPU, % of one core | peak RSS MiB |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|")
	best := 0.0
	for _, st := range steps {
		perRecord := 0.0
		if st.accepted > 0 {
			perRecord = 1e6 * st.cpu / st.accepted
		}
		achieved := fmt.Sprintf("%.0f", st.achieved())
		switch {
		case st.short() && st.collectorBehind():
			achieved += " (collector-bound)"
		case st.short():
			achieved += " (generator-bound)"
		}
		fmt.Fprintf(w, "| %.0f | %s | %d | %.0f | %s | %.0f | %.2f | %.0f %% | %.1f |\n",
			st.target, achieved, st.made, st.accepted, lostCell(st), st.refused,
			perRecord, 100*st.cpu/st.took.Seconds(), st.peakRSS)
		if !st.lossy() && st.achieved() > best {
			best = st.achieved()
		}
	}
	fmt.Fprintln(w)

	verdictRate := "missed"
	if best >= targetRate*0.98 {
		verdictRate = "met"
	}
	if last := steps[len(steps)-1]; !last.lossy() {
		verdictRate += " (no loss at any rate tried; the ceiling is higher)"
	}
	verdictIdle := "missed"
	if idle <= targetIdleMiB {
		verdictIdle = "met"
	}
	fmt.Fprintln(w, "| headline | value | target | verdict |")
	fmt.Fprintln(w, "|---|---|---|---|")
	fmt.Fprintf(w, "| highest rate without loss | %.0f /s | %d /s | %s |\n", best, targetRate, verdictRate)
	fmt.Fprintf(w, "| RSS idle (VmRSS before load) | %.1f MiB | ≤ %d MiB | %s |\n", idle, targetIdleMiB, verdictIdle)
	fmt.Fprintf(w, "| RSS peak over the run (VmHWM) | %.1f MiB | flat under load | +%.1f MiB over idle |\n\n", hwm, hwm-idle)
}

func lostCell(st step) string {
	cell := fmt.Sprintf("%.0f", st.lost)
	reasons := make([]string, 0, len(st.lostBy))
	for reason, n := range st.lostBy {
		reasons = append(reasons, fmt.Sprintf("%s %.0f", reason, n))
	}
	sort.Strings(reasons)
	if len(reasons) > 0 {
		cell += " (" + strings.Join(reasons, ", ") + ")"
	}
	return cell
}
