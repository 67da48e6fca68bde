package scenarios

import (
	"fmt"

	"github.com/gameday-sre/gameday/internal/ground/errkind"
)

// SandboxGroup is one node group of a sandbox: `gameday env up
// --node-groups name=size[:instance-type]`.
type SandboxGroup struct {
	// Name is the node group's name.
	Name string
	// Size is its number of nodes.
	Size int
	// InstanceType is its EC2 instance type; empty means the default.
	InstanceType string
}

// SandboxName is the name of the scenario a sandbox is built from.
const SandboxName = "sandbox"

// Sandbox returns the scenario behind `gameday env up` without
// --scenario: an environment and nothing else (no workloads, fault,
// objectives or scoring), so that a bare cluster and its AWS account are
// composed exactly as a game's are. Each node group gets a node role
// with the policies an EKS managed node group's role has, a zone of the
// region in turn, and a /24 of its own. The environment is validated as a
// scenario's is.
func Sandbox(region string, groups []SandboxGroup) (*Scenario, error) {
	s := &Scenario{
		APIVersion: APIVersion, Kind: KindScenario,
		Metadata: Metadata{Name: SandboxName, Title: "A sandbox environment", Summary: "A bare cluster and AWS account"},
		Spec: Spec{Environment: Environment{
			AWS:     AWSAccount{Region: region},
			Cluster: Cluster{Name: SandboxName},
		}},
		Source: Source{File: "gameday env up"},
	}
	env := &s.Spec.Environment
	for i, g := range groups {
		role := "eks-node-" + g.Name
		env.IAM.Roles = append(env.IAM.Roles, Role{Name: role, Description: "Node role of " + g.Name,
			ManagedPolicies: []string{"AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"}})
		env.NodeGroups = append(env.NodeGroups, NodeGroup{Name: g.Name, Role: role, Size: g.Size, InstanceType: g.InstanceType,
			Zone: region + string(rune('a'+i%6)), Subnet: fmt.Sprintf("10.0.%d.0/24", i+1)})
	}
	applyDefaults(s)
	errs := newErrorList(s.Source.File)
	v := &Checker{errs: errs, s: s}
	v.environment()
	if err := errs.err(); err != nil {
		return nil, errkind.E(errkind.Invalid, err)
	}
	return s, nil
}
