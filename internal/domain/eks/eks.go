// Package eks holds the Amazon EKS conventions that gameday reproduces on
// every backend: the labels a managed node group's nodes carry, the AMI
// id a group's nodes report, and the node-group size limit a scenario
// may ask for. It is a leaf: the scenario validator, the backends and the
// condition evaluator all take these from here.
package eks

import (
	"fmt"
	"hash/fnv"
	"io"
	"maps"
	"net/netip"
	"regexp"

	corev1 "k8s.io/api/core/v1"
)

// Node labels EKS sets on a managed node group's nodes, plus the one
// eksctl adds.
const (
	NodeGroupLabel      = "eks.amazonaws.com/nodegroup"
	NodeGroupImageLabel = "eks.amazonaws.com/nodegroup-image"
	CapacityTypeLabel   = "eks.amazonaws.com/capacityType"
	InstanceTypeLabel   = "node.kubernetes.io/instance-type"
	ZoneLabel           = "topology.kubernetes.io/zone"
	RegionLabel         = "topology.kubernetes.io/region"
	EksctlNodeGroupName = "alpha.eksctl.io/nodegroup-name"
)

// RunIDLabel is the label (and AWS tag) that marks everything gameday
// creates for a run, on every backend: Kubernetes objects and nodes,
// Docker containers, IAM, EKS and ECR resources. Clean-up finds leftovers
// by it.
const RunIDLabel = "gameday.dev/run-id"

// Defaults of a node group that does not say.
const (
	DefaultInstanceType = "m5.large"
	DefaultCapacityType = "ON_DEMAND"
)

// MaxNodeGroupSize is the most nodes a scenario's node group may have,
// at creation or scaled: each node is a kubelet (embedded) or a container
// (kind) on one machine.
const MaxNodeGroupSize = 20

// CheckSize says whether size is a node group size in min..MaxNodeGroupSize
// (min is 1 at creation, 0 when scaling), and what is wrong otherwise.
func CheckSize(size, min int) error {
	if size < min || size > MaxNodeGroupSize {
		return fmt.Errorf("size must be between %d and %d, got %d", min, MaxNodeGroupSize, size)
	}
	return nil
}

// MinSubnetBits and MaxSubnetBits bound a node group's subnet prefix, as
// a VPC bounds its subnets: from /16 down to /28.
const (
	MinSubnetBits = 16
	MaxSubnetBits = 28
)

// ReservedAddresses is how many addresses AWS keeps in every subnet: the
// first four (network, VPC router, DNS, future use) and the last.
const ReservedAddresses = 5

// CheckSubnet says whether p is a subnet a node group may have: IPv4,
// between /16 and /28, as a VPC allows.
func CheckSubnet(p netip.Prefix) error {
	if !p.IsValid() || !p.Addr().Is4() || p.Bits() < MinSubnetBits || p.Bits() > MaxSubnetBits {
		return fmt.Errorf("must be an IPv4 CIDR between /%d and /%d, got %q", MinSubnetBits, MaxSubnetBits, p)
	}
	return nil
}

// Usable returns the first and last address AWS lets instances and pods
// have in subnet p: it keeps the first four and the last for itself.
func Usable(p netip.Prefix) (first, last netip.Addr) {
	first = p.Masked().Addr()
	for range 4 {
		first = first.Next()
	}
	last = p.Masked().Addr()
	for range 1<<(32-p.Bits()) - 2 {
		last = last.Next()
	}
	return first, last
}

var regionRE = regexp.MustCompile(`^[a-z]{2}(-gov)?-[a-z]+-[0-9]$`)

// CheckRegion says whether name is shaped like an AWS region name.
func CheckRegion(name string) error {
	if !regionRE.MatchString(name) {
		return fmt.Errorf("not an AWS region name: %q", name)
	}
	return nil
}

// NodeGroup is an EKS managed node group as a backend builds it,
// converted from the scenario: backends never see a scenario. It is the
// one node-group type below the scenario language.
type NodeGroup struct {
	// Name is the node group name.
	Name string
	// InstanceType, CapacityType and Zone are what the nodes' EKS labels
	// say (NodeLabels).
	InstanceType, CapacityType, Zone string
	// Subnet is where the nodes' (and pods') addresses come from.
	Subnet netip.Prefix
	// Labels are the group's own labels; they win over EKS's.
	Labels map[string]string
	// Taints are the group's node taints.
	Taints []corev1.Taint
	// Size is how many nodes are in service at start: 0 for a group the
	// fault creates.
	Size int
	// Capacity is the most nodes the group has during the run (a backend
	// that cannot add nodes later creates them all at start).
	Capacity int
}

// AMI is the AMI id a node group's nodes report: stable per group name,
// in the form EKS shows (ami-<17 hex digits>).
func AMI(group string) string {
	h := fnv.New64a()
	_, _ = io.WriteString(h, group)
	return fmt.Sprintf("ami-%017x", h.Sum64())[:21]
}

// NodeLabels are the labels of a node of group g in region, as EKS (and
// eksctl) set them, with the group's own labels over them. extra (the
// run-id label) is added last.
func NodeLabels(g NodeGroup, region string, extra map[string]string) map[string]string {
	l := map[string]string{
		NodeGroupLabel:      g.Name,
		NodeGroupImageLabel: AMI(g.Name),
		CapacityTypeLabel:   orDefault(g.CapacityType, DefaultCapacityType),
		InstanceTypeLabel:   orDefault(g.InstanceType, DefaultInstanceType),
		ZoneLabel:           g.Zone,
		RegionLabel:         region,
		EksctlNodeGroupName: g.Name,
	}
	maps.Copy(l, g.Labels)
	maps.Copy(l, extra)
	return l
}

func orDefault(v, d string) string {
	if v == "" {
		return d
	}
	return v
}
