package awsapi

import (
	"net"
	"net/http"

	"github.com/cloudlet/cloudlet/internal/iam"
)

// lambdaOps is the Lambda API's operation table (the Service Authorization
// Reference's rows for the operations Cloudlet serves).
var lambdaOps = iam.Register("lambda",
	iam.Operation{Name: "Invoke", Action: "lambda:InvokeFunction", ResourceType: "function"},
	iam.Operation{Name: "ListFunctions", Action: "lambda:ListFunctions", ResourceType: "*"},
	iam.Operation{Name: "GetFunction", Action: "lambda:GetFunction", ResourceType: "function"},
	iam.Operation{Name: "GetFunctionConfiguration", Action: "lambda:GetFunctionConfiguration", ResourceType: "function"},
	iam.Operation{Name: "AddPermission", Action: "lambda:AddPermission", ResourceType: "function"},
	iam.Operation{Name: "GetPolicy", Action: "lambda:GetPolicy", ResourceType: "function"},
	iam.Operation{Name: "RemovePermission", Action: "lambda:RemovePermission", ResourceType: "function"},
	iam.Operation{Name: "PutFunctionEventInvokeConfig", Action: "lambda:PutFunctionEventInvokeConfig", ResourceType: "function"},
	iam.Operation{Name: "UpdateFunctionEventInvokeConfig", Action: "lambda:UpdateFunctionEventInvokeConfig", ResourceType: "function"},
	iam.Operation{Name: "GetFunctionEventInvokeConfig", Action: "lambda:GetFunctionEventInvokeConfig", ResourceType: "function"},
	iam.Operation{Name: "DeleteFunctionEventInvokeConfig", Action: "lambda:DeleteFunctionEventInvokeConfig", ResourceType: "function"},
	iam.Operation{Name: "ListFunctionEventInvokeConfigs", Action: "lambda:ListFunctionEventInvokeConfigs", ResourceType: "function"},
)

// Authorize decides op on resource (an ARN, or "*") for the call's caller,
// with the resource's own policy rp (or nil) and the service's condition
// keys set by keys (or nil). It returns nil when the call may go on, else
// the AccessDenied error to answer with.
func (c *Call) Authorize(op *iam.Operation, resource string, rp *iam.Policy, keys func(*iam.Context)) *Error {
	if c.auth == nil || c.Key == nil {
		return nil // a Handler without IAM (tests, embedding): no principals but the configured keys
	}
	req := iam.Request{Action: op.Action, Resource: resource}
	req.Context.SourceIP = c.sourceIP
	req.Context.RequestedRegion = c.Region
	req.Context.Time = c.Time
	req.Context.SecureTransport = c.secure
	if keys != nil {
		keys(&req.Context)
	}
	out := c.auth.Authorize(c.Key, &req, rp)
	if !out.Refused {
		if !out.Allowed {
			c.Logger.Warn("iam: would deny (soft mode)", "principal", c.Key.Principal.ARN, "action", op.Action, "resource", resource)
		}
		return nil
	}
	msg := iam.DenialMessage(&req, out.Decision)
	c.Logger.Info("iam: denied", "principal", c.Key.Principal.ARN, "action", op.Action, "resource", resource)
	return ErrAccessDenied.Errorf("%s", msg)
}

func sourceIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
