package aws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	ecrreg "github.com/gameday-sre/gameday/infra/ecr"
	gdeks "github.com/gameday-sre/gameday/internal/domain/eks"
	"github.com/gameday-sre/gameday/internal/domain/iampolicy"
	"github.com/gameday-sre/gameday/scenarios"
)

// Account applies and changes a scenario's AWS objects as gameday's admin
// user.
type Account struct {
	emu     *Emulator
	cfg     aws.Config
	iam     *iam.Client
	eks     *eks.Client
	ecr     *ecr.Client
	cluster string
	runID   string
	subnets []string
}

// NewAccount returns an Account for the emulator's admin credentials.
func NewAccount(emu *Emulator, cluster, runID string) *Account {
	cfg := emu.Config(emu.Admin)
	return &Account{
		emu: emu, cfg: cfg, cluster: cluster, runID: runID,
		iam: iam.NewFromConfig(cfg), eks: eks.NewFromConfig(cfg), ecr: ecr.NewFromConfig(cfg),
	}
}

// RoleARN returns the ARN of a role in the account.
func (a *Account) RoleARN(role string) string {
	return fmt.Sprintf("arn:aws:iam::%s:role/%s", a.emu.AccountID, role)
}

// UserARN returns the ARN of an IAM user in the account.
func (a *Account) UserARN(user string) string {
	return fmt.Sprintf("arn:aws:iam::%s:user/%s", a.emu.AccountID, user)
}

// GrantClusterAccess gives an IAM principal an access entry on the
// cluster, as `aws eks create-access-entry` does: Kubernetes username
// and groups, and no access policy (the groups' RBAC decides).
func (a *Account) GrantClusterAccess(ctx context.Context, principalARN, username string, groups []string) error {
	_, err := a.eks.CreateAccessEntry(ctx, &eks.CreateAccessEntryInput{
		ClusterName:      aws.String(a.cluster),
		PrincipalArn:     aws.String(principalARN),
		Username:         aws.String(username),
		KubernetesGroups: groups,
		Tags:             map[string]string{gdeks.RunIDLabel: a.runID},
	})
	if err != nil {
		return fmt.Errorf("create access entry for %s: %w", principalARN, err)
	}
	return nil
}

// RepositoryARN returns the ARN of an ECR repository.
func (a *Account) RepositoryARN(repo string) string {
	return fmt.Sprintf("arn:aws:ecr:%s:%s:repository/%s", a.emu.Region, a.emu.AccountID, repo)
}

// trustPolicy lets EC2 (the nodes) assume a role, and gameday's admin,
// which assumes node roles to judge their pulls. moto fails AssumeRole on
// a statement with only a Service principal, so the admin is named in the
// same statement.
func (a *Account) trustPolicy(services []string) string {
	doc := map[string]any{
		"Version": "2012-10-17",
		"Statement": []map[string]any{{
			"Effect": "Allow",
			"Principal": map[string]any{
				"Service": services,
				"AWS":     fmt.Sprintf("arn:aws:iam::%s:user/%s", a.emu.AccountID, AdminUser),
			},
			"Action": "sts:AssumeRole",
		}},
	}
	b, _ := json.Marshal(doc)
	return string(b)
}

func (a *Account) tags() []iamtypes.Tag {
	return []iamtypes.Tag{{Key: aws.String(gdeks.RunIDLabel), Value: aws.String(a.runID)}}
}

// Setup creates the scenario's roles, the EKS cluster with its initial
// node groups, and the ECR repositories. Images are pushed with PutImage.
func (a *Account) Setup(ctx context.Context, env scenarios.Environment) error {
	for _, p := range env.IAM.Policies {
		if err := a.CreatePolicy(ctx, p); err != nil {
			return err
		}
	}
	for _, r := range env.IAM.Roles {
		if err := a.CreateRole(ctx, r); err != nil {
			return err
		}
	}
	clusterRole := scenarios.Role{
		Name:            env.Cluster.Name + "-cluster-role",
		AssumedBy:       []string{"eks.amazonaws.com"},
		ManagedPolicies: []string{scenarios.PolicyARN("AmazonEKSClusterPolicy")},
	}
	if err := a.CreateRole(ctx, clusterRole); err != nil {
		return err
	}
	for i := range env.NodeGroups {
		a.subnets = append(a.subnets, subnetID(env.NodeGroups[i].Subnet))
	}
	_, err := a.eks.CreateCluster(ctx, &eks.CreateClusterInput{
		Name:               aws.String(env.Cluster.Name),
		Version:            aws.String(env.Cluster.Version),
		RoleArn:            aws.String(a.RoleARN(clusterRole.Name)),
		ResourcesVpcConfig: &ekstypes.VpcConfigRequest{SubnetIds: a.subnets},
		Tags:               map[string]string{gdeks.RunIDLabel: a.runID},
		// As EKS creates clusters today: access entries and aws-auth both
		// count, and the creator (gameday) is a cluster administrator.
		AccessConfig: &ekstypes.CreateAccessConfigRequest{
			AuthenticationMode:                      ekstypes.AuthenticationModeApiAndConfigMap,
			BootstrapClusterCreatorAdminPermissions: aws.Bool(true),
		},
	})
	if err != nil {
		return fmt.Errorf("create EKS cluster %s: %w", env.Cluster.Name, err)
	}
	for _, ng := range env.NodeGroups {
		if !ng.Deferred {
			if err := a.CreateNodegroup(ctx, ng); err != nil {
				return err
			}
		}
	}
	for _, r := range env.ECR.Repositories {
		_, err := a.ecr.CreateRepository(ctx, &ecr.CreateRepositoryInput{
			RepositoryName: aws.String(r.Name),
			Tags:           []ecrtypes.Tag{{Key: aws.String(gdeks.RunIDLabel), Value: aws.String(a.runID)}},
		})
		if err != nil {
			return fmt.Errorf("create ECR repository %s: %w", r.Name, err)
		}
	}
	return nil
}

// PolicyARN returns the ARN of a customer managed policy in the account.
func (a *Account) PolicyARN(name string) string {
	return fmt.Sprintf("arn:aws:iam::%s:policy/%s", a.emu.AccountID, name)
}

// CreatePolicy creates a customer managed policy.
func (a *Account) CreatePolicy(ctx context.Context, p scenarios.ManagedPolicy) error {
	b, err := json.Marshal(policyJSON(p.Document))
	if err != nil {
		return err
	}
	in := &iam.CreatePolicyInput{PolicyName: aws.String(p.Name), PolicyDocument: aws.String(string(b)), Tags: a.tags()}
	if p.Description != "" {
		in.Description = aws.String(p.Description)
	}
	if _, err := a.iam.CreatePolicy(ctx, in); err != nil {
		return fmt.Errorf("create policy %s: %w", p.Name, err)
	}
	return nil
}

// CreateRole creates a role with its trust policy, policies and
// permissions boundary.
func (a *Account) CreateRole(ctx context.Context, r scenarios.Role) error {
	in := &iam.CreateRoleInput{
		RoleName:                 aws.String(r.Name),
		Description:              aws.String(r.Description),
		AssumeRolePolicyDocument: aws.String(a.trustPolicy(r.AssumedBy)),
		Tags:                     a.tags(),
	}
	if r.PermissionsBoundary != "" {
		in.PermissionsBoundary = aws.String(a.PolicyARN(r.PermissionsBoundary))
	}
	_, err := a.iam.CreateRole(ctx, in)
	if err != nil {
		return fmt.Errorf("create role %s: %w", r.Name, err)
	}
	for _, p := range r.ManagedPolicies {
		if err := a.AttachRolePolicy(ctx, r.Name, p); err != nil {
			return err
		}
	}
	for _, p := range r.InlinePolicies {
		if err := a.PutRolePolicy(ctx, r.Name, p.Name, p.Document); err != nil {
			return err
		}
	}
	return nil
}

// AttachRolePolicy attaches a managed policy.
func (a *Account) AttachRolePolicy(ctx context.Context, role, policyARN string) error {
	if _, err := a.iam.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(role), PolicyArn: aws.String(policyARN)}); err != nil {
		return fmt.Errorf("attach %s to %s: %w", policyARN, role, err)
	}
	return nil
}

// DetachRolePolicy detaches a managed policy.
func (a *Account) DetachRolePolicy(ctx context.Context, role, policyARN string) error {
	if _, err := a.iam.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String(role), PolicyArn: aws.String(policyARN)}); err != nil {
		return fmt.Errorf("detach %s from %s: %w", policyARN, role, err)
	}
	return nil
}

// PutRolePolicy adds or replaces an inline policy.
func (a *Account) PutRolePolicy(ctx context.Context, role, name string, doc scenarios.PolicyDocument) error {
	b, err := json.Marshal(policyJSON(doc))
	if err != nil {
		return err
	}
	if _, err := a.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(name), PolicyDocument: aws.String(string(b))}); err != nil {
		return fmt.Errorf("put inline policy %s on %s: %w", name, role, err)
	}
	return nil
}

// DeleteRolePolicy removes an inline policy.
func (a *Account) DeleteRolePolicy(ctx context.Context, role, name string) error {
	if _, err := a.iam.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(name)}); err != nil {
		return fmt.Errorf("delete inline policy %s from %s: %w", name, role, err)
	}
	return nil
}

// policyJSON converts a scenario policy document to IAM's JSON form.
func policyJSON(d scenarios.PolicyDocument) iampolicy.Document {
	out := iampolicy.Document{Version: d.Version}
	for _, st := range d.Statement {
		out.Statement = append(out.Statement, iampolicy.Statement{
			Sid: st.Sid, Effect: st.Effect,
			Action: iampolicy.List(st.Action), NotAction: iampolicy.List(st.NotAction),
			Resource: iampolicy.List(st.Resource), NotResource: iampolicy.List(st.NotResource),
		})
	}
	return out
}

// CreateNodegroup registers a managed node group with EKS.
func (a *Account) CreateNodegroup(ctx context.Context, ng scenarios.NodeGroup) error {
	in := &eks.CreateNodegroupInput{
		ClusterName:   aws.String(a.cluster),
		NodegroupName: aws.String(ng.Name),
		NodeRole:      aws.String(a.RoleARN(ng.Role)),
		Subnets:       []string{subnetID(ng.Subnet)},
		InstanceTypes: []string{ng.InstanceType},
		CapacityType:  ekstypes.CapacityTypes(ng.CapacityType),
		AmiType:       ekstypes.AMITypesAl2023X8664Standard,
		Labels:        ng.Labels,
		ScalingConfig: &ekstypes.NodegroupScalingConfig{
			MinSize: aws.Int32(0), MaxSize: aws.Int32(int32(max(ng.Size, 1) * 2)), DesiredSize: aws.Int32(int32(ng.Size)),
		},
		Tags: map[string]string{gdeks.RunIDLabel: a.runID},
	}
	for _, t := range ng.Taints {
		in.Taints = append(in.Taints, ekstypes.Taint{Key: aws.String(t.Key), Value: aws.String(t.Value), Effect: taintEffect(t.Effect)})
	}
	if _, err := a.eks.CreateNodegroup(ctx, in); err != nil {
		return fmt.Errorf("create node group %s: %w", ng.Name, err)
	}
	return nil
}

func taintEffect(k8s string) ekstypes.TaintEffect {
	switch k8s {
	case "NoExecute":
		return ekstypes.TaintEffectNoExecute
	case "PreferNoSchedule":
		return ekstypes.TaintEffectPreferNoSchedule
	default:
		return ekstypes.TaintEffectNoSchedule
	}
}

// ScaleNodegroup sets a node group's desired size.
func (a *Account) ScaleNodegroup(ctx context.Context, name string, size int) error {
	_, err := a.eks.UpdateNodegroupConfig(ctx, &eks.UpdateNodegroupConfigInput{
		ClusterName: aws.String(a.cluster), NodegroupName: aws.String(name),
		ScalingConfig: &ekstypes.NodegroupScalingConfig{DesiredSize: aws.Int32(int32(size)), MinSize: aws.Int32(0), MaxSize: aws.Int32(int32(max(size, 1) * 2))},
	})
	if err != nil {
		return fmt.Errorf("scale node group %s: %w", name, err)
	}
	return nil
}

// DeleteNodegroup deletes a node group from EKS.
func (a *Account) DeleteNodegroup(ctx context.Context, name string) error {
	if _, err := a.eks.DeleteNodegroup(ctx, &eks.DeleteNodegroupInput{ClusterName: aws.String(a.cluster), NodegroupName: aws.String(name)}); err != nil {
		return fmt.Errorf("delete node group %s: %w", name, err)
	}
	return nil
}

// NodegroupRole returns the role name of a node group, as EKS reports it.
func (a *Account) NodegroupRole(ctx context.Context, group string) (string, error) {
	out, err := a.eks.DescribeNodegroup(ctx, &eks.DescribeNodegroupInput{ClusterName: aws.String(a.cluster), NodegroupName: aws.String(group)})
	if err != nil {
		return "", fmt.Errorf("describe node group %s: %w", group, err)
	}
	arn := aws.ToString(out.Nodegroup.NodeRole)
	return arn[strings.LastIndex(arn, "/")+1:], nil
}

// NodegroupSize returns a node group's desired size and whether it
// exists.
func (a *Account) NodegroupSize(ctx context.Context, name string) (int, bool, error) {
	out, err := a.eks.DescribeNodegroup(ctx, &eks.DescribeNodegroupInput{ClusterName: aws.String(a.cluster), NodegroupName: aws.String(name)})
	if err != nil {
		var nf *ekstypes.ResourceNotFoundException
		if errors.As(err, &nf) {
			return 0, false, nil
		}
		return 0, false, fmt.Errorf("describe node group %s: %w", name, err)
	}
	if out.Nodegroup.Status == ekstypes.NodegroupStatusDeleting {
		return 0, false, nil
	}
	size := 0
	if sc := out.Nodegroup.ScalingConfig; sc != nil && sc.DesiredSize != nil {
		size = int(*sc.DesiredSize)
	}
	return size, true, nil
}

// PutImage records a pushed image in ECR, so that describe-images lists
// its tag and digest.
func (a *Account) PutImage(ctx context.Context, repo, tag string, manifest []byte, mediaType string) error {
	_, err := a.ecr.PutImage(ctx, &ecr.PutImageInput{
		RepositoryName: aws.String(repo), ImageTag: aws.String(tag),
		ImageManifest: aws.String(string(manifest)), ImageManifestMediaType: aws.String(mediaType),
	})
	if err != nil {
		return fmt.Errorf("put image %s:%s: %w", repo, tag, err)
	}
	return nil
}

// BatchDeleteImage deletes a tag from ECR.
func (a *Account) BatchDeleteImage(ctx context.Context, repo, tag string) error {
	_, err := a.ecr.BatchDeleteImage(ctx, &ecr.BatchDeleteImageInput{RepositoryName: aws.String(repo), ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String(tag)}}})
	if err != nil {
		return fmt.Errorf("delete image %s:%s: %w", repo, tag, err)
	}
	return nil
}

// RolePolicies returns a role's attached managed policies (by ARN) and
// all of its policy documents, inline and managed, and its permissions
// boundary's, marked as the boundary.
func (a *Account) RolePolicies(ctx context.Context, role string) (attached []string, docs []iampolicy.Named, err error) {
	ap, err := a.iam.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(role)})
	if err != nil {
		return nil, nil, fmt.Errorf("list policies of %s: %w", role, err)
	}
	for _, p := range ap.AttachedPolicies {
		arn := aws.ToString(p.PolicyArn)
		attached = append(attached, arn)
		d, err := a.managedPolicy(ctx, arn)
		if err != nil {
			return nil, nil, err
		}
		docs = append(docs, iampolicy.Named{Name: arn, Document: d})
	}
	inl, err := a.iam.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String(role)})
	if err != nil {
		return nil, nil, fmt.Errorf("list inline policies of %s: %w", role, err)
	}
	for _, name := range inl.PolicyNames {
		out, err := a.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(name)})
		if err != nil {
			return nil, nil, fmt.Errorf("get inline policy %s of %s: %w", name, role, err)
		}
		d, err := iampolicy.Parse(aws.ToString(out.PolicyDocument))
		if err != nil {
			return nil, nil, fmt.Errorf("inline policy %s of %s: %w", name, role, err)
		}
		docs = append(docs, iampolicy.Named{Name: role + "/" + name, Document: d})
	}
	r, err := a.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(role)})
	if err != nil {
		return nil, nil, fmt.Errorf("get role %s: %w", role, err)
	}
	if pb := r.Role.PermissionsBoundary; pb != nil && aws.ToString(pb.PermissionsBoundaryArn) != "" {
		arn := aws.ToString(pb.PermissionsBoundaryArn)
		d, err := a.managedPolicy(ctx, arn)
		if err != nil {
			return nil, nil, fmt.Errorf("permissions boundary of %s: %w", role, err)
		}
		docs = append(docs, iampolicy.Named{Name: arn, Document: d, Boundary: true})
	}
	return attached, docs, nil
}

// managedPolicy reads a managed policy's default version.
func (a *Account) managedPolicy(ctx context.Context, arn string) (iampolicy.Document, error) {
	pol, err := a.iam.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(arn)})
	if err != nil {
		return iampolicy.Document{}, fmt.Errorf("get policy %s: %w", arn, err)
	}
	ver, err := a.iam.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: pol.Policy.DefaultVersionId})
	if err != nil {
		return iampolicy.Document{}, fmt.Errorf("get policy version %s: %w", arn, err)
	}
	d, err := iampolicy.Parse(aws.ToString(ver.PolicyVersion.Document))
	if err != nil {
		return iampolicy.Document{}, fmt.Errorf("policy %s: %w", arn, err)
	}
	return d, nil
}

func subnetID(cidr string) string {
	h := fnv.New64a()
	h.Write([]byte(cidr))
	return fmt.Sprintf("subnet-%017x", h.Sum64())[:24]
}

// NodeGroupOf maps a node name to its node group.
type NodeGroupOf func(node string) (group string, ok bool)

// PullAuthorizer decides ECR pulls by node identity. Where the emulator
// enforces IAM it asks the emulator, as the node would: assume the node
// role, then GetAuthorizationToken with the role's credentials; the
// repository's actions (BatchGetImage, GetDownloadUrlForLayer) it judges
// from the role's policies on the repository's ARN, which the emulator
// cannot. Without enforcement it judges all of them itself.
type PullAuthorizer struct {
	account *Account
	groupOf NodeGroupOf

	mu    sync.Mutex
	roles map[string]string // node group → role name
}

var _ ecrreg.Authorizer = (*PullAuthorizer)(nil)

// NewPullAuthorizer returns an authorizer for the account's nodes.
func NewPullAuthorizer(a *Account, groupOf NodeGroupOf) *PullAuthorizer {
	return &PullAuthorizer{account: a, groupOf: groupOf, roles: map[string]string{}}
}

// Authorize decides whether node may pull from repository.
func (p *PullAuthorizer) Authorize(ctx context.Context, node, repository string) (ecrreg.Verdict, error) {
	group, ok := p.groupOf(node)
	if !ok {
		return ecrreg.Verdict{Decision: ecrreg.NoCredentials, Reason: "unknown node " + node}, nil
	}
	role, err := p.role(ctx, group)
	if err != nil {
		return ecrreg.Verdict{}, err
	}
	a := p.account
	principal := fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", a.emu.AccountID, role, sessionName(node))
	repoARN := a.RepositoryARN(repository)
	if !a.emu.EnforcesIAM {
		_, docs, err := a.RolePolicies(ctx, role)
		if err != nil {
			return ecrreg.Verdict{}, err
		}
		return judge(principal, repoARN, docs), nil
	}
	assumed, err := sts.NewFromConfig(a.cfg).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String(a.RoleARN(role)), RoleSessionName: aws.String(sessionName(node)),
	})
	if err != nil {
		return ecrreg.Verdict{}, fmt.Errorf("assume %s: %w", role, err)
	}
	cfg := a.cfg.Copy()
	c := assumed.Credentials
	cfg.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
	client := ecr.NewFromConfig(cfg)
	if _, err := client.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{}); err != nil {
		if denied(err) {
			return ecrreg.Verdict{Decision: ecrreg.NoCredentials, Principal: principal,
				Reason: fmt.Sprintf("User: %s is not authorized to perform: ecr:GetAuthorizationToken", principal)}, nil
		}
		return ecrreg.Verdict{}, fmt.Errorf("get authorization token as %s: %w", role, err)
	}
	// moto judges every ECR call against the resource "*", so a policy
	// scoped to the repository's ARN (as AWS documents them) would be
	// denied there: the repository's actions are judged here, on its ARN.
	_, docs, err := a.RolePolicies(ctx, role)
	if err != nil {
		return ecrreg.Verdict{}, err
	}
	return judge(principal, repoARN, docs), nil
}

// judge decides a pull from the role's policy documents and its
// permissions boundary (which the emulator does not enforce).
func judge(principal, repoARN string, docs []iampolicy.Named) ecrreg.Verdict {
	if r := iampolicy.Evaluate(docs, iampolicy.Request{Action: "ecr:GetAuthorizationToken", Resource: "*"}); r.Effect != iampolicy.Allow {
		return ecrreg.Verdict{Decision: ecrreg.NoCredentials, Principal: principal,
			Reason: notAuthorized(principal, "ecr:GetAuthorizationToken", "*", r)}
	}
	for _, action := range []string{"ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"} {
		if r := iampolicy.Evaluate(docs, iampolicy.Request{Action: action, Resource: repoARN}); r.Effect != iampolicy.Allow {
			return ecrreg.Verdict{Decision: ecrreg.Forbidden, Principal: principal,
				Reason: notAuthorized(principal, action, repoARN, r)}
		}
	}
	return ecrreg.Verdict{Decision: ecrreg.Allowed, Principal: principal}
}

// notAuthorized is AWS's access-denied message, with the reason AWS adds
// to it: which kind of policy denied, explicitly or by allowing nothing.
func notAuthorized(principal, action, resource string, r iampolicy.Result) string {
	msg := fmt.Sprintf("User: %s is not authorized to perform: %s on resource: %s", principal, action, resource)
	switch {
	case r.Boundary && r.Effect == iampolicy.ExplicitDeny:
		return msg + " with an explicit deny in a permissions boundary"
	case r.Boundary:
		return msg + " because no permissions boundary allows the " + action + " action"
	case r.Effect == iampolicy.ExplicitDeny:
		return msg + " with an explicit deny in an identity-based policy"
	default:
		return msg + " because no identity-based policy allows the " + action + " action"
	}
}

func (p *PullAuthorizer) role(ctx context.Context, group string) (string, error) {
	p.mu.Lock()
	r, ok := p.roles[group]
	p.mu.Unlock()
	if ok {
		return r, nil
	}
	r, err := p.account.NodegroupRole(ctx, group)
	if err != nil {
		return "", err
	}
	p.mu.Lock()
	p.roles[group] = r // a node group's role cannot change in EKS
	p.mu.Unlock()
	return r, nil
}

// sessionName is the role session an EC2 node uses: its instance id in
// EKS; the node name serves the same purpose here.
func sessionName(node string) string {
	s := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("=,.@-", r) {
			return r
		}
		return '-'
	}, node)
	if len(s) > 64 {
		s = s[:64]
	}
	return s
}

// denied reports whether err is an IAM authorisation failure. moto answers
// those with HTTP 403 and an XML body even for JSON services, which the
// SDK cannot decode, so the status decides (and messages are composed
// here, in AWS's words).
func denied(err error) bool {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) && re.HTTPStatusCode() == 403 {
		return true
	}
	var ae smithy.APIError
	return errors.As(err, &ae) && (ae.ErrorCode() == "AccessDenied" || ae.ErrorCode() == "AccessDeniedException")
}
