module github.com/fileaccess-otel/fileaccessreceiver

go 1.25.0

require (
	github.com/cilium/ebpf v0.22.0
	go.uber.org/zap v1.28.0
)

require (
	go.uber.org/multierr v1.10.0 // indirect
	golang.org/x/sys v0.43.0 // indirect
)
