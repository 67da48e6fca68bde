package scenarios

import (
	"context"
	"fmt"
	"strings"

	discoveryv1 "k8s.io/api/discovery/v1"
)

func init() { RegisterCondition("endpoints", func() ConditionKind { return &EndpointsCondition{} }) }

// EndpointsCondition counts ready addresses behind a Service (from
// EndpointSlices).
type EndpointsCondition struct {
	// Namespace of the Service. Required.
	Namespace string `yaml:"namespace"`
	// Service name. Required.
	Service string `yaml:"service"`
	// Ready bounds the number of ready addresses. Default at least 1.
	Ready Count `yaml:"ready"`
}

// Check implements ConditionKind.
func (q *EndpointsCondition) Check(c *Checker, p string) {
	c.service(p, q.Namespace, q.Service)
	c.count(p+".ready", q.Ready)
}

// service checks a reference to a Service of the scenario's workloads
// (fields namespace and service under p).
func (c *Checker) service(p, namespace, name string) {
	if c.namespace(p+".namespace", namespace) && c.required(p+".service", name) && c.services[namespace+"/"+name] == nil && !c.brokenWorkloads {
		var known []string
		for k := range c.services {
			if n, nm, _ := strings.Cut(k, "/"); n == namespace {
				known = append(known, nm)
			}
		}
		c.errs.add(p+".service", "unknown service %q in namespace %q%s", name, namespace, didYouMean(name, known))
	}
}

// Eval implements ConditionKind.
func (q *EndpointsCondition) Eval(_ context.Context, w World) (bool, string) {
	ready := map[string]bool{}
	for _, s := range w.EndpointSlices() {
		if s.Namespace != q.Namespace || s.Labels[discoveryv1.LabelServiceName] != q.Service {
			continue
		}
		for _, ep := range s.Endpoints {
			if ep.Conditions.Ready != nil && *ep.Conditions.Ready {
				for _, a := range ep.Addresses {
					ready[a] = true
				}
			}
		}
	}
	return countHolds(len(ready), q.Ready), fmt.Sprintf("service %s/%s has %d ready endpoints (want %s)", q.Namespace, q.Service, len(ready), countText(q.Ready))
}
