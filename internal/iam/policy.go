package iam

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Effect is a statement's Effect.
type Effect uint8

const (
	Allow Effect = iota + 1
	Deny
)

func (e Effect) String() string {
	if e == Deny {
		return "Deny"
	}
	return "Allow"
}

// Policy is a parsed policy document: an identity policy (a role's
// statements) or a resource policy (with principals).
type Policy struct {
	Name       string // where it comes from, for decisions and errors
	Statements []*Statement
}

// Statement is one compiled statement.
type Statement struct {
	Sid    string
	Effect Effect
	// Exactly one of Actions and NotActions is set (lower-cased patterns).
	Actions, NotActions []string
	// Resources or NotResources; both empty in a resource policy means
	// the resource the policy is attached to.
	Resources, NotResources []string
	// Principals of a resource policy (nil in identity policies):
	// "*" or ARNs/account IDs; service principals as "service:NAME".
	Principals, NotPrincipals []string
	Conditions                []Condition
	// Origin says where the statement was written, e.g.
	// "serverless.yml:14 provider.iam.role.statements[0]".
	Origin string
}

// ParsePolicy parses a JSON policy document.
func ParsePolicy(name string, doc []byte) (*Policy, error) {
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		return nil, fmt.Errorf("policy %s: not JSON: %v", name, err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("policy %s: must be a JSON object", name)
	}
	p := &Policy{Name: name}
	for k, val := range m {
		switch k {
		case "Version":
			if s, _ := val.(string); s != "2012-10-17" && s != "2008-10-17" {
				return nil, fmt.Errorf("policy %s: Version must be 2012-10-17 or 2008-10-17", name)
			}
		case "Id":
		case "Statement":
			list, ok := val.([]any)
			if !ok {
				list = []any{val}
			}
			for i, sv := range list {
				st, err := ParseStatement(sv, fmt.Sprintf("%s Statement[%d]", name, i))
				if err != nil {
					return nil, err
				}
				p.Statements = append(p.Statements, st)
			}
		default:
			return nil, fmt.Errorf("policy %s: unknown element %q", name, k)
		}
	}
	if len(p.Statements) == 0 {
		return nil, fmt.Errorf("policy %s: has no Statement", name)
	}
	return p, nil
}

// ParseStatement parses one statement from its JSON-shaped value (maps,
// lists, strings, numbers, booleans), as encoding/json decodes into any.
// origin names it in errors and decisions.
func ParseStatement(v any, origin string) (*Statement, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: a statement must be a mapping with Effect, Action and Resource", origin)
	}
	st := &Statement{Origin: origin}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%s: "+format, append([]any{origin}, args...)...)
	}
	var err error
	for k, val := range m {
		switch k {
		case "Sid":
			if st.Sid, ok = val.(string); !ok {
				return nil, bad("Sid must be a string")
			}
		case "Effect":
			switch val {
			case "Allow":
				st.Effect = Allow
			case "Deny":
				st.Effect = Deny
			default:
				return nil, bad("Effect must be Allow or Deny, not %s", show(val))
			}
		case "Action", "NotAction":
			list, err := strings1(val)
			if err != nil {
				return nil, bad("%s %v", k, err)
			}
			for i, a := range list {
				if a != "*" && !validAction(a) {
					return nil, bad("%s %q is not an action: write service:Action, e.g. lambda:InvokeFunction or dynamodb:Get*", k, a)
				}
				list[i] = strings.ToLower(a)
			}
			if k == "Action" {
				st.Actions = list
			} else {
				st.NotActions = list
			}
		case "Resource", "NotResource":
			list, err := strings1(val)
			if err != nil {
				return nil, bad("%s %v", k, err)
			}
			for _, r := range list {
				if r != "*" && !strings.HasPrefix(r, "arn:") {
					return nil, bad("%s %q is not an ARN: write arn:aws:SERVICE:REGION:ACCOUNT:..., or *", k, r)
				}
			}
			if k == "Resource" {
				st.Resources = list
			} else {
				st.NotResources = list
			}
		case "Principal", "NotPrincipal":
			ps, err := principals(val)
			if err != nil {
				return nil, bad("%s %v", k, err)
			}
			if k == "Principal" {
				st.Principals = ps
			} else {
				st.NotPrincipals = ps
			}
		case "Condition":
			if st.Conditions, err = parseConditions(val); err != nil {
				return nil, bad("Condition: %v", err)
			}
		default:
			return nil, bad("unknown element %q (a statement has Sid, Effect, Action or NotAction, Resource or NotResource, Principal, Condition)", k)
		}
	}
	switch {
	case st.Effect == 0:
		return nil, bad("Effect is required: Allow or Deny")
	case len(st.Actions) == 0 && len(st.NotActions) == 0:
		return nil, bad("Action or NotAction is required")
	case len(st.Actions) > 0 && len(st.NotActions) > 0:
		return nil, bad("has both Action and NotAction: use one")
	case len(st.Resources) > 0 && len(st.NotResources) > 0:
		return nil, bad("has both Resource and NotResource: use one")
	case st.Principals != nil && st.NotPrincipals != nil:
		return nil, bad("has both Principal and NotPrincipal: use one")
	}
	if _, ok := m["Action"]; ok && len(st.Actions) == 0 {
		return nil, bad("Action must not be empty")
	}
	return st, nil
}

// validAction: service:pattern, the service a plain name.
func validAction(a string) bool {
	svc, act, ok := strings.Cut(a, ":")
	if !ok || svc == "" || act == "" {
		return false
	}
	for _, r := range svc {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return !strings.Contains(act, ":")
}

// strings1 reads a string or a list of strings.
func strings1(v any) ([]string, error) {
	switch t := v.(type) {
	case string:
		return []string{t}, nil
	case []any:
		out := make([]string, 0, len(t))
		for _, e := range t {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("must be a string or a list of strings, not a list holding %s", show(e))
			}
			out = append(out, s)
		}
		return out, nil
	case []string:
		return append([]string(nil), t...), nil
	}
	return nil, fmt.Errorf("must be a string or a list of strings, not %s", show(v))
}

func principals(v any) ([]string, error) {
	if s, ok := v.(string); ok {
		if s != "*" {
			return nil, fmt.Errorf("must be \"*\" or a mapping such as {AWS: ARN} or {Service: lambda.amazonaws.com}")
		}
		return []string{"*"}, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("must be \"*\" or a mapping such as {AWS: ARN}")
	}
	out := []string{}
	for k, val := range m {
		list, err := strings1(val)
		if err != nil {
			return nil, fmt.Errorf("%s %v", k, err)
		}
		for _, p := range list {
			switch k {
			case "AWS":
				out = append(out, p)
			case "Service":
				out = append(out, "service:"+p)
			case "Federated", "CanonicalUser":
				out = append(out, strings.ToLower(k)+":"+p)
			default:
				return nil, fmt.Errorf("unknown principal type %q (AWS, Service, Federated, CanonicalUser)", k)
			}
		}
	}
	return out, nil
}

func show(v any) string {
	switch t := v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("%q", t)
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	}
	return fmt.Sprint(v)
}
