package server

import (
	"fmt"
	"strings"
	"time"

	"github.com/cloudlet/cloudlet/internal/async"
	"github.com/cloudlet/cloudlet/internal/iam"
	"github.com/cloudlet/cloudlet/internal/sqs"
	"github.com/cloudlet/cloudlet/internal/store"
)

// destinations sends the records of asynchronous invocations (onSuccess,
// onFailure, onError) to queues and functions, in the transaction that
// ends the event, as the function's execution role: what its role does
// not allow is refused.
type destinations struct{ s *Server }

func refuse(format string, args ...any) error {
	return fmt.Errorf("%w: %s", async.ErrRefused, fmt.Sprintf(format, args...))
}

// DeliverTx implements async.Deliverer.
func (d destinations) DeliverTx(tx *store.Tx, function, arn string, body []byte, attrs []async.Attribute) (func(), error) {
	s := d.s
	parts := strings.SplitN(arn, ":", 7)
	if len(parts) < 6 || parts[0] != "arn" || parts[1] != "aws" {
		return nil, refuse("%s is not an ARN", arn)
	}
	if parts[3] != s.opts.Region || parts[4] != DefaultAccountID {
		return nil, refuse("%s is not in this server's region (%s) and account (%s)", arn, s.opts.Region, DefaultAccountID)
	}
	var action, resource, target string
	var rp *iam.Policy
	switch parts[2] {
	case "sqs":
		action, resource, target = "sqs:SendMessage", arn, parts[5]
		rp = s.queues.Policy(target)
	case "lambda":
		if parts[5] != "function" || len(parts) < 7 {
			return nil, refuse("%s is not a function's ARN", arn)
		}
		target, _, _ = strings.Cut(parts[6], ":") // a qualifier names $LATEST here
		action, resource = "lambda:InvokeFunction", s.registry.ARN(target)
		rp = s.policies.Policy(target)
	default:
		return nil, refuse("Cloudlet sends records to queues and functions, not to %s destinations", parts[2])
	}
	key, ok := s.keys.FunctionKey(function)
	if !ok {
		return nil, refuse("the function %s has no execution role", function)
	}
	req := &iam.Request{Action: action, Resource: resource}
	req.Context.Time, req.Context.RequestedRegion, req.Context.SecureTransport = time.Now(), s.opts.Region, true
	if out := s.authz.Authorize(key, req, rp); out.Refused {
		return nil, refuse("the function's execution role %s is not allowed to call %s on %s", key.Principal.RoleName, action, resource)
	}
	if parts[2] == "sqs" {
		msgAttrs := make(map[string]sqs.MessageAttribute, len(attrs))
		for _, a := range attrs {
			msgAttrs[a.Name] = sqs.MessageAttribute{DataType: a.DataType, StringValue: a.Value}
		}
		_, why, err := s.queues.SendTx(tx, target, string(body), msgAttrs, key.Principal.UserID)
		switch {
		case err != nil:
			return nil, err
		case why != "":
			return nil, refuse("%s: %s", arn, why)
		}
		return s.queues.Wake, nil
	}
	cfg, ok := s.registry.Function(target)
	if !ok {
		return nil, refuse("the function %s does not exist", target)
	}
	if len(body) > 256*1024 {
		return nil, refuse("the record (%d bytes) is over the 256 KB an event destination takes", len(body))
	}
	if _, err := async.EnqueueTx(tx, "", cfg.Name, body, ""); err != nil {
		return nil, err
	}
	return func() { s.events.Wake(cfg.Name) }, nil
}

// authorizeScheduleTarget decides whether a Scheduler schedule's role may
// invoke its function: the role's identity policies, as a session of it
// named "scheduler" (the role's trust policy is not checked: the roles
// of serverless.yml trust Lambda only).
func (s *Server) authorizeScheduleTarget(roleARN, function string) error {
	name := roleARN[strings.LastIndexByte(roleARN, '/')+1:]
	role, ok := s.keys.Role(name)
	if !ok || role.ARN != roleARN {
		return fmt.Errorf("the role %s does not exist", roleARN)
	}
	key := &iam.Key{Principal: &iam.Principal{
		ARN: "arn:aws:sts::" + DefaultAccountID + ":assumed-role/" + role.Name + "/scheduler", Account: DefaultAccountID,
		UserID: role.RoleID + ":scheduler", RoleARN: role.ARN, RoleName: role.Name, Session: "scheduler",
	}}
	resource := s.registry.ARN(function)
	req := &iam.Request{Action: "lambda:InvokeFunction", Resource: resource}
	req.Context.Time, req.Context.RequestedRegion, req.Context.SecureTransport = time.Now(), s.opts.Region, true
	if out := s.authz.Authorize(key, req, s.policies.Policy(function)); out.Refused {
		return fmt.Errorf("%s is not allowed to call lambda:InvokeFunction on %s", roleARN, resource)
	}
	return nil
}
