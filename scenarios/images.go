package scenarios

import (
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/gameday-sre/gameday/scenarios/behaviour"
)

// Images returns every container image the scenario runs, sorted and
// without repeats: those of its workloads' pods, pod templates, and of
// its setImage steps, with scenario variables expanded.
func (s *Scenario) Images() []string {
	var out []string
	add := func(spec *corev1.PodSpec) {
		for _, c := range slices.Concat(spec.InitContainers, spec.Containers) {
			out = append(out, c.Image)
		}
	}
	for _, w := range s.Spec.Workloads {
		for _, o := range w.Objects {
			switch t := o.Typed().(type) {
			case *corev1.Pod:
				add(&t.Spec)
			case *appsv1.Deployment:
				add(&t.Spec.Template.Spec)
			case *appsv1.StatefulSet:
				add(&t.Spec.Template.Spec)
			case *appsv1.DaemonSet:
				add(&t.Spec.Template.Spec)
			case *appsv1.ReplicaSet:
				add(&t.Spec.Template.Spec)
			case *batchv1.Job:
				add(&t.Spec.Template.Spec)
			case *batchv1.CronJob:
				add(&t.Spec.JobTemplate.Spec.Template.Spec)
			}
		}
	}
	for _, st := range s.Spec.Steps {
		if d, ok := st.Action.(interface{ images(*Scenario) []string }); ok {
			out = append(out, d.images(s)...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Behaviours maps the reference of every ECR image that declares a
// behaviour ("<registry>/<repository>:<tag>") to it.
func (s *Scenario) Behaviours() map[string]behaviour.App {
	env := s.Spec.Environment
	host := ECRRegistry(env.AWS.AccountID, env.AWS.Region)
	out := map[string]behaviour.App{}
	for _, r := range env.ECR.Repositories {
		for _, img := range r.Images {
			if img.Behaviour != nil {
				out[host+"/"+r.Name+":"+img.Tag] = *img.Behaviour
			}
		}
	}
	return out
}
