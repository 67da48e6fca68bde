package scenarios

import (
	"strings"
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestHPAHolds(t *testing.T) {
	i32 := func(v int32) *int32 { return &v }
	yes, no := true, false
	missingRequests := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "checkout"},
		Status: autoscalingv2.HorizontalPodAutoscalerStatus{CurrentReplicas: 3, DesiredReplicas: 3, Conditions: []autoscalingv2.HorizontalPodAutoscalerCondition{
			{Type: autoscalingv2.AbleToScale, Status: "True", Reason: "SucceededGetScale"},
			{Type: autoscalingv2.ScalingActive, Status: "False", Reason: "FailedGetResourceMetric",
				Message: `the HPA was unable to compute the replica count: failed to get cpu utilization: missing request for cpu in container checkout of Pod checkout-7d9f`},
		}},
	}
	scaling := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "checkout"},
		Status: autoscalingv2.HorizontalPodAutoscalerStatus{CurrentReplicas: 6, DesiredReplicas: 6, Conditions: []autoscalingv2.HorizontalPodAutoscalerCondition{
			{Type: autoscalingv2.ScalingActive, Status: "True", Reason: "ValidMetricFound"},
		}},
	}
	tests := []struct {
		name string
		q    HPACondition
		h    *autoscalingv2.HorizontalPodAutoscaler
		want bool
		obs  string
	}{
		{"missing requests: not active", HPACondition{ScalingActive: &no}, missingRequests, true, "ScalingActive=False (FailedGetResourceMetric"},
		{"missing requests: the reason", HPACondition{Reason: "FailedGetResourceMetric", Message: "missing request for cpu"}, missingRequests, true, "3 current"},
		{"missing requests: the message must be there", HPACondition{Message: "unable to fetch metrics"}, missingRequests, false, ""},
		{"missing requests: not active, so active fails", HPACondition{ScalingActive: &yes}, missingRequests, false, ""},
		{"scaled out: at least 5", HPACondition{ScalingActive: &yes, CurrentAtLeast: i32(5)}, scaling, true, "6 current, 6 desired"},
		{"scaled out: not at most 3", HPACondition{CurrentAtMost: i32(3)}, scaling, false, "6 current"},
		{"a reason it does not have", HPACondition{Reason: "FailedGetResourceMetric"}, scaling, false, "ValidMetricFound"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, obs := HPAHolds(&tt.q, tt.h)
			if got != tt.want || !strings.Contains(obs, tt.obs) {
				t.Errorf("HPAHolds = %v, %q; want %v and %q in it", got, obs, tt.want, tt.obs)
			}
		})
	}
}
