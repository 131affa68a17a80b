package main

import (
	"os"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// The StatefulSet runs several replicas, each with its own spool volume, spread over
// nodes: a lost node takes one replica (and waits with its volume), never all of them.
func TestStatefulSetSpreadsReplicas(t *testing.T) {
	raw, err := os.ReadFile("../../deploy/k8s/base/statefulset.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var sts appsv1.StatefulSet
	decodeStrict(t, raw, &sts)
	if sts.Spec.Replicas == nil || *sts.Spec.Replicas < 2 {
		t.Fatalf("replicas %v, want at least 2", sts.Spec.Replicas)
	}
	if len(sts.Spec.VolumeClaimTemplates) != 1 || sts.Spec.VolumeClaimTemplates[0].Name != "spool" {
		t.Fatalf("want one volume claim template, spool, per replica: %+v", sts.Spec.VolumeClaimTemplates)
	}
	labels := sts.Spec.Template.Labels
	spread := map[string]corev1.UnsatisfiableConstraintAction{}
	for _, c := range sts.Spec.Template.Spec.TopologySpreadConstraints {
		if c.MaxSkew != 1 || c.LabelSelector == nil || len(c.LabelSelector.MatchLabels) == 0 {
			t.Fatalf("topology spread constraint %+v: want maxSkew 1 and the pods' labels", c)
		}
		for k, v := range c.LabelSelector.MatchLabels {
			if labels[k] != v {
				t.Fatalf("topology spread constraint selects %s=%s, which the pods do not carry (%v)", k, v, labels)
			}
		}
		spread[c.TopologyKey] = c.WhenUnsatisfiable
	}
	if spread["kubernetes.io/hostname"] != corev1.DoNotSchedule || spread["topology.kubernetes.io/zone"] != corev1.ScheduleAnyway {
		t.Fatalf("topology spread %v: want replicas on different nodes (DoNotSchedule), zones where possible", spread)
	}
}
