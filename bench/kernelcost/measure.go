package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
)

// results holds ns per pread by configuration, file and repetition, and
// what the receiver's drain saw over all repetitions.
type results struct {
	names     []string
	unwatched [][]float64
	watched   [][]float64
	stats     runStats
	// neighbours are others' links on the system call tracepoints, before
	// and after the measurements.
	neighbours [2]int
}

func measure(s settings, child *childProc, files benchFiles, configs []hookSet) (results, error) {
	res := results{
		unwatched: make([][]float64, len(configs)),
		watched:   make([][]float64, len(configs)),
	}
	for _, c := range configs {
		res.names = append(res.names, c.name)
	}

	// A warm-up loop brings the file into the cache and the CPU up to speed.
	if _, err := child.preadNs(files.watched, s.preads/4); err != nil {
		return res, err
	}
	for rep := range s.reps {
		// Rotating the order moves each configuration through every slot.
		for k := range configs {
			i := (k + rep) % len(configs)
			u, w, stats, err := measureOne(s, child, files, configs[i], rep)
			if err != nil {
				return res, fmt.Errorf("%s: %w", configs[i].name, err)
			}
			res.unwatched[i] = append(res.unwatched[i], u)
			res.watched[i] = append(res.watched[i], w)
			res.stats.records += stats.records
			res.stats.ringFull += stats.ringFull
			fmt.Fprintf(os.Stderr, "kernelcost: rep %d %-40s unwatched %6.0f ns  watched %6.0f ns\n",
				rep+1, configs[i].name, u, w)
		}
	}
	return res, nil
}

// measureOne times both files under one configuration, in an order that
// alternates between repetitions.
func measureOne(s settings, child *childProc, files benchFiles, c hookSet, rep int) (u, w float64, stats runStats, err error) {
	detach := func() (runStats, error) { return runStats{}, nil }
	if c.attach != nil {
		if detach, err = c.attach(); err != nil {
			return 0, 0, stats, err
		}
	}
	if c.execAfterAttach {
		if err := child.execAgain(); err != nil {
			detach()
			return 0, 0, stats, err
		}
	}
	if rep%2 == 0 {
		u, err = child.preadNs(files.unwatched, s.preads)
		if err == nil {
			w, err = child.preadNs(files.watched, s.preads)
		}
	} else {
		w, err = child.preadNs(files.watched, s.preads)
		if err == nil {
			u, err = child.preadNs(files.unwatched, s.preads)
		}
	}
	stats, detachErr := detach()
	if err == nil {
		err = detachErr
	}
	return u, w, stats, err
}

// added is, per repetition, what configuration i costs above the bare call
// in the same repetition.
func added(series [][]float64, i int) []float64 {
	out := make([]float64, len(series[i]))
	for rep := range series[i] {
		out[rep] = series[i][rep] - series[0][rep]
	}
	return out
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func spread(v []float64) (lo, hi float64) {
	return slices.Min(v), slices.Max(v)
}

// measureOnly runs the configurations -only names and prints their raw
// numbers, without the table, whose ratios need every configuration.
func measureOnly(s settings, child *childProc, files benchFiles, all []hookSet) error {
	configs := all[:1]
	for _, c := range all[1:] {
		if strings.Contains(c.name, s.only) {
			configs = append(configs, c)
		}
	}
	// Both loops on one file, so that a profile sees one kind of access.
	switch s.file {
	case "watched":
		files.unwatched = files.watched
	case "unwatched":
		files.watched = files.unwatched
	}
	_, err := measure(s, child, files, configs)
	return err
}
