package iam

import (
	"strconv"
	"strings"
	"time"
)

// Principal is a caller: the admin (the account's root), a role
// session (a function's credentials, or AssumeRole's), or a service
// acting for a resource of the account (S3 sending a bucket's events).
type Principal struct {
	ARN     string // arn:aws:iam::ACCOUNT:root, arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION
	Account string
	UserID  string // AROA...:SESSION for role sessions, the account ID for root
	Admin   bool
	// RoleARN and RoleName of a role session.
	RoleARN, RoleName, Session string
	// Service is a service principal's name (s3.amazonaws.com); it has
	// no identity policies, so only a resource policy naming it (or "*")
	// allows it.
	Service string
}

// ServiceAllowed decides whether service (e.g. s3.amazonaws.com), acting
// for sourceARN of account, may call action on resource under the
// resource's policy rp (nil: none, so no): the check S3 makes before it
// sends a bucket's events to a queue or a function.
func ServiceAllowed(service, account, sourceARN, action, resource string, rp *Policy) bool {
	req := &Request{Principal: &Principal{Service: service, Account: account}, Action: action, Resource: resource}
	req.Context.Set("aws:sourcearn", sourceARN)
	req.Context.Set("aws:sourceaccount", account)
	return Evaluate(req, nil, rp).Allowed
}

// Request is one call to authorize: an action on a resource, with the
// request's context keys.
type Request struct {
	Principal *Principal
	Action    string // e.g. "lambda:InvokeFunction"
	Resource  string // the resource's ARN, or "*" for actions on no resource
	Context   Context
}

// Context holds a request's condition keys. The global keys Cloudlet knows
// (aws:SourceIp, aws:RequestedRegion, aws:CurrentTime, aws:EpochTime,
// aws:SecureTransport, aws:PrincipalArn, aws:PrincipalAccount,
// aws:PrincipalType, aws:userid) come from its fields; services add their
// own with Set. The zero value is empty and ready; it allocates only when
// more than 8 service keys are set.
type Context struct {
	SourceIP        string
	RequestedRegion string
	Time            time.Time // aws:CurrentTime; the zero time means unset
	SecureTransport bool
	principal       *Principal
	n               int
	kv              [8]keyValues
	more            []keyValues
}

type keyValues struct {
	key  string // lower-case
	vals []string
	one  [1]string
}

// Set sets a (service) condition key to one value. key must be lower-case.
func (c *Context) Set(key, val string) {
	kv := keyValues{key: key}
	kv.one[0] = val
	c.add(kv)
}

// SetMulti sets a multi-valued key (for ForAllValues/ForAnyValue), e.g.
// dynamodb:attributes. key must be lower-case.
func (c *Context) SetMulti(key string, vals []string) {
	c.add(keyValues{key: key, vals: vals})
}

func (c *Context) add(kv keyValues) {
	if c.n < len(c.kv) {
		c.kv[c.n] = kv
		c.n++
		return
	}
	c.more = append(c.more, kv)
}

func (c *Context) lookup(key string) ([]string, bool) {
	for i := 0; i < c.n; i++ {
		if c.kv[i].key == key {
			return c.kv[i].values(), true
		}
	}
	for i := range c.more {
		if c.more[i].key == key {
			return c.more[i].values(), true
		}
	}
	if !strings.HasPrefix(key, "aws:") {
		return nil, false
	}
	p := c.principal
	var v string
	switch key {
	case "aws:sourceip":
		v = c.SourceIP
	case "aws:requestedregion":
		v = c.RequestedRegion
	case "aws:currenttime":
		if c.Time.IsZero() {
			return nil, false
		}
		v = c.Time.UTC().Format(time.RFC3339)
	case "aws:epochtime":
		if c.Time.IsZero() {
			return nil, false
		}
		v = strconv.FormatInt(c.Time.Unix(), 10)
	case "aws:securetransport":
		v = strconv.FormatBool(c.SecureTransport)
	case "aws:principalarn":
		if p == nil {
			return nil, false
		}
		v = p.ARN
		if p.RoleARN != "" {
			v = p.RoleARN // for a role session, the role's ARN
		}
	case "aws:principalaccount":
		if p == nil {
			return nil, false
		}
		v = p.Account
	case "aws:principaltype":
		if p == nil {
			return nil, false
		}
		v = "AssumedRole"
		if p.Admin {
			v = "Account"
		}
	case "aws:userid":
		if p == nil {
			return nil, false
		}
		v = p.UserID
	default:
		return nil, false
	}
	if v == "" {
		return nil, false
	}
	return []string{v}, true
}

func (kv *keyValues) values() []string {
	if kv.vals != nil {
		return kv.vals
	}
	return kv.one[:]
}

// Decision is the outcome of evaluating a request.
type Decision struct {
	Allowed bool
	// Explicit is set when a Deny statement matched.
	Explicit bool
	// Statement is the statement that decided (the Deny, or an Allow),
	// nil for an implicit deny; InResource says it is in the resource policy.
	Statement  *Statement
	InResource bool
}

// Evaluate decides req as AWS does for a caller and a resource in the same
// account: an explicit Deny in any policy wins; otherwise an Allow in the
// caller's identity policies or in the resource's policy allows; otherwise
// the request is implicitly denied. resource may be nil.
func Evaluate(req *Request, identity []*Policy, resource *Policy) Decision {
	req.Context.principal = req.Principal
	var allow Decision
	for _, p := range identity {
		for _, st := range p.Statements {
			if !st.matches(req, false) {
				continue
			}
			if st.Effect == Deny {
				return Decision{Explicit: true, Statement: st}
			}
			if allow.Statement == nil {
				allow = Decision{Allowed: true, Statement: st}
			}
		}
	}
	if resource != nil {
		for _, st := range resource.Statements {
			if !st.matches(req, true) {
				continue
			}
			if st.Effect == Deny {
				return Decision{Explicit: true, Statement: st, InResource: true}
			}
			if allow.Statement == nil {
				allow = Decision{Allowed: true, Statement: st, InResource: true}
			}
		}
	}
	return allow
}

func (st *Statement) matches(req *Request, inResource bool) bool {
	if st.Actions != nil {
		if !anyMatch(st.Actions, req.Action, matchAction) {
			return false
		}
	} else if anyMatch(st.NotActions, req.Action, matchAction) {
		return false
	}
	switch {
	case st.Resources != nil:
		if !anyMatch(st.Resources, req.Resource, matchARN) {
			return false
		}
	case st.NotResources != nil:
		if anyMatch(st.NotResources, req.Resource, matchARN) {
			return false
		}
	case !inResource:
		return false // an identity statement names its resources
	}
	if inResource {
		switch {
		case st.Principals != nil:
			if !principalIn(st.Principals, req.Principal) {
				return false
			}
		case st.NotPrincipals != nil:
			if principalIn(st.NotPrincipals, req.Principal) {
				return false
			}
		default:
			return false // a resource policy names its principals
		}
	}
	for i := range st.Conditions {
		if !st.Conditions[i].eval(&req.Context) {
			return false
		}
	}
	return true
}

func anyMatch(patterns []string, s string, match func(p, s string) bool) bool {
	for _, p := range patterns {
		if match(p, s) {
			return true
		}
	}
	return false
}

// principalIn reports whether p is named by a Principal element: "*", its
// role's ARN or its session's ARN. The account (its ID or root ARN) names
// the account itself: as on AWS, that delegates to the account's own
// policies rather than granting each of its roles, so it matches the admin
// (the root) only; a role session still needs its own Allow.
func principalIn(list []string, p *Principal) bool {
	for _, e := range list {
		switch {
		case e == "*":
			return true
		case strings.HasPrefix(e, "service:"):
			if p.Service != "" && strings.EqualFold(e[len("service:"):], p.Service) {
				return true
			}
		case strings.HasPrefix(e, "federated:") || strings.HasPrefix(e, "canonicaluser:"):
			// not callers Cloudlet has
		case p.Service != "":
			// a service is named by its name only (or "*")
		case e == p.Account || e == "arn:aws:iam::"+p.Account+":root":
			if p.Admin {
				return true
			}
		case e == p.ARN || p.RoleARN != "" && e == p.RoleARN:
			return true
		}
	}
	return false
}
