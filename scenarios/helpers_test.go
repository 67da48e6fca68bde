package scenarios

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
)

func deploymentReplicas(t *testing.T, o Object) *int32 {
	t.Helper()
	d, ok := o.Typed().(*appsv1.Deployment)
	if !ok || d.Spec.Replicas == nil {
		t.Fatalf("%s %s is not a Deployment with replicas", o.Kind, o.Name)
	}
	return d.Spec.Replicas
}
