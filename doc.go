// Package fileaccessreceiver implements the file_access receiver: eBPF
// programs on the kernel's file hooks report reads, writes, memory maps and
// truncations of watched paths, each as one OpenTelemetry log record.
//
// Data flows one way: kernel programs (bpf/) filter by path prefix and write
// records to a ring buffer; internal/probe loads and attaches them;
// internal/record decodes each record; internal/convert turns it into plog;
// the receiver batches and hands logs to the next consumer.
package fileaccessreceiver
