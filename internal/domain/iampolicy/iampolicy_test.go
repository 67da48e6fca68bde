package iampolicy

import "testing"

// readOnly is AmazonEC2ContainerRegistryReadOnly as AWS publishes it.
const readOnly = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecr:GetAuthorizationToken","ecr:BatchCheckLayerAvailability","ecr:GetDownloadUrlForLayer","ecr:GetRepositoryPolicy","ecr:DescribeRepositories","ecr:ListImages","ecr:DescribeImages","ecr:BatchGetImage","ecr:GetLifecyclePolicy","ecr:GetLifecyclePolicyPreview","ecr:ListTagsForResource","ecr:DescribeImageScanFindings"],"Resource":"*"}]}`

func mustParse(t *testing.T, s string) Document {
	t.Helper()
	d, err := Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestEvaluate(t *testing.T) {
	const repo = "arn:aws:ecr:us-east-1:123456789012:repository/shop/checkout"
	worker := `{"Statement":[{"Effect":"Allow","Action":["ec2:Describe*","eks:DescribeCluster"],"Resource":"*"}]}`
	tests := []struct {
		name     string
		policies []string
		req      Request
		want     Effect
	}{
		{"managed read-only allows pull", []string{readOnly}, Request{"ecr:BatchGetImage", repo}, Allow},
		{"worker policy alone: implicit deny", []string{worker}, Request{"ecr:GetAuthorizationToken", "*"}, ImplicitDeny},
		{"action wildcard", []string{`{"Statement":[{"Effect":"Allow","Action":"ecr:*","Resource":"*"}]}`}, Request{"ecr:BatchGetImage", repo}, Allow},
		{"action prefix wildcard", []string{worker}, Request{"ec2:DescribeInstances", "*"}, Allow},
		{"action is case-insensitive", []string{`{"Statement":[{"Effect":"Allow","Action":"ECR:batchgetimage","Resource":"*"}]}`}, Request{"ecr:BatchGetImage", repo}, Allow},
		{"question mark", []string{`{"Statement":[{"Effect":"Allow","Action":"ecr:Batch?etImage","Resource":"*"}]}`}, Request{"ecr:BatchGetImage", repo}, Allow},
		{"resource wildcard matches", []string{`{"Statement":[{"Effect":"Allow","Action":"ecr:*","Resource":"arn:aws:ecr:*:*:repository/shop/*"}]}`}, Request{"ecr:BatchGetImage", repo}, Allow},
		{"resource wildcard misses", []string{`{"Statement":[{"Effect":"Allow","Action":"ecr:*","Resource":"arn:aws:ecr:*:*:repository/other/*"}]}`}, Request{"ecr:BatchGetImage", repo}, ImplicitDeny},
		{"explicit deny wins over allow", []string{readOnly, `{"Statement":[{"Effect":"Deny","Action":"ecr:BatchGetImage","Resource":"*"}]}`}, Request{"ecr:BatchGetImage", repo}, ExplicitDeny},
		{"deny listed first still wins", []string{`{"Statement":[{"Effect":"Deny","Action":"ecr:*","Resource":"*"}]}`, readOnly}, Request{"ecr:GetAuthorizationToken", "*"}, ExplicitDeny},
		{"deny on another action does not apply", []string{readOnly, `{"Statement":[{"Effect":"Deny","Action":"ecr:PutImage","Resource":"*"}]}`}, Request{"ecr:BatchGetImage", repo}, Allow},
		{"NotAction allow", []string{`{"Statement":[{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}]}`}, Request{"ecr:BatchGetImage", repo}, Allow},
		{"NotAction excludes", []string{`{"Statement":[{"Effect":"Allow","NotAction":["ecr:*"],"Resource":"*"}]}`}, Request{"ecr:BatchGetImage", repo}, ImplicitDeny},
		{"NotResource deny spares others", []string{readOnly, `{"Statement":[{"Effect":"Deny","Action":"ecr:*","NotResource":"arn:aws:ecr:*:*:repository/shop/*"}]}`}, Request{"ecr:BatchGetImage", repo}, Allow},
		{"NotResource deny hits others", []string{readOnly, `{"Statement":[{"Effect":"Deny","Action":"ecr:*","NotResource":"arn:aws:ecr:*:*:repository/shop/*"}]}`}, Request{"ecr:BatchGetImage", "arn:aws:ecr:us-east-1:123456789012:repository/secret"}, ExplicitDeny},
		{"administrator", []string{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`}, Request{"ecr:GetAuthorizationToken", "*"}, Allow},
		{"url-encoded document", []string{"%7B%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22ecr%3A%2A%22%2C%22Resource%22%3A%22%2A%22%7D%5D%7D"}, Request{"ecr:BatchGetImage", repo}, Allow},
		{"conditional allow is not trusted", []string{`{"Statement":[{"Effect":"Allow","Action":"ecr:*","Resource":"*","Condition":{"StringEquals":{"aws:SourceVpc":"vpc-1"}}}]}`}, Request{"ecr:BatchGetImage", repo}, ImplicitDeny},
		{"single statement object", []string{`{"Statement":{"Effect":"Allow","Action":"ecr:*","Resource":"*"}}`}, Request{"ecr:BatchGetImage", repo}, Allow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ps []Named
			for i, p := range tt.policies {
				ps = append(ps, Named{Name: string(rune('a' + i)), Document: mustParse(t, p)})
			}
			if got := Evaluate(ps, tt.req); got.Effect != tt.want {
				t.Errorf("Evaluate = %v (%+v), want %v", got.Effect, got, tt.want)
			}
		})
	}
}

func TestEvaluateBoundary(t *testing.T) {
	const repo = "arn:aws:ecr:us-east-1:123456789012:repository/shop/checkout"
	noECR := `{"Statement":[{"Effect":"Allow","Action":["ec2:*","eks:*","logs:*"],"Resource":"*"}]}`
	withECR := `{"Statement":[{"Effect":"Allow","Action":["ec2:*","eks:*","ecr:GetAuthorizationToken","ecr:BatchGetImage"],"Resource":"*"}]}`
	denyECR := `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"NoRegistry","Effect":"Deny","Action":"ecr:*","Resource":"*"}]}`
	tests := []struct {
		name         string
		identity     []string
		boundary     string
		req          Request
		want         Effect
		wantBoundary bool
	}{
		{"boundary without the action caps an allow", []string{readOnly}, noECR, Request{"ecr:BatchGetImage", repo}, ImplicitDeny, true},
		{"boundary that allows lets the identity allow through", []string{readOnly}, withECR, Request{"ecr:BatchGetImage", repo}, Allow, false},
		{"boundary grants nothing by itself", []string{`{"Statement":[{"Effect":"Allow","Action":"ec2:*","Resource":"*"}]}`}, withECR, Request{"ecr:BatchGetImage", repo}, ImplicitDeny, false},
		{"explicit deny in the boundary", []string{readOnly}, denyECR, Request{"ecr:GetAuthorizationToken", "*"}, ExplicitDeny, true},
		{"explicit deny in an identity policy comes first", []string{readOnly, `{"Statement":[{"Effect":"Deny","Action":"ecr:BatchGetImage","Resource":"*"}]}`}, noECR, Request{"ecr:BatchGetImage", repo}, ExplicitDeny, false},
		{"no boundary: identity decides", []string{readOnly}, "", Request{"ecr:BatchGetImage", repo}, Allow, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ps []Named
			for i, p := range tt.identity {
				ps = append(ps, Named{Name: string(rune('a' + i)), Document: mustParse(t, p)})
			}
			if tt.boundary != "" {
				ps = append(ps, Named{Name: "boundary", Document: mustParse(t, tt.boundary), Boundary: true})
			}
			got := Evaluate(ps, tt.req)
			if got.Effect != tt.want || got.Boundary != tt.wantBoundary {
				t.Errorf("Evaluate = %v boundary=%v (%+v), want %v boundary=%v", got.Effect, got.Boundary, got, tt.want, tt.wantBoundary)
			}
			if tt.wantBoundary && got.Policy != "boundary" {
				t.Errorf("deciding policy = %q, want the boundary", got.Policy)
			}
		})
	}
	star := []Named{{Name: "b", Boundary: true, Document: mustParse(t, `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)}}
	if GrantsLiterally(star, "*") {
		t.Error("a boundary's * is not a grant")
	}
}

func TestAllowsAndGrantsLiterally(t *testing.T) {
	ro := []Named{{Name: "ro", Document: mustParse(t, readOnly)}}
	if !Allows(ro, "*", "ecr:GetAuthorizationToken", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer") {
		t.Error("read-only policy does not allow the pull actions")
	}
	if Allows(ro, "*", "ecr:PutImage") {
		t.Error("read-only policy allows PutImage")
	}
	if Allows(ro, "*") {
		t.Error("Allows with no actions must be false")
	}
	star := []Named{{Name: "inline", Document: mustParse(t, `{"Statement":[{"Effect":"Allow","Action":["ecr:*"],"Resource":"*"}]}`)}}
	if !GrantsLiterally(star, "ecr:*") || GrantsLiterally(ro, "ecr:*") {
		t.Error("GrantsLiterally must find ecr:* only where it is written")
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true}, {"*", "anything", true}, {"a*c", "abbbc", true}, {"a*c", "abbbd", false},
		{"a?c", "abc", true}, {"a?c", "ac", false}, {"*b*", "abc", true}, {"a**", "a", true}, {"", "", true}, {"", "a", false},
	}
	for _, tt := range tests {
		if got := Match(tt.pattern, tt.s); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}
