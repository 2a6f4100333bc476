package main

import (
	"strings"

	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
)

// syscallLinks counts the BPF links, in the whole kernel, on the system call
// tracepoints (raw or tp_btf, sys_enter or sys_exit). Programs others attach
// there while this runs are paid by every loop, "bare" included, so the
// table says how many there were.
func syscallLinks() int {
	kernel, err := btf.LoadKernelSpec()
	if err != nil {
		return -1
	}
	var it link.Iterator
	defer it.Close()
	n := 0
	for it.Next() {
		info, err := it.Link.Info()
		if err != nil {
			continue
		}
		var name string
		switch info.Type {
		case link.RawTracepointType:
			name = info.RawTracepoint().Name
		case link.TracingType:
			if t, err := kernel.TypeByID(info.Tracing().TargetBtfId); err == nil {
				name = t.TypeName()
			}
		}
		if strings.HasSuffix(name, "sys_enter") || strings.HasSuffix(name, "sys_exit") {
			n++
		}
	}
	return n
}
