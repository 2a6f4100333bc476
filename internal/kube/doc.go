// Package kube names the Kubernetes pod and container behind a container id.
// A Watcher keeps an informer on the pods of one node, indexes them by the ids
// of their containers, init containers and ephemeral containers, and hands
// the receiver a Container that it writes onto a record's resource with the
// OpenTelemetry k8s.* and container.* attributes. NewClientset builds the API
// client from the auth types the collector-contrib Kubernetes components use.
package kube
