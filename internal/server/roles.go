package server

import (
	"fmt"

	"github.com/cloudlet/cloudlet/internal/async"

	"github.com/cloudlet/cloudlet/internal/iam"
	"github.com/cloudlet/cloudlet/internal/manifest"
)

// projectRoles turns the project's roles into IAM roles: each gets one
// inline policy of its statements and the managed policies it attaches,
// and trusts only the Lambda service (as the Framework's roles do).
func projectRoles(proj *manifest.Project) ([]*iam.Role, map[string]string, error) {
	roles := make([]*iam.Role, 0, len(proj.Roles))
	fnRoles := map[string]string{}
	for _, r := range proj.Roles {
		role := &iam.Role{Name: r.Name, ARN: "arn:aws:iam::" + iam.DefaultAccount + ":role/" + r.Name, RoleID: iam.RoleID(r.Name)}
		if len(r.Statements) > 0 {
			role.Policies = append(role.Policies, &iam.Policy{Name: r.Name + " (serverless.yml)", Statements: r.Statements})
		}
		for _, arn := range r.ManagedPolicies {
			p := iam.ManagedPolicy(arn)
			if p == nil {
				return nil, nil, fmt.Errorf("role %s: unknown managed policy %s", r.Name, arn)
			}
			role.Policies = append(role.Policies, p)
		}
		roles = append(roles, role)
		for _, fn := range r.Functions {
			fnRoles[fn] = r.Name
		}
	}
	return roles, fnRoles, nil
}

// asyncConfigs are the functions' asynchronous invocation settings the
// project declares, by function name.
func asyncConfigs(proj *manifest.Project) map[string]async.Config {
	out := map[string]async.Config{}
	for _, fn := range proj.Functions {
		a := fn.Async
		if a == nil {
			continue
		}
		c := async.Config{MaxRetries: a.MaximumRetryAttempts, MaxAgeSeconds: a.MaximumEventAge,
			OnSuccess: a.OnSuccess, OnFailure: a.OnFailure, DeadLetter: a.OnError}
		c.Invoke = c.MaxRetries != nil || c.MaxAgeSeconds != nil || c.OnSuccess != "" || c.OnFailure != ""
		out[fn.Name] = c
	}
	return out
}
