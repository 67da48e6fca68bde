package scenarios

import (
	"context"
	"strings"

	"github.com/gameday-sre/gameday/internal/domain/eks"
)

func init() { RegisterStep("scaleNodeGroup", func() StepAction { return &ScaleNodeGroup{} }) }

// ScaleNodeGroup changes a node group's size.
type ScaleNodeGroup struct {
	// NodeGroup is the node group's name. Required.
	NodeGroup string `yaml:"nodeGroup"`
	// Size is the new number of nodes (0 or more).
	Size int `yaml:"size"`
}

// Check implements StepAction.
func (a *ScaleNodeGroup) Check(c *Checker, p string) {
	c.nodeGroup(p+".nodeGroup", a.NodeGroup)
	if err := eks.CheckSize(a.Size, 0); err != nil {
		c.errs.add(p+".size", "%v", strings.TrimPrefix(err.Error(), "size "))
	}
}

// Run implements StepAction.
func (a *ScaleNodeGroup) Run(ctx context.Context, env StepEnv) error {
	return env.NodeGroups.ScaleNodeGroup(ctx, a.NodeGroup, a.Size)
}

// resizes tells which node group the step resizes, and to what.
func (a *ScaleNodeGroup) resizes() (string, int) { return a.NodeGroup, a.Size }

// PeakSize is the largest size node group group has during the run: its
// initial size or the largest a step scales it to.
func (s *Scenario) PeakSize(group string) int {
	n := 0
	for _, ng := range s.Spec.Environment.NodeGroups {
		if ng.Name == group {
			n = ng.Size
		}
	}
	for _, st := range s.Spec.Steps {
		if r, ok := st.Action.(interface{ resizes() (string, int) }); ok {
			if g, size := r.resizes(); g == group && size > n {
				n = size
			}
		}
	}
	return n
}
