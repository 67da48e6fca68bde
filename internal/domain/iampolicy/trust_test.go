package iampolicy

import "testing"

func TestTrustsWebIdentity(t *testing.T) {
	const (
		issuer   = "oidc.eks.us-east-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"
		provider = "arn:aws:iam::123456789012:oidc-provider/" + issuer
	)
	trust := func(statements string) Document {
		return mustParse(t, `{"Version":"2012-10-17","Statement":[`+statements+`]}`)
	}
	irsa := func(cond string) string {
		return `{"Effect":"Allow","Principal":{"Federated":"` + provider + `"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":` + cond + `}`
	}
	exact := irsa(`{"StringEquals":{"` + issuer + `:sub":"system:serviceaccount:payments:api","` + issuer + `:aud":"sts.amazonaws.com"}}`)
	keys := func(sub string) map[string][]string {
		return map[string][]string{issuer + ":sub": {sub}, issuer + ":aud": {"sts.amazonaws.com"}}
	}
	tests := []struct {
		name string
		doc  Document
		req  WebIdentity
		want bool
	}{
		{"the subject the policy names", trust(exact), WebIdentity{provider, keys("system:serviceaccount:payments:api")}, true},
		{"a moved service account", trust(exact), WebIdentity{provider, keys("system:serviceaccount:payments-v2:api")}, false},
		{"another provider", trust(exact), WebIdentity{"arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/OTHER", keys("system:serviceaccount:payments:api")}, false},
		{"a wildcard subject", trust(irsa(`{"StringLike":{"` + issuer + `:sub":"system:serviceaccount:*"}}`)), WebIdentity{provider, keys("system:serviceaccount:payments-v2:api")}, true},
		{"condition keys are case-insensitive", trust(irsa(`{"StringEquals":{"` + issuer + `:SUB":"system:serviceaccount:payments:api"}}`)), WebIdentity{provider, keys("system:serviceaccount:payments:api")}, true},
		{"a key the request lacks", trust(irsa(`{"StringEquals":{"` + issuer + `:amr":"x"}}`)), WebIdentity{provider, keys("system:serviceaccount:payments:api")}, false},
		{"IfExists on a missing key", trust(irsa(`{"StringEqualsIfExists":{"` + issuer + `:amr":"x"}}`)), WebIdentity{provider, keys("system:serviceaccount:payments:api")}, true},
		{"StringNotEquals", trust(irsa(`{"StringNotEquals":{"` + issuer + `:sub":"system:serviceaccount:kube-system:default"}}`)), WebIdentity{provider, keys("system:serviceaccount:payments:api")}, true},
		{"an operator not evaluated fails closed", trust(irsa(`{"NumericLessThan":{"` + issuer + `:sub":"1"}}`)), WebIdentity{provider, keys("1")}, false},
		{"no condition at all", trust(irsa(`null`)), WebIdentity{provider, keys("anything")}, true},
		{"a Deny wins", trust(exact + `,{"Effect":"Deny","Principal":{"Federated":"*"},"Action":"sts:*"}`), WebIdentity{provider, keys("system:serviceaccount:payments:api")}, false},
		{"a service principal only", trust(`{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}`), WebIdentity{provider, keys("system:serviceaccount:payments:api")}, false},
		{"the action of AssumeRole only", trust(`{"Effect":"Allow","Principal":{"Federated":"` + provider + `"},"Action":"sts:AssumeRole"}`), WebIdentity{provider, keys("system:serviceaccount:payments:api")}, false},
		{"ForAnyValue over audiences", trust(irsa(`{"ForAnyValue:StringEquals":{"` + issuer + `:aud":["sts.amazonaws.com","other"]}}`)), WebIdentity{provider, keys("s")}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := TrustsWebIdentity(tt.doc, tt.req); got != tt.want {
				t.Errorf("TrustsWebIdentity = %v, want %v", got, tt.want)
			}
		})
	}
}
