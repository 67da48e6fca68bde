package scenarios

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

func init() { RegisterCondition("deployment", func() ConditionKind { return &DeploymentCondition{} }) }

// DeploymentCondition checks one Deployment. Every set predicate must hold.
type DeploymentCondition struct {
	// Namespace of the Deployment. Required.
	Namespace string `yaml:"namespace"`
	// Name of the Deployment. Required.
	Name string `yaml:"name"`
	// Exists checks that the Deployment exists (or, false, that it does
	// not). The other predicates imply exists: true.
	Exists *bool `yaml:"exists"`
	// Available: all desired replicas are available.
	Available *bool `yaml:"available"`
	// RolledOut: the latest revision is fully rolled out (updated,
	// available, no old replicas left), as `kubectl rollout status` says.
	RolledOut *bool `yaml:"rolledOut"`
	// Restarted: the pod template's kubectl.kubernetes.io/restartedAt
	// annotation changed since handover.
	Restarted *bool `yaml:"restarted"`
	// RestartedAfter names an objective; holds when a restart (as above)
	// happened after that objective was achieved, or at most 2 s before
	// gameday saw it achieved (conditions are checked about once a
	// second, so a fix and a restart typed one after the other may be
	// seen in the other order).
	RestartedAfter string `yaml:"restartedAfter"`
	// ImagePullSecrets: the pod template has imagePullSecrets.
	ImagePullSecrets *bool `yaml:"imagePullSecrets"`
	// ImageMatches is a regular expression every container image of the
	// pod template must match. Scenario variables are inserted quoted, so
	// "^${ECR_REGISTRY}/" matches the registry host literally.
	ImageMatches string `yaml:"imageMatches"`
	// ReplicasSetBy is a regular expression the field manager that last
	// set spec.replicas must match, from the Deployment's managed fields:
	// kube-controller-manager when an HPA scaled it, kubectl-scale,
	// kubectl-edit or kubectl-patch when a person did, gameday for the
	// scenario's own manifests.
	ReplicasSetBy string `yaml:"replicasSetBy"`
}

// Check implements ConditionKind.
func (q *DeploymentCondition) Check(c *Checker, p string) {
	if q.Exists == nil || *q.Exists {
		c.deployment(p, q.Namespace, q.Name, "name")
	} else {
		c.namespace(p+".namespace", q.Namespace)
		c.required(p+".name", q.Name)
	}
	if q.RestartedAfter != "" {
		if !c.inObjectives {
			c.errs.add(p+".restartedAfter", "only objectives and penalties may refer to objectives")
		} else if c.objectives[q.RestartedAfter] == nil {
			c.ref(p+".restartedAfter", "objective", q.RestartedAfter, keys(c.objectives))
		}
	}
	c.regexp(p+".imageMatches", q.ImageMatches)
	c.regexp(p+".replicasSetBy", q.ReplicasSetBy)
}

// Eval implements ConditionKind.
func (q *DeploymentCondition) Eval(_ context.Context, w World) (bool, string) {
	key := q.Namespace + "/" + q.Name
	d, exists := w.Deployment(q.Namespace, q.Name)
	if q.Exists != nil && !*q.Exists {
		return !exists, fmt.Sprintf("deployment %s exists: %v", key, exists)
	}
	if !exists {
		return false, "deployment " + key + " does not exist"
	}
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	st := d.Status
	obs := fmt.Sprintf("deployment %s: %d/%d available, %d updated, %d total", key, st.AvailableReplicas, want, st.UpdatedReplicas, st.Replicas)
	if q.Available != nil {
		avail := st.AvailableReplicas >= want && deploymentCondition(d, appsv1.DeploymentAvailable)
		if avail != *q.Available {
			return false, obs
		}
	}
	if q.RolledOut != nil && rolledOut(d, want) != *q.RolledOut {
		return false, obs + fmt.Sprintf(", rolled out %v", rolledOut(d, want))
	}
	if q.ImagePullSecrets != nil && (len(d.Spec.Template.Spec.ImagePullSecrets) > 0) != *q.ImagePullSecrets {
		return false, fmt.Sprintf("deployment %s has %d imagePullSecrets", key, len(d.Spec.Template.Spec.ImagePullSecrets))
	}
	if q.ImageMatches != "" {
		re := w.Regexp(q.ImageMatches)
		for _, c := range d.Spec.Template.Spec.Containers {
			if !re.MatchString(c.Image) {
				return false, fmt.Sprintf("deployment %s container %s image %s", key, c.Name, c.Image)
			}
		}
	}
	if q.ReplicasSetBy != "" {
		if by := ReplicasSetBy(d); !w.Regexp(q.ReplicasSetBy).MatchString(by) {
			return false, fmt.Sprintf("deployment %s replicas (%d) last set by %q", key, want, by)
		}
	}
	restartedAt, restarted := w.Restarted(q.Namespace, q.Name)
	if q.Restarted != nil && restarted != *q.Restarted {
		return false, fmt.Sprintf("deployment %s restarted since handover: %v", key, restarted)
	}
	if q.RestartedAfter != "" {
		at, ok := w.Achieved(q.RestartedAfter)
		if !ok || !restarted || restartedAt.Before(at.Add(-RestartGrace)) {
			return false, fmt.Sprintf("deployment %s not restarted after %s", key, q.RestartedAfter)
		}
	}
	return true, obs
}

// RestartGrace is how long before gameday saw an objective achieved a
// restart may come and still count as after it (restartedAfter).
const RestartGrace = 2 * time.Second

func deploymentCondition(d *appsv1.Deployment, t appsv1.DeploymentConditionType) bool {
	for _, c := range d.Status.Conditions {
		if c.Type == t {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// rolledOut is `kubectl rollout status`'s test.
func rolledOut(d *appsv1.Deployment, want int32) bool {
	st := d.Status
	return d.Generation <= st.ObservedGeneration && st.UpdatedReplicas >= want &&
		st.Replicas <= st.UpdatedReplicas && st.AvailableReplicas >= st.UpdatedReplicas
}

// ReplicasSetBy is the field manager that last set a Deployment's
// spec.replicas, by its managed fields, or "" when none owns it.
func ReplicasSetBy(d *appsv1.Deployment) string {
	var by string
	var at time.Time
	for _, mf := range d.ManagedFields {
		if mf.FieldsV1 == nil {
			continue
		}
		var fields map[string]map[string]any
		if err := json.Unmarshal(mf.FieldsV1.GetRawBytes(), &fields); err != nil {
			continue
		}
		if _, ok := fields["f:spec"]["f:replicas"]; !ok {
			continue
		}
		if t := mf.Time; by == "" || (t != nil && !t.Time.Before(at)) {
			by = mf.Manager
			if t != nil {
				at = t.Time
			}
		}
	}
	return by
}
