package eks

import (
	"net/netip"
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNodeLabels(t *testing.T) {
	tests := []struct {
		name  string
		g     NodeGroup
		extra map[string]string
		want  map[string]string
	}{
		{"defaults", NodeGroup{Name: "ng-a", Zone: "us-east-1a"}, nil, map[string]string{
			NodeGroupLabel: "ng-a", NodeGroupImageLabel: AMI("ng-a"), CapacityTypeLabel: "ON_DEMAND", InstanceTypeLabel: "m5.large",
			ZoneLabel: "us-east-1a", RegionLabel: "us-east-1", EksctlNodeGroupName: "ng-a",
		}},
		{"the group's labels win, the run id is added", NodeGroup{Name: "ng-b", InstanceType: "m6i.large", CapacityType: "SPOT", Zone: "us-east-1b",
			Labels: map[string]string{"workload-class": "general", InstanceTypeLabel: "custom"}},
			map[string]string{"gameday.dev/run-id": "r1"}, map[string]string{
				NodeGroupLabel: "ng-b", NodeGroupImageLabel: AMI("ng-b"), CapacityTypeLabel: "SPOT", InstanceTypeLabel: "custom",
				ZoneLabel: "us-east-1b", RegionLabel: "us-east-1", EksctlNodeGroupName: "ng-b", "workload-class": "general", "gameday.dev/run-id": "r1",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, NodeLabels(tt.g, "us-east-1", tt.extra)); diff != "" {
				t.Errorf("labels (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAMI(t *testing.T) {
	if a, b := AMI("ng-a"), AMI("ng-a"); a != b || !regexp.MustCompile(`^ami-[0-9a-f]{17}$`).MatchString(a) {
		t.Errorf("AMI = %q, %q: want a stable ami-<17 hex>", a, b)
	}
	if AMI("ng-a") == AMI("ng-b") {
		t.Error("two groups share an AMI id")
	}
}

func TestCheckSize(t *testing.T) {
	tests := []struct {
		size, min int
		ok        bool
	}{{1, 1, true}, {20, 1, true}, {0, 1, false}, {0, 0, true}, {21, 0, false}, {-1, 0, false}}
	for _, tt := range tests {
		if err := CheckSize(tt.size, tt.min); (err == nil) != tt.ok {
			t.Errorf("CheckSize(%d, %d) = %v", tt.size, tt.min, err)
		}
	}
}

func TestCheckSubnet(t *testing.T) {
	tests := []struct {
		name, cidr string
		ok         bool
	}{
		{"smallest a VPC allows", "10.0.1.0/28", true},
		{"a /27", "10.0.1.0/27", true},
		{"largest a VPC allows", "10.0.0.0/16", true},
		{"too small", "10.0.1.0/29", false},
		{"too large", "10.0.0.0/15", false},
		{"IPv6", "fd00::/64", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckSubnet(netip.MustParsePrefix(tt.cidr))
			if (err == nil) != tt.ok {
				t.Errorf("CheckSubnet(%s) = %v, want ok=%v", tt.cidr, err, tt.ok)
			}
		})
	}
}

func TestUsable(t *testing.T) {
	tests := []struct {
		name, cidr, first, last string
	}{
		{"a /28 keeps 11", "10.0.1.0/28", "10.0.1.4", "10.0.1.14"},
		{"a /24", "10.0.1.0/24", "10.0.1.4", "10.0.1.254"},
		{"unmasked prefix", "10.0.1.77/26", "10.0.1.68", "10.0.1.126"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first, last := Usable(netip.MustParsePrefix(tt.cidr))
			if first.String() != tt.first || last.String() != tt.last {
				t.Errorf("Usable(%s) = %s..%s, want %s..%s", tt.cidr, first, last, tt.first, tt.last)
			}
		})
	}
}

func TestCheckRegion(t *testing.T) {
	for _, r := range []string{"us-east-1", "eu-west-2", "us-gov-west-1"} {
		if err := CheckRegion(r); err != nil {
			t.Errorf("CheckRegion(%q) = %v", r, err)
		}
	}
	for _, r := range []string{"", "us-east", "US-EAST-1", "mars-north-1a"} {
		if err := CheckRegion(r); err == nil {
			t.Errorf("CheckRegion(%q) accepted", r)
		}
	}
}
