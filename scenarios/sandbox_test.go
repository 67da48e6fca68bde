package scenarios

import (
	"strings"
	"testing"
)

func TestSandbox(t *testing.T) {
	s, err := Sandbox("eu-west-2", []SandboxGroup{{Name: "ng-a", Size: 2}, {Name: "ng-b", Size: 1, InstanceType: "m6i.large"}})
	if err != nil {
		t.Fatal(err)
	}
	env := s.Spec.Environment
	if len(env.NodeGroups) != 2 || len(env.IAM.Roles) != 2 {
		t.Fatalf("%d node groups and %d roles, want 2 and 2", len(env.NodeGroups), len(env.IAM.Roles))
	}
	tests := []struct {
		name, got, want string
	}{
		{"first zone", env.NodeGroups[0].Zone, "eu-west-2a"},
		{"second zone", env.NodeGroups[1].Zone, "eu-west-2b"},
		{"first subnet", env.NodeGroups[0].Subnet, "10.0.1.0/24"},
		{"second subnet", env.NodeGroups[1].Subnet, "10.0.2.0/24"},
		{"default instance type", env.NodeGroups[0].InstanceType, "m5.large"},
		{"instance type given", env.NodeGroups[1].InstanceType, "m6i.large"},
		{"node role", env.NodeGroups[0].Role, "eks-node-ng-a"},
		{"role can pull from ECR", strings.Join(env.IAM.Roles[0].ManagedPolicies, ","), "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy,arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy,arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"},
		{"region", env.AWS.Region, "eu-west-2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}

func TestSandboxRefusesWhatAScenarioWould(t *testing.T) {
	tests := []struct {
		name, region string
		groups       []SandboxGroup
		want         string
	}{
		{"bad region", "mars", []SandboxGroup{{Name: "ng-a", Size: 1}}, "not an AWS region name"},
		{"duplicate group", "us-east-1", []SandboxGroup{{Name: "ng-a", Size: 1}, {Name: "ng-a", Size: 1}}, "ng-a"},
		{"too many nodes", "us-east-1", []SandboxGroup{{Name: "ng-a", Size: 21}}, "must be between 1 and 20, got 21"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Sandbox(tt.region, tt.groups)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}
