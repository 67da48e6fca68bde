package scenarios

// This file holds the wire types of apiVersion gameday.dev/v1alpha1,
// kind Scenario. Every field is documented here; docs/reference.md's scenario
// reference is generated from the same words. Fields are never repurposed:
// a field whose meaning must change is deprecated and a new one added.

import (
	"slices"

	"gopkg.in/yaml.v3"

	"github.com/gameday-sre/gameday/scenarios/behaviour"
)

// APIVersion is the only scenario API version this build reads.
const APIVersion = "gameday.dev/v1alpha1"

// KindScenario is the kind of a scenario document.
const KindScenario = "Scenario"

// Scenario is one incident: the environment to build, the fault to inject,
// the proof that it happened, and how the response is scored.
type Scenario struct {
	// APIVersion must be "gameday.dev/v1alpha1".
	APIVersion string `yaml:"apiVersion"`
	// Kind must be "Scenario".
	Kind string `yaml:"kind"`
	// Metadata names and classifies the scenario.
	Metadata Metadata `yaml:"metadata"`
	// Spec is the incident itself.
	Spec Spec `yaml:"spec"`

	// Source is where the scenario was loaded from; set by the loader, not
	// read from YAML.
	Source Source `yaml:"-"`
	// Variant is which of the scenario's variants this is (its seed and
	// the choices the seed made); set by the loader. Zero for a scenario
	// without parameters.
	Variant Choices `yaml:"-"`
	// usedParams are the parameters the scenario's text refers to.
	usedParams map[string]bool
	// origin is what a scenario with parameters was parsed from.
	origin *origin
}

// Metadata names and classifies a scenario.
type Metadata struct {
	// Name is the scenario's id: a DNS label (lowercase letters, digits,
	// '-'), unique in a library. Required.
	Name string `yaml:"name"`
	// Title is a one-line human title. Required.
	Title string `yaml:"title"`
	// Summary is a one-line description for listings, without spoilers.
	Summary string `yaml:"summary"`
	// Difficulty is one of beginner, intermediate, advanced. Default
	// intermediate.
	Difficulty string `yaml:"difficulty"`
	// Tags are free-form keywords for filtering (for example eks, iam).
	Tags []string `yaml:"tags"`
	// TimeLimit is how long the operator has after handover, as a Go
	// duration ("30m"). Default 30m.
	TimeLimit Duration `yaml:"timeLimit"`
}

// Spec is the body of a scenario.
type Spec struct {
	// Parameters make the scenario a family of variants. Each names a
	// choice a seed makes (gameday run --seed N), and the scenario's
	// text uses it anywhere as ${param.NAME}, or ${param.NAME.FIELD} for
	// a choice of several fields: names, values, which fault, which
	// decoys, in manifests, steps, conditions, causes, hints, the
	// briefing, the solution and the debrief. The same seed always makes
	// the same choices. The loader proves every variant valid (all of
	// them up to 64, else 64 of them). Optional.
	Parameters []Parameter `yaml:"parameters"`
	// Briefing is what the operator is told at handover, written the way
	// users report an incident: symptoms, not causes. Required.
	Briefing string `yaml:"briefing"`
	// Control marks a control scenario: no fault, a healthy cluster and
	// a vague report. It has no fault steps, and its one right answer is
	// the cause no-incident. The run is time-boxed: reaching the time
	// limit is a normal end, and a run that ends there earns the
	// no-incident objectives even if nobody claimed anything, so doing
	// nothing scores full marks. Every claim of a failure cause (an alert
	// that matches no cause included) is a false positive and costs
	// points from the whole score. Detection tooling runs a control to
	// count its false alarms.
	Control bool `yaml:"control"`
	// Environment is the cluster and AWS account to build.
	Environment Environment `yaml:"environment"`
	// Workloads are the Kubernetes manifests applied during setup (or by an
	// apply step when deferred).
	Workloads []Workload `yaml:"workloads"`
	// Steps are the ordered setup and fault actions. All setup steps come
	// before all fault steps.
	Steps []Step `yaml:"steps"`
	// Symptoms must all hold before the operator is handed the incident;
	// they prove the fault really happened.
	Symptoms Symptoms `yaml:"symptoms"`
	// Causes is the catalogue of root-cause ids an operator or a detector
	// may claim. It deliberately includes plausible wrong causes.
	Causes []Cause `yaml:"causes"`
	// AlertMatchers map alerts posted by a detector (Alertmanager webhook)
	// to cause ids, so that detection tooling is credited like an
	// operator's diagnosis. An alert that matches none is a false
	// positive.
	AlertMatchers []AlertMatcher `yaml:"alertMatchers"`
	// Objectives are what the operator is scored on.
	Objectives []Objective `yaml:"objectives"`
	// Verification is what gameday runs once the fix is in, to prove it
	// (a verification deploy watched for failed requests). Optional.
	Verification *Verification `yaml:"verification"`
	// Penalties cost points when their condition is observed.
	Penalties []Penalty `yaml:"penalties"`
	// Hints are revealed in order on request, each for a cost.
	Hints []Hint `yaml:"hints"`
	// Solution is the reference solution as ordered shell commands. They run
	// with KUBECONFIG and AWS_* set for the operator and with the scenario
	// variables (see Variables) exported.
	Solution []SolutionStep `yaml:"solution"`
	// WrongFixes are the tempting wrong answers, each with what must
	// follow it (penalties, objectives left unachieved, the outcome).
	// `gameday test` plays every one, so the scenario proves its own
	// penalties. Optional.
	WrongFixes []WrongFix `yaml:"wrongFixes"`
	// Debrief is Markdown shown after the run: root cause, learnings,
	// prevention.
	Debrief string `yaml:"debrief"`
}

// Parameter is one choice a seed makes. Exactly one of values and
// choices.
type Parameter struct {
	// Name is how the scenario refers to it: ${param.NAME}. Required,
	// unique: letters, digits and '_', starting with a letter.
	Name string `yaml:"name"`
	// Values are the choices, each one text.
	Values []string `yaml:"values"`
	// Choices are the choices when several facts go together (a
	// ConfigMap key and its bad value): each a mapping of field to value,
	// all with the same fields, referred to as ${param.NAME.FIELD}. A
	// field's value is text, or a YAML list or mapping (which decoys
	// appear, a role's inline policies) that replaces a scalar that is
	// the reference alone.
	Choices []map[string]ChoiceValue `yaml:"choices"`
}

// ChoiceValue is one field of a choice: text, or a YAML list or mapping.
type ChoiceValue struct {
	// Text is the value as text: a scalar's, or a list's or mapping's as
	// flow YAML (how the journal and the facilitator show it).
	Text string
	// node is the list or mapping; nil for text.
	node *yaml.Node
}

// Choices are what a seed chose of a scenario's parameters: which
// variant of the scenario it is.
type Choices struct {
	// Seed made the choices.
	Seed uint64
	// Values are the chosen values by reference, as text: "namespace"
	// for ${param.namespace}, "config.key" for ${param.config.key}.
	Values map[string]string
	// nodes are the chosen lists and mappings by reference.
	nodes map[string]*yaml.Node
}

// Source records where a scenario came from.
type Source struct {
	// File is the scenario file's path as given (or "builtin:<path>").
	File string
	// Builtin is true for scenarios embedded in the binary.
	Builtin bool
}

// Environment is the cluster and AWS account a scenario runs in.
type Environment struct {
	// Infra is the backend the scenario is meant for: embedded (an
	// in-process cluster, no Docker) or kind (real containers; needs a
	// Docker engine). Empty means either. gameday run --infra overrides
	// it.
	Infra string `yaml:"infra"`
	// AWS is the emulated account.
	AWS AWSAccount `yaml:"aws"`
	// Cluster is the EKS cluster.
	Cluster Cluster `yaml:"cluster"`
	// IAM holds the roles node groups use.
	IAM IAM `yaml:"iam"`
	// NodeGroups are EKS managed node groups. Those not deferred exist at
	// provision time.
	NodeGroups []NodeGroup `yaml:"nodeGroups"`
	// ECR holds the private repositories and their images.
	ECR ECR `yaml:"ecr"`
	// Namespaces are created during setup, before workloads.
	Namespaces []string `yaml:"namespaces"`
}

// AWSAccount identifies the emulated AWS account.
type AWSAccount struct {
	// AccountID is the 12-digit account id. Default 123456789012 (moto's).
	AccountID string `yaml:"accountId"`
	// Region is the AWS region. Default us-east-1.
	Region string `yaml:"region"`
}

// Cluster describes the EKS cluster.
type Cluster struct {
	// Name is the EKS cluster name. Required.
	Name string `yaml:"name"`
	// Version is the Kubernetes version EKS reports, informational.
	// Default "1.32".
	Version string `yaml:"version"`
	// Addons are EKS add-ons installed besides the defaults:
	// metrics-server (the metrics.k8s.io API, for kubectl top and
	// HorizontalPodAutoscalers; embedded backend only, for now).
	Addons []string `yaml:"addons"`
	// Timings are the control-plane and kubelet periods of this
	// cluster, within what real clusters run with. Optional.
	Timings Timings `yaml:"timings"`
}

// AddonMetricsServer is the metrics-server add-on.
const AddonMetricsServer = "metrics-server"

// Addons are the add-ons a scenario may ask for.
var Addons = []string{AddonMetricsServer}

// HasAddon says whether the cluster has the named add-on.
func (c Cluster) HasAddon(name string) bool { return slices.Contains(c.Addons, name) }

// IAM holds IAM objects of the scenario.
type IAM struct {
	// Policies are customer managed policies of the account, created
	// before the roles so that a role can name one as its permissions
	// boundary.
	Policies []ManagedPolicy `yaml:"policies"`
	// Roles are IAM roles, typically node roles.
	Roles []Role `yaml:"roles"`
}

// ManagedPolicy is a customer managed IAM policy
// (arn:aws:iam::ACCOUNT:policy/NAME).
type ManagedPolicy struct {
	// Name is the policy name. Required, unique.
	Name string `yaml:"name"`
	// Description is the policy's IAM description.
	Description string `yaml:"description"`
	// Document is the policy document (its version v1).
	Document PolicyDocument `yaml:"document"`
}

// Role is an IAM role.
type Role struct {
	// Name is the role name. Required, unique.
	Name string `yaml:"name"`
	// Description is the role's IAM description.
	Description string `yaml:"description"`
	// AssumedBy are the service principals in the trust policy. Default
	// [ec2.amazonaws.com].
	AssumedBy []string `yaml:"assumedBy"`
	// ManagedPolicies are attached managed policies, as ARNs
	// ("arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy") or as bare AWS
	// managed policy names, which the defaults expand to ARNs.
	ManagedPolicies []string `yaml:"managedPolicies"`
	// InlinePolicies are inline policies embedded in the role.
	InlinePolicies []InlinePolicy `yaml:"inlinePolicies"`
	// PermissionsBoundary names a policy of environment.iam.policies that
	// caps what the role may do: an action is allowed only where the
	// role's policies and the boundary both allow it. Empty: no boundary.
	PermissionsBoundary string `yaml:"permissionsBoundary"`
}

// InlinePolicy is a named inline IAM policy.
type InlinePolicy struct {
	// Name is the policy name. Required, unique per role.
	Name string `yaml:"name"`
	// Document is the policy document.
	Document PolicyDocument `yaml:"document"`
}

// PolicyDocument is an IAM policy document written as YAML.
type PolicyDocument struct {
	// Version is the policy language version. Default "2012-10-17".
	Version string `yaml:"Version"`
	// Statement lists the policy's statements. At least one.
	Statement []Statement `yaml:"Statement"`
}

// Statement is one IAM policy statement. Exactly one of Action and
// NotAction, and one of Resource and NotResource, is set.
type Statement struct {
	// Sid is an optional statement id.
	Sid string `yaml:"Sid"`
	// Effect is Allow or Deny.
	Effect string `yaml:"Effect"`
	// Action lists actions ("ecr:BatchGetImage", wildcards allowed).
	Action StringList `yaml:"Action"`
	// NotAction lists actions the statement does not apply to.
	NotAction StringList `yaml:"NotAction"`
	// Resource lists resource ARNs (wildcards allowed).
	Resource StringList `yaml:"Resource"`
	// NotResource lists resources the statement does not apply to.
	NotResource StringList `yaml:"NotResource"`
}

// NodeGroup is an EKS managed node group.
type NodeGroup struct {
	// Name is the node group name, unique. Required.
	Name string `yaml:"name"`
	// Role is the name of the IAM role in environment.iam.roles the nodes
	// run as. Required.
	Role string `yaml:"role"`
	// Size is the number of nodes. Default 2.
	Size int `yaml:"size"`
	// InstanceType is the EC2 instance type label. Default m5.large.
	InstanceType string `yaml:"instanceType"`
	// CapacityType is ON_DEMAND or SPOT. Default ON_DEMAND.
	CapacityType string `yaml:"capacityType"`
	// Zone is the availability zone. Default <region>a.
	Zone string `yaml:"zone"`
	// Subnet is the IPv4 CIDR node addresses are taken from. Default
	// 10.0.<index+1>.0/24.
	Subnet string `yaml:"subnet"`
	// Labels are extra node labels; the EKS labels are always set.
	Labels map[string]string `yaml:"labels"`
	// Taints are node taints.
	Taints []Taint `yaml:"taints"`
	// Deferred groups do not exist at provision time; a createNodeGroup
	// step brings them up.
	Deferred bool `yaml:"deferred"`
}

// Taint is a Kubernetes node taint.
type Taint struct {
	// Key is the taint key. Required.
	Key string `yaml:"key"`
	// Value is the taint value.
	Value string `yaml:"value"`
	// Effect is NoSchedule, PreferNoSchedule or NoExecute. Required.
	Effect string `yaml:"effect"`
}

// ECR holds private ECR repositories.
type ECR struct {
	// Repositories are created during setup with their images pushed.
	Repositories []Repository `yaml:"repositories"`
}

// Repository is a private ECR repository.
type Repository struct {
	// Name is the repository name ("shop/checkout"). Required, unique.
	Name string `yaml:"name"`
	// Images are pushed at setup.
	Images []Image `yaml:"images"`
}

// Image is a small image built in-process with real layers.
type Image struct {
	// Tag is the image tag. Required, unique per repository.
	Tag string `yaml:"tag"`
	// Layers is the number of layers. Default 2.
	Layers int `yaml:"layers"`
	// Behaviour is how the image's app behaves when it runs: what it
	// reads, how it starts, what it needs and uses, how it stops. Without
	// one the app starts at once, stays up and logs one start line.
	Behaviour *behaviour.App `yaml:"behaviour"`
}

// Workload is a set of Kubernetes manifests.
type Workload struct {
	// Name identifies the workload for apply steps. Required, unique.
	Name string `yaml:"name"`
	// Path is a YAML file (several documents allowed) relative to the
	// scenario file. Exactly one of Path and Inline.
	Path string `yaml:"path"`
	// Inline is YAML manifest text (several documents allowed).
	Inline string `yaml:"inline"`
	// Deferred workloads are applied by an apply step, not at setup.
	Deferred bool `yaml:"deferred"`

	// Objects are the parsed manifests, in document order; set by the
	// loader, not read from YAML.
	Objects []Object `yaml:"-"`
}

// ObjectRef names one Kubernetes object.
type ObjectRef struct {
	// APIVersion is the object's API version, for example apps/v1.
	// Required.
	APIVersion string `yaml:"apiVersion"`
	// Kind is the object's kind, for example Deployment. Required.
	Kind string `yaml:"kind"`
	// Namespace is empty for cluster-scoped objects.
	Namespace string `yaml:"namespace"`
	// Name is the object's name. Required.
	Name string `yaml:"name"`
}

// Symptoms are the proof that the fault happened.
type Symptoms struct {
	// Timeout is how long the symptom gate waits for every check to hold.
	// Default 3m.
	Timeout Duration `yaml:"timeout"`
	// Checks must all hold at the same time. At least one.
	Checks []Check `yaml:"checks"`
}

// Check is a named condition.
type Check struct {
	// Name identifies the check in output. Required, unique.
	Name string `yaml:"name"`
	// When is the condition.
	When Condition `yaml:"when"`
}

// Cause is an entry in the root-cause catalogue.
type Cause struct {
	// ID is the cause id used in findings ("node-role-missing-ecr-read").
	// Required, unique.
	ID string `yaml:"id"`
	// Summary is a one-line description shown by `gameday causes`.
	// Required.
	Summary string `yaml:"summary"`
}

// AlertMatcher maps matching alerts to a cause. Every set field must
// match.
type AlertMatcher struct {
	// Cause is the cause id from spec.causes the alert claims. Required.
	Cause string `yaml:"cause"`
	// AlertName is the alert's alertname label, exactly. Required.
	AlertName string `yaml:"alertName"`
	// Labels maps label names to regular expressions the alert's labels
	// must match (scenario variables are inserted quoted).
	Labels map[string]string `yaml:"labels"`
	// Annotations maps annotation names to regular expressions.
	Annotations map[string]string `yaml:"annotations"`
	// Resource is a template for the finding's resource, with {{label}}
	// replaced by the alert's label values ("{{namespace}}/{{pod}}").
	// Default "{{namespace}}/{{pod}}".
	Resource string `yaml:"resource"`
}

// Objective is something the operator is scored on.
type Objective struct {
	// ID is the objective's id. Required, unique.
	ID string `yaml:"id"`
	// Title is shown to the operator before and during the run, so it
	// must not give the answer away. Required.
	Title string `yaml:"title"`
	// Category is detect, rootCause, fix, restart, recover or other.
	// Required.
	Category string `yaml:"category"`
	// Points awarded when achieved within Target. Required, > 0.
	Points int `yaml:"points"`
	// Target is the time after handover within which full points are
	// awarded. Default: the scenario time limit.
	Target Duration `yaml:"target"`
	// After lists objective ids that must be achieved first; the objective
	// only counts if its condition holds after all of them were achieved.
	After []string `yaml:"after"`
	// Hidden objectives are not shown by `gameday status` until achieved.
	Hidden bool `yaml:"hidden"`
	// When is the condition that achieves the objective.
	When Condition `yaml:"when"`
}

// Penalty costs points when its condition is observed after handover.
type Penalty struct {
	// ID is the penalty's id. Required, unique.
	ID string `yaml:"id"`
	// Title is shown in reports. Required.
	Title string `yaml:"title"`
	// Points subtracted when observed. Required, > 0.
	Points int `yaml:"points"`
	// Explain says why this costs points; shown in the debrief.
	Explain string `yaml:"explain"`
	// When is the condition.
	When Condition `yaml:"when"`
}

// Hint is revealed on request.
type Hint struct {
	// Text is the hint. Required.
	Text string `yaml:"text"`
	// Cost in points. 0 or more.
	Cost int `yaml:"cost"`
	// Objective optionally names the objective this hint helps with.
	Objective string `yaml:"objective"`
}

// SolutionStep is one command of the reference solution.
type SolutionStep struct {
	// Description says what the command is for. Required.
	Description string `yaml:"description"`
	// Run is a bash command line. Required.
	Run string `yaml:"run"`
}
