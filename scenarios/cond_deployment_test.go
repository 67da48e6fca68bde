package scenarios

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestReplicasSetBy(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 14, 0, 0, 0, time.UTC)
	entry := func(manager, sub string, at time.Duration, fields string) metav1.ManagedFieldsEntry {
		ts := metav1.NewTime(t0.Add(at))
		return metav1.ManagedFieldsEntry{Manager: manager, Operation: metav1.ManagedFieldsOperationUpdate, Subresource: sub, Time: &ts,
			FieldsType: "FieldsV1", FieldsV1: metav1.NewFieldsV1(fields)}
	}
	const replicas = `{"f:spec":{"f:replicas":{}}}`
	const template = `{"f:spec":{"f:template":{"f:spec":{}}}}`
	apply := entry("gameday", "", 0, `{"f:spec":{"f:replicas":{},"f:selector":{}}}`)
	apply.Operation = metav1.ManagedFieldsOperationApply
	tests := []struct {
		name    string
		entries []metav1.ManagedFieldsEntry
		want    string
	}{
		{"the scenario's manifest", []metav1.ManagedFieldsEntry{apply}, "gameday"},
		{"scaled by hand", []metav1.ManagedFieldsEntry{entry("kubectl-scale", "scale", time.Minute, replicas), entry("gameday", "", 0, template)}, "kubectl-scale"},
		{"then scaled by the HPA", []metav1.ManagedFieldsEntry{entry("kubectl-scale", "scale", time.Minute, replicas), entry("kube-controller-manager", "scale", 2*time.Minute, replicas)}, "kube-controller-manager"},
		{"an edit of the template owns no replicas", []metav1.ManagedFieldsEntry{apply, entry("kubectl-edit", "", time.Minute, template)}, "gameday"},
		{"no managed fields", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{ManagedFields: tt.entries}}
			if got := ReplicasSetBy(d); got != tt.want {
				t.Errorf("ReplicasSetBy = %q, want %q", got, tt.want)
			}
		})
	}
}
