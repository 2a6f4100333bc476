// Package fileaccessreceiver implements the file_access receiver: eBPF
// programs on the kernel's file hooks report reads, writes, memory maps and
// truncations of watched paths, each as one OpenTelemetry log record.
//
// Data flows one way: kernel programs (bpf/) filter by path prefix and write
// records to a ring buffer; internal/probe loads and attaches them;
// internal/record decodes each record; the receiver's reader finds its
// process, container and pod; converters turn batches of them into plog with
// internal/convert, beside the reader, and hand them to the next consumer in
// the order they were read.
package fileaccessreceiver
