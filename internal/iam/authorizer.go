package iam

import (
	"sync"
	"sync/atomic"
	"time"
)

// Mode says what a denial does.
type Mode uint8

const (
	// Enforce refuses denied calls (the default).
	Enforce Mode = iota
	// Soft lets denied calls through and records them as would-be
	// denials, for adopting an existing project.
	Soft
)

func (m Mode) String() string {
	if m == Soft {
		return "soft"
	}
	return "enforce"
}

// Authorizer decides every AWS call: the admin may do anything; a role
// session what its role's policies (and the resource's policy) allow. It
// records every decision in its audit log.
type Authorizer struct {
	Keys *Keys
	Mode Mode
	log  auditLog
	// counters
	allowed, denied, softDenied atomic.Uint64
}

// NewAuthorizer returns an authorizer over keys.
func NewAuthorizer(keys *Keys, mode Mode) *Authorizer {
	return &Authorizer{Keys: keys, Mode: mode}
}

// Outcome is a decision as the caller sees it.
type Outcome struct {
	Decision
	// Refused is whether the call must be refused (a denial in Enforce
	// mode).
	Refused bool
}

// Authorize decides req for the caller holding key; resource is the
// resource's own policy, or nil.
func (a *Authorizer) Authorize(key *Key, req *Request, resource *Policy) Outcome {
	req.Principal = key.Principal
	if key.Admin {
		a.allowed.Add(1)
		return Outcome{Decision: Decision{Allowed: true}}
	}
	identity, ok := a.Keys.Policies(key.Principal)
	var d Decision
	if ok {
		d = Evaluate(req, identity, resource)
	}
	out := Outcome{Decision: d}
	switch {
	case d.Allowed:
		a.allowed.Add(1)
	case a.Mode == Soft:
		a.softDenied.Add(1)
	default:
		a.denied.Add(1)
		out.Refused = true
	}
	a.log.record(Entry{Time: req.Context.Time, Principal: key.Principal.ARN, Role: key.Principal.RoleName,
		Function: key.Function, Action: req.Action, Resource: req.Resource, Decision: d, Soft: !d.Allowed && a.Mode == Soft})
	return out
}

// Counts returns how many calls were allowed, refused, and denied but let
// through (soft mode), since start.
func (a *Authorizer) Counts() (allowed, denied, softDenied uint64) {
	return a.allowed.Load(), a.denied.Load(), a.softDenied.Load()
}

// DenialMessage is AWS's AccessDenied message for a refused request.
func DenialMessage(req *Request, d Decision) string {
	msg := "User: " + req.Principal.ARN + " is not authorized to perform: " + req.Action + " on resource: " + req.Resource
	switch {
	case d.Explicit && d.InResource:
		return msg + " with an explicit deny in a resource-based policy"
	case d.Explicit:
		return msg + " with an explicit deny in an identity-based policy"
	}
	return msg + " because no identity-based policy allows the " + req.Action + " action"
}

// Entry is one recorded decision of a role session (the admin's calls are
// not recorded).
type Entry struct {
	Time      time.Time
	Principal string // the session's ARN
	Role      string
	Function  string // the function whose instance called, or ""
	Action    string
	Resource  string
	Decision  Decision
	Soft      bool // denied, let through by soft mode
}

// auditLog keeps the last auditSize decisions.
type auditLog struct {
	mu   sync.Mutex
	ring [auditSize]Entry
	next uint64
}

const auditSize = 8192

func (l *auditLog) record(e Entry) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	l.mu.Lock()
	l.ring[l.next%auditSize] = e
	l.next++
	l.mu.Unlock()
}

// Audit returns the recorded decisions, oldest first, that keep returns
// true for.
func (a *Authorizer) Audit(keep func(*Entry) bool) []Entry {
	l := &a.log
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Entry
	start := uint64(0)
	if l.next > auditSize {
		start = l.next - auditSize
	}
	for i := start; i < l.next; i++ {
		e := &l.ring[i%auditSize]
		if keep == nil || keep(e) {
			out = append(out, *e)
		}
	}
	return out
}
