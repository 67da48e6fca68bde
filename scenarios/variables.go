package scenarios

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Variables returns the scenario variables: the names a scenario may use
// as ${NAME} in manifests, patches, image references, regular expressions
// and exec commands, and that the reference solution sees in its
// environment.
//
//	AWS_ACCOUNT_ID  the account id
//	AWS_REGION      the region
//	ECR_REGISTRY    <account>.dkr.ecr.<region>.amazonaws.com
//	CLUSTER_NAME    the EKS cluster name
func (s *Scenario) Variables() map[string]string {
	env := s.Spec.Environment
	return map[string]string{
		"AWS_ACCOUNT_ID": env.AWS.AccountID,
		"AWS_REGION":     env.AWS.Region,
		"ECR_REGISTRY":   ECRRegistry(env.AWS.AccountID, env.AWS.Region),
		"CLUSTER_NAME":   env.Cluster.Name,
	}
}

// ECRRegistry returns the private ECR registry host of an account and
// region.
func ECRRegistry(accountID, region string) string {
	return fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com", accountID, region)
}

var varRE = regexp.MustCompile(`\$\{([^}]*)\}`)

// Expand replaces every ${NAME} in text with the scenario variable NAME.
// An unknown name is an error; a lone $ is left alone, so shell syntax
// such as $HOME passes through.
func (s *Scenario) Expand(text string) (string, error) {
	return expandVars(text, s.expandable())
}

// expandable are the scenario variables and, for a variant, its
// parameters as param.NAME: what Expand replaces.
func (s *Scenario) expandable() map[string]string {
	vars := s.Variables()
	for k, v := range s.Variant.Values {
		vars["param."+k] = v
	}
	return vars
}

func expandVars(text string, vars map[string]string) (string, error) {
	var unknown []string
	out := varRE.ReplaceAllStringFunc(text, func(m string) string {
		name := m[2 : len(m)-1]
		v, ok := vars[name]
		if !ok {
			unknown = append(unknown, name)
			return m
		}
		return v
	})
	if len(unknown) > 0 {
		names := make([]string, 0, len(vars))
		for k := range vars {
			names = append(names, k)
		}
		sort.Strings(names)
		return "", fmt.Errorf("unknown variable ${%s}%s; known: %s", unknown[0], didYouMean(unknown[0], names), strings.Join(names, ", "))
	}
	return out, nil
}

// ExpandRegexp is Expand for regular expressions: each variable's value is
// inserted quoted (regexp.QuoteMeta), so ${ECR_REGISTRY} matches the host
// literally.
func (s *Scenario) ExpandRegexp(expr string) (string, error) {
	vars := s.expandable()
	for k, v := range vars {
		vars[k] = regexp.QuoteMeta(v)
	}
	return expandVars(expr, vars)
}
