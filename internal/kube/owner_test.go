package kube

import (
	"testing"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestWorkloadOfReadsOwnerReferences(t *testing.T) {
	owner := func(kind, name string, controller bool) metav1.OwnerReference {
		return metav1.OwnerReference{Kind: kind, Name: name, Controller: new(controller)}
	}
	tests := []struct {
		name   string
		owners []metav1.OwnerReference
		labels map[string]string
		want   workload
	}{
		{
			name:   "bare pod has no workload",
			owners: nil,
			want:   workload{},
		},
		{
			name:   "replicaset of a deployment",
			owners: []metav1.OwnerReference{owner("ReplicaSet", "web-7d9c8b6f5d", true)},
			labels: map[string]string{"pod-template-hash": "7d9c8b6f5d"},
			want:   workload{replicaSet: "web-7d9c8b6f5d", deployment: "web"},
		},
		{
			name:   "deployment name with dashes",
			owners: []metav1.OwnerReference{owner("ReplicaSet", "shop-front-end-5f4b8c", true)},
			labels: map[string]string{"pod-template-hash": "5f4b8c"},
			want:   workload{replicaSet: "shop-front-end-5f4b8c", deployment: "shop-front-end"},
		},
		{
			name:   "replicaset without pod-template-hash is bare",
			owners: []metav1.OwnerReference{owner("ReplicaSet", "web-7d9c8b6f5d", true)},
			want:   workload{replicaSet: "web-7d9c8b6f5d"},
		},
		{
			name:   "pod-template-hash that is not the name suffix names no deployment",
			owners: []metav1.OwnerReference{owner("ReplicaSet", "web-abc", true)},
			labels: map[string]string{"pod-template-hash": "xyz"},
			want:   workload{replicaSet: "web-abc"},
		},
		{
			name:   "statefulset",
			owners: []metav1.OwnerReference{owner("StatefulSet", "db", true)},
			want:   workload{statefulSet: "db"},
		},
		{
			name:   "daemonset",
			owners: []metav1.OwnerReference{owner("DaemonSet", "agent", true)},
			want:   workload{daemonSet: "agent"},
		},
		{
			name:   "job made by hand",
			owners: []metav1.OwnerReference{owner("Job", "migrate-2", true)},
			want:   workload{job: "migrate-2"},
		},
		{
			name:   "job of a cronjob",
			owners: []metav1.OwnerReference{owner("Job", "nightly-backup-29512345", true)},
			want:   workload{job: "nightly-backup-29512345", cronJob: "nightly-backup"},
		},
		{
			name:   "job with a non-numeric suffix",
			owners: []metav1.OwnerReference{owner("Job", "backup-2951234x", true)},
			want:   workload{job: "backup-2951234x"},
		},
		{
			name: "controller reference wins over the first one",
			owners: []metav1.OwnerReference{
				owner("ConfigMap", "settings", false),
				owner("StatefulSet", "db", true),
			},
			want: workload{statefulSet: "db"},
		},
		{
			name:   "unmarked owner is used when none is the controller",
			owners: []metav1.OwnerReference{{Kind: "DaemonSet", Name: "agent"}},
			want:   workload{daemonSet: "agent"},
		},
		{
			name:   "unknown owner kind",
			owners: []metav1.OwnerReference{owner("Rollout", "canary", true)},
			want:   workload{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
				Name: "p", OwnerReferences: tt.owners, Labels: tt.labels,
			}}
			assert.Equal(t, tt.want, workloadOf(pod))
		})
	}
}
