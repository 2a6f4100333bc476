package fileaccessreceiver

import (
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/fileaccess-otel/fileaccessreceiver/internal/container"
	"github.com/fileaccess-otel/fileaccessreceiver/internal/convert"
	"github.com/fileaccess-otel/fileaccessreceiver/internal/kube"
	"github.com/fileaccess-otel/fileaccessreceiver/internal/metadata"
)

// owner is who a record belongs to: the host when container is zero, else a
// container, and its pod when that is known.
type owner struct {
	container container.ID
	pod       *kube.Container
}

// ownerKey tells resources apart within a batch: a container's records can
// arrive both before and after its pod is known.
type ownerKey struct {
	containerID string
	withPod     bool
}

func (o owner) key() ownerKey {
	return ownerKey{containerID: o.container.ID, withPod: o.pod != nil}
}

// batch is the records on their way to the next consumer, one ResourceLogs
// per owner, so that the records of one container share a resource.
type batch struct {
	logs   plog.Logs
	groups map[ownerKey]plog.LogRecordSlice
	clock  convert.Clock
}

func (r *fileAccessReceiver) newBatch() batch {
	return batch{
		logs:   plog.NewLogs(),
		groups: make(map[ownerKey]plog.LogRecordSlice),
		clock:  convert.NewClock(),
	}
}

// recordsOf returns the record slice of an owner's resource, adding the
// resource on its first record.
func (r *fileAccessReceiver) recordsOf(b *batch, o owner) plog.LogRecordSlice {
	key := o.key()
	if records, ok := b.groups[key]; ok {
		return records
	}
	attrs, records := convert.AppendResource(b.logs, r.hostName, metadata.ScopeName, r.set.BuildInfo.Version)
	if o.container.ID != "" {
		convert.PutContainer(attrs, o.container)
	}
	if o.pod != nil {
		o.pod.PutResource(attrs)
	}
	b.groups[key] = records
	return records
}
