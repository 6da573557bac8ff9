// Package iam decides who may do what: the principals that call Cloudlet's
// AWS APIs, their credentials, and the evaluation of IAM policies on every
// call a service makes on their behalf.
//
// Principals. The admin (the operator's configured key, test/test by default
// on loopback) is the account's root and may do anything; its calls are not
// evaluated or recorded. Every other caller is a session of a role: each
// function instance gets one of its function's role (Keys.IssueFunction, the
// session named after the function, as Lambda names it), and the admin may
// start one with STS AssumeRole. A session has an ASIA access key, a secret,
// a session token and an expiry (SessionTTL); it is revoked when its
// instance exits, when its function is removed or redeployed with another
// role, or when its role is gone (Keys.Commit). Sessions of a role that
// stays see its current policies: a redeploy that changes a statement
// applies to running instances at once.
//
// Policies. ParsePolicy and ParseStatement read AWS's policy grammar and
// refuse what AWS refuses (unknown elements, bad effects, actions without a
// service, resources that are not ARNs, unknown condition operators, values
// an operator cannot compare). Evaluate follows AWS's documented logic for
// one account: an explicit Deny in any policy wins, then an Allow in the
// caller's identity policies or the resource's policy, else an implicit
// deny. Actions match case-insensitively with * and ?; resources part by
// part (a wildcard never spans the first five colons); condition keys
// case-insensitively, with AWS's rules for missing keys (false, but true
// for negated operators; ...IfExists true; ForAllValues true,
// ForAnyValue false). glob runs in O(len(pattern)·len(s)) without
// recursion, so no policy can make a decision slow. Parsing and matching
// are fuzzed (fuzz_test.go).
//
// Authorizer.Authorize is the one entry point services use; it allocates
// nothing when a call is allowed (BenchmarkAuthorize), records every
// decision on a session in a ring of the last 8192 (Audit, Suggest) and
// counts them (Counts). In Soft mode a denial is recorded and the call goes
// on. DenialMessage is AWS's AccessDenied text.
//
// # How a service registers its operations
//
// Each service declares, once, a table of its API operations with the IAM
// action each needs and the type of resource it acts on, as the Service
// Authorization Reference lists them:
//
//	var queueOps = iam.Register("sqs",
//		iam.Operation{Name: "SendMessage", Action: "sqs:SendMessage", ResourceType: "queue"},
//		iam.Operation{Name: "ListQueues", Action: "sqs:ListQueues", ResourceType: "*"},
//	)
//
// and, in each handler, before it looks anything up (so that a caller that
// may not act on a resource cannot learn whether it exists), asks through
// the front door's Call (internal/awsapi):
//
//	if e := call.Authorize(queueOps.Op("SendMessage"), queueARN, queuePolicy, func(c *iam.Context) {
//		c.Set("sqs:messagegroupid", groupID) // the service's own condition keys, lower-case
//	}); e != nil {
//		writeError(w, call.RequestID, e) // AccessDenied with AWS's message, in the service's shape
//		return
//	}
//
// queuePolicy is the resource's own policy (an *iam.Policy with Principal
// elements), or nil for services without resource policies; a batch
// operation asks once per item. Global keys (aws:SourceIp,
// aws:RequestedRegion, aws:CurrentTime, aws:SecureTransport,
// aws:PrincipalArn, ...) are filled in by the front door.
//
// A service principal (S3 sending a bucket's events) is decided by
// ServiceAllowed: only a resource policy naming it (or "*") allows it,
// with aws:SourceArn and aws:SourceAccount set.
//
// Not evaluated (yet): permission boundaries, service control policies,
// session policies, policy variables, tag conditions. Keys, Authorizer and the parsed policies are safe for concurrent
// use; policies are immutable once parsed.
package iam
