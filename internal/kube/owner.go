package kube

import (
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Owner kinds that name a workload.
const (
	kindReplicaSet  = "ReplicaSet"
	kindStatefulSet = "StatefulSet"
	kindDaemonSet   = "DaemonSet"
	kindJob         = "Job"
)

// minCronJobSuffixDigits is the fewest digits of the suffix the CronJob
// controller appends to a Job name: the scheduled time in minutes since the
// Unix epoch, which has had eight digits since 1989. Requiring them keeps a
// hand-made Job such as "backup-2" from being taken for a CronJob's.
const minCronJobSuffixDigits = 8

// workload names the controllers that own a pod, each empty when not known.
type workload struct {
	deployment  string
	statefulSet string
	daemonSet   string
	job         string
	cronJob     string
	replicaSet  string
}

// workloadOf reads pod's workload from its controller owner reference,
// without asking the API for the owners themselves: the Deployment from the
// ReplicaSet name and the pod's pod-template-hash label, the CronJob from the
// Job name. A pod with no owner reference gets an empty workload.
//
// Known limitation: a ReplicaSet without the pod-template-hash label on its
// pods is taken as made by hand and gets no Deployment, and a hand-made Job
// named like "<name>-<8 or more digits>" is reported as a CronJob's.
func workloadOf(pod *corev1.Pod) workload {
	owner := controllerOf(pod)
	if owner == nil {
		return workload{}
	}

	var w workload
	switch owner.Kind {
	case kindReplicaSet:
		w.replicaSet = owner.Name
		w.deployment = deploymentOf(owner.Name, pod.Labels[appsv1.DefaultDeploymentUniqueLabelKey])
	case kindStatefulSet:
		w.statefulSet = owner.Name
	case kindDaemonSet:
		w.daemonSet = owner.Name
	case kindJob:
		w.job = owner.Name
		w.cronJob = cronJobOf(owner.Name)
	}
	return w
}

// controllerOf returns the owner reference marked as controller, or else the
// first one, since objects made by other tools do not always set the mark.
func controllerOf(pod *corev1.Pod) *metav1.OwnerReference {
	if ref := metav1.GetControllerOfNoCopy(pod); ref != nil {
		return ref
	}
	if len(pod.OwnerReferences) > 0 {
		return &pod.OwnerReferences[0]
	}
	return nil
}

// deploymentOf returns the Deployment of ReplicaSet rs, which the Deployment
// controller names "<deployment>-<hash>" and whose pods it labels with hash.
func deploymentOf(rs, hash string) string {
	if hash == "" {
		return ""
	}
	name, ok := strings.CutSuffix(rs, "-"+hash)
	if !ok {
		return ""
	}
	return name
}

// cronJobOf returns the CronJob of Job job, which the CronJob controller names
// "<cronjob>-<scheduled minute>".
func cronJobOf(job string) string {
	dash := strings.LastIndexByte(job, '-')
	if dash <= 0 {
		return ""
	}
	suffix := job[dash+1:]
	if len(suffix) < minCronJobSuffixDigits {
		return ""
	}
	for _, r := range suffix {
		if r < '0' || r > '9' {
			return ""
		}
	}
	return job[:dash]
}
