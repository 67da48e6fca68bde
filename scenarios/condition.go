package scenarios

// Condition is a typed predicate over the cluster, the AWS account and the
// run's findings. Exactly one field is set. All, Any and Not combine other
// conditions; each other field is a leaf checked by package verify.
//
// New leaf kinds are added as new optional fields, so the schema grows
// without breaking existing scenarios.
type Condition struct {
	// All holds when every listed condition holds.
	All []Condition `yaml:"all"`
	// Any holds when at least one listed condition holds.
	Any []Condition `yaml:"any"`
	// Not holds when its condition does not.
	Not *Condition `yaml:"not"`

	// Pods counts pods that match every given predicate.
	Pods *PodsCondition `yaml:"pods"`
	// Deployment checks one Deployment.
	Deployment *DeploymentCondition `yaml:"deployment"`
	// Endpoints counts a Service's ready endpoint addresses (from
	// EndpointSlices).
	Endpoints *EndpointsCondition `yaml:"endpoints"`
	// Nodes counts nodes that match every given predicate.
	Nodes *NodesCondition `yaml:"nodes"`
	// NodeGroup checks a node group's existence and size.
	NodeGroup *NodeGroupCondition `yaml:"nodeGroup"`
	// Event counts Kubernetes events that match.
	Event *EventCondition `yaml:"event"`
	// IAM checks an IAM role's policies.
	IAM *IAMCondition `yaml:"iam"`
	// Finding holds when a root-cause claim matching it was recorded.
	Finding *FindingCondition `yaml:"finding"`
	// Object checks any Kubernetes object by JSONPath.
	Object *ObjectCondition `yaml:"object"`
	// Exec runs a command and checks its exit code (escape hatch).
	Exec *ExecCondition `yaml:"exec"`
}

// Count bounds a number. With neither bound set it means "at least 1".
type Count struct {
	// AtLeast is the inclusive lower bound.
	AtLeast *int `yaml:"atLeast"`
	// AtMost is the inclusive upper bound.
	AtMost *int `yaml:"atMost"`
}

// PodsCondition counts pods in a namespace.
type PodsCondition struct {
	// Namespace of the pods. Required.
	Namespace string `yaml:"namespace"`
	// Selector is a label selector (matchLabels form).
	Selector map[string]string `yaml:"selector"`
	// NodeGroup restricts to pods bound to nodes of this group.
	NodeGroup string `yaml:"nodeGroup"`
	// Phase is Pending, Running, Succeeded, Failed or Unknown.
	Phase string `yaml:"phase"`
	// WaitingReason matches any container's waiting reason
	// (ErrImagePull, ImagePullBackOff, CrashLoopBackOff, ...); several
	// reasons separated by | match any of them
	// (ErrImagePull|ImagePullBackOff).
	WaitingReason string `yaml:"waitingReason"`
	// Ready matches the pod's Ready condition.
	Ready *bool `yaml:"ready"`
	// RestartsAtLeast matches pods with a container restarted at least this
	// often.
	RestartsAtLeast *int `yaml:"restartsAtLeast"`
	// Count bounds the number of matching pods. Default at least 1.
	Count Count `yaml:"count"`
}

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
	// happened after that objective was achieved.
	RestartedAfter string `yaml:"restartedAfter"`
	// ImagePullSecrets: the pod template has imagePullSecrets.
	ImagePullSecrets *bool `yaml:"imagePullSecrets"`
	// ImageMatches is a regular expression every container image of the
	// pod template must match. Scenario variables are inserted quoted, so
	// "^${ECR_REGISTRY}/" matches the registry host literally.
	ImageMatches string `yaml:"imageMatches"`
}

// EndpointsCondition counts ready addresses behind a Service.
type EndpointsCondition struct {
	// Namespace of the Service. Required.
	Namespace string `yaml:"namespace"`
	// Service name. Required.
	Service string `yaml:"service"`
	// Ready bounds the number of ready addresses. Default at least 1.
	Ready Count `yaml:"ready"`
}

// NodesCondition counts nodes.
type NodesCondition struct {
	// NodeGroup restricts to nodes of this group.
	NodeGroup string `yaml:"nodeGroup"`
	// Ready matches the node's Ready condition.
	Ready *bool `yaml:"ready"`
	// Schedulable matches !spec.unschedulable.
	Schedulable *bool `yaml:"schedulable"`
	// ConditionType with ConditionStatus matches a node condition, for
	// example DiskPressure True.
	ConditionType string `yaml:"conditionType"`
	// ConditionStatus is True, False or Unknown. Default True.
	ConditionStatus string `yaml:"conditionStatus"`
	// Count bounds the number of matching nodes. Default at least 1.
	Count Count `yaml:"count"`
}

// NodeGroupCondition checks a node group.
type NodeGroupCondition struct {
	// Name of the node group. Required.
	Name string `yaml:"name"`
	// Exists checks that the group exists (or, false, that it was
	// deleted).
	Exists *bool `yaml:"exists"`
	// Size bounds the group's desired size.
	Size *Count `yaml:"size"`
}

// EventCondition counts Kubernetes events.
type EventCondition struct {
	// Namespace of the events. Required.
	Namespace string `yaml:"namespace"`
	// InvolvedKind is the involved object's kind, for example Pod.
	InvolvedKind string `yaml:"involvedKind"`
	// InvolvedName is a regular expression on the involved object's name.
	InvolvedName string `yaml:"involvedName"`
	// Type is Normal or Warning.
	Type string `yaml:"type"`
	// Reason is the event reason, for example Failed or BackOff.
	Reason string `yaml:"reason"`
	// Message is a regular expression on the event message.
	Message string `yaml:"message"`
	// Count bounds the number of matching events (by occurrences).
	// Default at least 1.
	Count Count `yaml:"count"`
}

// IAMCondition checks an IAM role. Every set predicate must hold.
type IAMCondition struct {
	// Role name. Required.
	Role string `yaml:"role"`
	// HasPolicy: this managed policy (ARN or AWS managed name) is attached.
	HasPolicy string `yaml:"hasPolicy"`
	// HasAnyPolicy: at least one of these managed policies is attached.
	HasAnyPolicy []string `yaml:"hasAnyPolicy"`
	// Allows: the role's attached and inline policies allow every listed
	// action on Resource (explicit deny wins).
	Allows *Permission `yaml:"allows"`
	// GrantsWildcard: some Allow statement of the role lists this action
	// pattern literally (for example "ecr:*" or "*").
	GrantsWildcard string `yaml:"grantsWildcard"`
}

// Permission is a set of actions on a resource.
type Permission struct {
	// Actions are concrete action names. At least one.
	Actions []string `yaml:"actions"`
	// Resource is a resource ARN. Default "*".
	Resource string `yaml:"resource"`
}

// FindingCondition matches root-cause claims recorded during the run.
type FindingCondition struct {
	// Cause is a cause id from spec.causes. Required.
	Cause string `yaml:"cause"`
	// Resource is a regular expression the claim's resource must match;
	// scenario variables are inserted quoted. Empty matches any.
	Resource string `yaml:"resource"`
	// Source is operator, detector or any. Default any.
	Source string `yaml:"source"`
}

// ObjectCondition checks any Kubernetes object.
type ObjectCondition struct {
	// APIVersion of the object, for example v1. Required.
	APIVersion string `yaml:"apiVersion"`
	// Kind of the object, for example ConfigMap. Required.
	Kind string `yaml:"kind"`
	// Namespace is empty for cluster-scoped objects.
	Namespace string `yaml:"namespace"`
	// Name of the object. Required.
	Name string `yaml:"name"`
	// Exists checks existence (default true).
	Exists *bool `yaml:"exists"`
	// JSONPath selects a value, in kubectl's JSONPath syntax
	// ("{.data.LOG_LEVEL}").
	JSONPath string `yaml:"jsonPath"`
	// Equals compares the selected value as a string.
	Equals *string `yaml:"equals"`
	// Matches is a regular expression on the selected value.
	Matches string `yaml:"matches"`
}

// ExecCondition runs a command.
type ExecCondition struct {
	// Command is the argv. Scenario variables are expanded. Required.
	Command []string `yaml:"command"`
	// ExitCode is the exit code that makes the condition hold. Default 0.
	ExitCode int `yaml:"exitCode"`
	// Timeout bounds one run. Default 10s.
	Timeout Duration `yaml:"timeout"`
}
