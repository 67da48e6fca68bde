package scenarios

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gameday-sre/gameday/internal/ground/errkind"
)

func TestBuiltinScenariosLoad(t *testing.T) {
	names := BuiltinNames()
	if len(names) == 0 {
		t.Fatal("no built-in scenarios embedded")
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			s, err := LoadBuiltin(name)
			if err != nil {
				t.Fatalf("LoadBuiltin(%q): %v", name, err)
			}
			if s.Metadata.Name != name {
				t.Errorf("metadata.name = %q, want the directory name %q", s.Metadata.Name, name)
			}
			if !s.Source.Builtin {
				t.Error("Source.Builtin = false for an embedded scenario")
			}
			if len(s.Spec.Solution) == 0 || s.Spec.Debrief == "" || len(s.Spec.Hints) == 0 {
				t.Error("a built-in scenario must ship hints, a solution and a debrief")
			}
		})
	}
}

func TestFirstIncidentTellsTheRealStory(t *testing.T) {
	s, err := LoadBuiltin("ecr-imagepullbackoff")
	if err != nil {
		t.Fatal(err)
	}
	roles := map[string][]string{}
	for _, r := range s.Spec.Environment.IAM.Roles {
		roles[r.Name] = r.ManagedPolicies
	}
	groups := map[string]NodeGroup{}
	for _, ng := range s.Spec.Environment.NodeGroups {
		groups[ng.Name] = ng
	}
	newGroup := groups["ng-general-v2"]
	if !newGroup.Deferred {
		t.Error("the new node group must be added during the fault, not exist from the start")
	}
	wantNew := []string{
		"arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
		"arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
	}
	if diff := cmp.Diff(wantNew, roles[newGroup.Role]); diff != "" {
		t.Errorf("new node role policies (-want +got):\n%s", diff)
	}
	old := roles[groups["ng-general-v1"].Role]
	if !strings.Contains(strings.Join(old, ","), "AmazonEC2ContainerRegistryReadOnly") {
		t.Errorf("old node role must be able to pull from ECR, has %v", old)
	}
	var drained bool
	for _, st := range s.Spec.Steps {
		if d, ok := st.Action.(*DrainNodeGroup); ok && d.NodeGroup == "ng-general-v1" && st.Phase == PhaseFault {
			drained = true
		}
	}
	if !drained {
		t.Error("the fault must drain the old node group")
	}
	var replicas int32
	for _, w := range s.Spec.Workloads {
		for _, o := range w.Objects {
			if o.Kind == "Deployment" && o.Namespace == "prod" && o.Name == "checkout" {
				replicas = *deploymentReplicas(t, o)
			}
		}
	}
	if replicas != 3 {
		t.Errorf("prod/checkout replicas = %d, want 3", replicas)
	}
	var cats []string
	total := 0
	for _, o := range s.Spec.Objectives {
		cats = append(cats, o.Category)
		total += o.Points
	}
	if diff := cmp.Diff([]string{"detect", "rootCause", "fix", "restart", "recover"}, cats); diff != "" {
		t.Errorf("objective categories (-want +got):\n%s", diff)
	}
	if total != 100 {
		t.Errorf("objectives total %d points, want 100", total)
	}
}

func TestValidTestdata(t *testing.T) {
	files, err := Discover("testdata/valid")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 2 {
		t.Fatalf("found %d valid scenarios, want at least 2", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(filepath.Dir(f))+"/"+filepath.Base(f), func(t *testing.T) {
			if _, err := LoadFile(f); err != nil {
				t.Fatalf("LoadFile(%s):\n%v", f, err)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	s, err := LoadFile("testdata/valid/minimal/scenario.yaml")
	if err != nil {
		t.Fatal(err)
	}
	env := s.Spec.Environment
	ng := env.NodeGroups[0]
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"difficulty", s.Metadata.Difficulty, "intermediate"},
		{"time limit", s.Metadata.TimeLimit.Duration, 30 * time.Minute},
		{"account", env.AWS.AccountID, "123456789012"},
		{"region", env.AWS.Region, "us-east-1"},
		{"cluster version", env.Cluster.Version, "1.32"},
		{"trust", env.IAM.Roles[0].AssumedBy, []string{"ec2.amazonaws.com"}},
		{"policy ARN", env.IAM.Roles[0].ManagedPolicies, []string{"arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy"}},
		{"explicit size kept", ng.Size, 1},
		{"instance type", ng.InstanceType, "m5.large"},
		{"capacity type", ng.CapacityType, "ON_DEMAND"},
		{"zone", ng.Zone, "us-east-1a"},
		{"subnet", ng.Subnet, "10.0.1.0/24"},
		{"symptom timeout", s.Spec.Symptoms.Timeout.Duration, 3 * time.Minute},
		{"objective target is the time limit", s.Spec.Objectives[0].Target.Duration, 30 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestInvalidScenarios checks that each hand-broken file reports exactly
// the expected problems, with file, line, column and field path.
func TestInvalidScenarios(t *testing.T) {
	tests := []struct {
		name string
		file string
		want []string
	}{
		{"unknown field", "unknown-field.yaml", []string{
			`unknown-field.yaml:43:7: spec.objectives[0].pointz: unknown field "pointz" (did you mean "points"?)`,
		}},
		{"wrong type", "wrong-type.yaml", []string{
			`wrong-type.yaml:17:15: spec.environment.nodeGroups[0].size: expected an integer, got a list`,
			`wrong-type.yaml:46:15: spec.objectives[0].points: expected an integer, got string "lots"`,
		}},
		{"missing required", "missing-required.yaml", []string{
			`missing-required.yaml:4:3: metadata.title: required field missing`,
			`missing-required.yaml:7:3: spec.briefing: required field missing`,
			`missing-required.yaml:40:17: spec.objectives[0].category: required field missing`,
		}},
		{"bad cross-reference", "bad-crossref.yaml", []string{
			`bad-crossref.yaml:16:15: spec.environment.nodeGroups[0].role: unknown role "nodes" (did you mean "node"?)`,
			`bad-crossref.yaml:45:45: spec.objectives[0].when.deployment.name: unknown deployment "chekout" in namespace "prod" (did you mean "checkout"?)`,
		}},
		{"duplicate name", "duplicate-name.yaml", []string{
			`duplicate-name.yaml:46:11: spec.objectives[1].id: duplicate objective "fix"`,
			`duplicate-name.yaml:51:47: spec.objectives[1].when.endpoints.service: unknown service "checkout" in namespace "prod"`,
		}},
		{"manifest does not parse", "bad-manifest.yaml", []string{
			`bad-manifest.yaml:25: spec.workloads[0]: Deployment "checkout": strict decoding error: unknown field "spec.replica"`,
			`bad-manifest.yaml:39: spec.workloads[1]: not a Kubernetes object: expected a mapping with apiVersion, kind and metadata`,
			`bad-manifest.yaml:42: spec.workloads[1]: ConfigMap: metadata.name missing`,
		}},
		{"duration does not parse", "bad-duration.yaml", []string{
			`bad-duration.yaml:6:14: metadata.timeLimit: invalid duration "30 minutes" (want a Go duration such as 90s or 5m)`,
			`bad-duration.yaml:37:14: spec.symptoms.timeout: invalid duration "-5s": must not be negative`,
		}},
		{"unsupported apiVersion", "bad-apiversion.yaml", []string{
			`bad-apiversion.yaml:1:13: apiVersion: unsupported apiVersion "gameday.dev/v1beta9" (this build reads "gameday.dev/v1alpha1")`,
		}},
		{"every cause is a right answer", "no-decoy.yaml", []string{
			`no-decoy.yaml:38:5: spec.causes: needs at least one wrong answer: every cause is named by an objective, so claiming them all would cost nothing; add plausible wrong causes`,
		}},
		{"a control with a fault and the wrong answer", "control-with-fault.yaml", []string{
			`control-with-fault.yaml:35:14: spec.steps[0].phase: a control scenario stages no fault: make "break it" a setup step, or drop spec.control`,
			"control-with-fault.yaml:43:5: spec.causes: a control scenario needs the cause no-incident in its catalogue",
			"control-with-fault.yaml:46:5: spec.objectives: a control scenario needs an objective achieved by the claim no-incident (when: {finding: {cause: no-incident}})",
			"control-with-fault.yaml:46:5: spec.objectives: a control scenario's only right answer is no-incident; [bad-image] would be failures on a healthy cluster",
		}},
		{"no incident as a fault scenario's answer", "no-incident-answer.yaml", []string{
			"no-incident-answer.yaml:41:5: spec.objectives: the answer no-incident belongs to a control scenario: set spec.control: true, or make no-incident a wrong cause",
		}},
		{"a verification with no steps after an unknown objective", "bad-verification.yaml", []string{
			`bad-verification.yaml:36:54: spec.symptoms.checks[0].when.serviceAnswers.service: unknown service "checkout" in namespace "prod"`,
			`bad-verification.yaml:36:70: spec.symptoms.checks[0].when.serviceAnswers.path: must start with /, got "ready"`,
			`bad-verification.yaml:54:12: spec.verification.after: unknown objective "fixx" (did you mean "fix"?)`,
			"bad-verification.yaml:55:12: spec.verification.steps: at least one step is required: what exercises the fix",
			"bad-verification.yaml:58:7: spec.verification.again: attempts is 1: there is no second verification to run these steps",
			`bad-verification.yaml:61:50: spec.verification.watch.serviceAnswers.service: unknown service "checkout" in namespace "prod"`,
		}},
		{"objectives wait for each other", "after-cycle.yaml", []string{
			`after-cycle.yaml:46:14: spec.objectives[0].after: objectives wait for each other: fix → verify → fix`,
		}},
		{"several actions and an empty condition", "several-actions.yaml", []string{
			`several-actions.yaml:36:11: spec.symptoms.checks[0].when: empty condition: set exactly one of all, any, not, deployment, endpoints, event, exec, finding, hpa, iam, nodeGroup, nodes, object, pods, serviceAnswers, verification`,
			`several-actions.yaml:38:7: spec.steps[0]: several actions (cordonNodeGroup, sleep): set exactly one per step`,
			`several-actions.yaml:42:7: spec.steps[1].phase: setup step after a fault step; setup steps come first`,
		}},
		{"unknown variable", "unknown-variable.yaml", []string{
			`unknown-variable.yaml:31: spec.workloads[0]: unknown variable ${ECR_REGISTERY} (did you mean "ECR_REGISTRY"?); known: AWS_ACCOUNT_ID, AWS_REGION, CLUSTER_NAME, ECR_REGISTRY`,
		}},
		{"YAML syntax error", "syntax-error.yaml", []string{
			`syntax-error.yaml:34: invalid YAML: did not find expected node content`,
		}},
		{"node fault and config steps", "node-faults.yaml", []string{
			`node-faults.yaml:35:69: spec.steps[0].stopNode.index: node group ng-a has at most 1 node(s); there is no node 5`,
			`node-faults.yaml:35:83: spec.steps[0].stopNode.component: must be one of kubelet, runtime, got "containerd"`,
			`node-faults.yaml:36:58: spec.steps[1].startNode.nodeGroup: unknown node group "ng-b" (did you mean "ng-a"?)`,
			`node-faults.yaml:37:72: spec.steps[2].fillNodeDisk.size: not a quantity such as 14Gi: "lots"`,
			`node-faults.yaml:38:45: spec.steps[3].setConfig: set exactly one of configMap and secret`,
			`node-faults.yaml:38:97: spec.steps[3].setConfig.key: a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`,
		}},
		{"wrong fixes that prove nothing", "wrong-fixes.yaml", []string{
			`wrong-fixes.yaml:54:11: spec.wrongFixes[0].id: must be lowercase letters, digits and '-', got "Delete It"`,
			"wrong-fixes.yaml:58:16: spec.wrongFixes[0].observe: 10m is beyond the time limit 5m",
			`wrong-fixes.yaml:60:21: spec.wrongFixes[0].expect.penalties[0]: unknown penalty "delted" (did you mean "deleted"?)`,
			`wrong-fixes.yaml:61:22: spec.wrongFixes[0].expect.unachieved[0]: unknown objective "fixx" (did you mean "fix"?)`,
			`wrong-fixes.yaml:62:18: spec.wrongFixes[0].expect.outcome: must be one of completed, time-limit, got "gave-up"`,
			"wrong-fixes.yaml:63:16: spec.wrongFixes[0].expect.score: a wrong fix scores less than full marks (100) and not below 0, got 100",
			"wrong-fixes.yaml:66:14: spec.wrongFixes[1].steps: at least one step is required: what the responder does",
			"wrong-fixes.yaml:67:15: spec.wrongFixes[1].expect: nothing judges this fix wrong: expect a penalty, an unachieved objective, a score below 100 or a false positive",
			`wrong-fixes.yaml:68:11: spec.wrongFixes[2].id: duplicate wrong fix "nothing"`,
			"wrong-fixes.yaml:69:14: spec.wrongFixes[2].title: required field missing",
			"wrong-fixes.yaml:71:36: spec.wrongFixes[2].steps[0].run: required field missing",
			"wrong-fixes.yaml:73:9: spec.wrongFixes[2].expect: nothing judges this fix wrong: expect a penalty, an unachieved objective, a score below 100 or a false positive",
		}},
		{"timings no real cluster runs with", "timings.yaml", []string{
			"timings.yaml:13:24: spec.environment.cluster.timings.hpaSyncPeriod: 1s is outside what real clusters run kube-controller-manager --horizontal-pod-autoscaler-sync-period with: 5s to 1m",
			"timings.yaml:14:30: spec.environment.cluster.timings.crashLoopBackOffMax: 10m is outside what real clusters run kubelet crashLoopBackOff.maxContainerRestartPeriod with: 1s to 5m",
		}},
		{"node group problems", "node-group.yaml", []string{
			`node-group.yaml:10:12: spec.environment.infra: must be one of embedded, kind, got "kinder" (did you mean "kind"?)`,
			`node-group.yaml:17:19: spec.environment.nodeGroups[0].deferred: deferred node group "ng-a" is never created by a createNodeGroup step`,
			`node-group.yaml:18:17: spec.environment.nodeGroups[0].subnet: must be an IPv4 CIDR between /16 and /28, got "10.0.0.0/8x"`,
			`node-group.yaml:19:35: spec.environment.nodeGroups[0].taints[0].effect: must be one of NoSchedule, PreferNoSchedule, NoExecute, got "Sometimes"`,
		}},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		covered[tt.file] = true
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadFile(filepath.Join("testdata", "invalid", tt.file))
			if err == nil {
				t.Fatal("loaded without error")
			}
			if k := errkind.Of(err); k != errkind.Invalid {
				t.Errorf("error kind = %v, want invalid", k)
			}
			ve, ok := errors.AsType[*ValidationError](err)
			if !ok {
				t.Fatalf("error is %T, want *ValidationError: %v", err, err)
			}
			var got []string
			for _, fe := range ve.Errors {
				got = append(got, strings.TrimPrefix(fe.Error(), "testdata/invalid/"))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
	entries, err := os.ReadDir("testdata/invalid")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !covered[e.Name()] {
			t.Errorf("testdata/invalid/%s has no test case", e.Name())
		}
	}
}

func TestParseEdgeCases(t *testing.T) {
	const head = "apiVersion: gameday.dev/v1alpha1\nkind: Scenario\n"
	tests := []struct {
		name string
		yaml string
		want string // a substring of the error
	}{
		{"empty", "", "empty file"},
		{"not a mapping", "- a\n- b\n", "expected a mapping with apiVersion"},
		{"no apiVersion", "kind: Scenario\n", `apiVersion: required field missing`},
		{"wrong kind", "apiVersion: gameday.dev/v1alpha1\nkind: Scenaria\n", `unsupported kind "Scenaria"`},
		{"two documents", head + "---\n" + head, "holds one document"},
		{"duplicate key", head + "metadata: {name: a}\nmetadata: {name: b}\n", `duplicate field "metadata"`},
		{"bool expected", head + "spec:\n  environment:\n    nodeGroups: [{name: a, role: r, deferred: maybe}]\n", `deferred: expected true or false, got string "maybe"`},
		{"map expected", head + "spec: [1]\n", "spec: expected a mapping, got a list"},
		{"removed field timeScale", head + "spec:\n  environment: {timeScale: 0.5}\n", `unknown field "timeScale"`},
		{"alias bomb", head + aliasBomb(), "too many alias expansions"},
		{"non-string key", head + "metadata: {[a]: b}\n", "expected a field name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml), "t.yaml", nil, ".")
			if err == nil {
				t.Fatal("parsed without error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error does not mention %q:\n%v", tt.want, err)
			}
		})
	}
}

// aliasBomb builds a "billion laughs" document: nested aliases of
// conditions that would expand to 10^9 nodes.
func aliasBomb() string {
	var b strings.Builder
	b.WriteString("spec:\n  symptoms:\n    checks:\n")
	b.WriteString("      - name: c0\n        when: &a0 {all: [" + strings.Repeat("{exec: {command: [x]}}, ", 9) + "{exec: {command: [x]}}]}\n")
	for i := 1; i < 9; i++ {
		ref := fmt.Sprintf("*a%d", i-1)
		fmt.Fprintf(&b, "      - name: c%d\n        when: &a%d {all: [%s%s]}\n", i, i, strings.Repeat(ref+", ", 9), ref)
	}
	return b.String()
}

func TestExpand(t *testing.T) {
	s := &Scenario{}
	s.Spec.Environment.AWS = AWSAccount{AccountID: "111122223333", Region: "eu-west-1"}
	s.Spec.Environment.Cluster.Name = "lab"
	tests := []struct {
		name, in, want, wantErr string
		regexp                  bool
	}{
		{name: "registry", in: "${ECR_REGISTRY}/app:1", want: "111122223333.dkr.ecr.eu-west-1.amazonaws.com/app:1"},
		{name: "shell syntax untouched", in: "echo $HOME ${CLUSTER_NAME}", want: "echo $HOME lab"},
		{name: "unknown", in: "${NOPE}", wantErr: "unknown variable ${NOPE}"},
		{name: "quoted in regexp", in: "^${ECR_REGISTRY}/", want: `^111122223333\.dkr\.ecr\.eu-west-1\.amazonaws\.com/`, regexp: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expand := s.Expand
			if tt.regexp {
				expand = s.ExpandRegexp
			}
			got, err := expand(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestDidYouMean(t *testing.T) {
	tests := []struct {
		name, got string
		cands     []string
		want      string
	}{
		{"typo", "chekout", []string{"checkout", "cart"}, ` (did you mean "checkout"?)`},
		{"case", "Points", []string{"points"}, ` (did you mean "points"?)`},
		{"too far", "zzz", []string{"checkout"}, ""},
		{"no candidates", "a", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := didYouMean(tt.got, tt.cands); got != tt.want {
				t.Errorf("didYouMean(%q) = %q, want %q", tt.got, got, tt.want)
			}
		})
	}
}
