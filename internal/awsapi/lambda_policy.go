package awsapi

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/cloudlet/cloudlet/internal/iam"
)

// FunctionPolicies keeps functions' resource-based policies (AddPermission).
// Implementations make a change durable before they return.
type FunctionPolicies interface {
	// Policy returns a function's parsed policy, or nil when it has none
	// (on every call: it must be cheap).
	Policy(function string) *iam.Policy
	// Document returns a function's policy document (JSON) and its
	// revision, or ok false when it has none.
	Document(function string) (doc []byte, revision string, ok bool)
	// Add appends a statement; ErrStatementExists when its Sid is taken.
	Add(function, sid string, statement map[string]any) error
	// Remove deletes a statement; ErrStatementNotFound when there is none.
	Remove(function, sid string) error
}

// Errors of FunctionPolicies.
var (
	ErrStatementExists   = &Error{Code: "ResourceConflictException", Status: http.StatusConflict, Type: "User"}
	ErrStatementNotFound = &Error{Code: "ResourceNotFoundException", Status: http.StatusNotFound, Type: "User"}
)

var (
	sidRe          = regexp.MustCompile(`^[a-zA-Z0-9-_.]{1,100}$`)
	lambdaActionRe = regexp.MustCompile(`^(lambda:[*]|lambda:[a-zA-Z]+|[*])$`)
)

// addPermission serves AddPermission: POST .../functions/{name}/policy.
func (l *LambdaService) addPermission(w http.ResponseWriter, r *http.Request, call *Call, name string) {
	cfg, qualifier, ok := l.target(w, r, call, "AddPermission", name)
	if !ok {
		return
	}
	var in struct {
		StatementID      string `json:"StatementId"`
		Action           string `json:"Action"`
		Principal        string `json:"Principal"`
		SourceArn        string `json:"SourceArn"`
		SourceAccount    string `json:"SourceAccount"`
		PrincipalOrgID   string `json:"PrincipalOrgID"`
		EventSourceToken string `json:"EventSourceToken"`
		RevisionID       string `json:"RevisionId"`
		FunctionURLAuth  string `json:"FunctionUrlAuthType"`
	}
	if err := json.Unmarshal(call.Body, &in); err != nil {
		writeJSONError(w, call.RequestID, ErrInvalidRequestContent.Errorf("Could not parse request body into json: %v", err))
		return
	}
	var problems []string
	if !sidRe.MatchString(in.StatementID) {
		problems = append(problems, "Value '"+in.StatementID+"' at 'statementId' failed to satisfy constraint: Member must satisfy regular expression pattern: ([a-zA-Z0-9-_.]+)")
	}
	if !lambdaActionRe.MatchString(in.Action) {
		problems = append(problems, "Value '"+in.Action+"' at 'action' failed to satisfy constraint: Member must satisfy regular expression pattern: (lambda:[*]|lambda:[a-zA-Z]+|[*])")
	}
	if in.Principal == "" || strings.ContainsAny(in.Principal, " \t\n") {
		problems = append(problems, "Value '"+in.Principal+"' at 'principal' failed to satisfy constraint: Member must satisfy regular expression pattern: [^\\s]+")
	}
	if len(problems) > 0 {
		writeJSONError(w, call.RequestID, validationErrors(problems))
		return
	}
	if in.FunctionURLAuth != "" || in.EventSourceToken != "" {
		writeJSONError(w, call.RequestID, ErrInvalidParameterValue.Errorf("Cloudlet does not serve function URLs or Alexa event sources yet: leave out FunctionUrlAuthType and EventSourceToken"))
		return
	}
	if _, rev, _ := l.policies.Document(cfg.Name); in.RevisionID != "" && in.RevisionID != rev {
		writeJSONError(w, call.RequestID, ErrPreconditionFailed.Errorf("The Revision Id provided does not match the latest Revision Id. Call the GetPolicy API to retrieve the latest Revision Id"))
		return
	}
	resource := cfg.ARN
	if resource == "" {
		resource = l.functionARN(cfg.Name)
	}
	if qualifier != "" {
		resource += ":" + qualifier
	}
	st := map[string]any{"Sid": in.StatementID, "Effect": "Allow", "Principal": policyPrincipal(in.Principal),
		"Action": in.Action, "Resource": resource}
	cond := map[string]any{}
	if in.SourceArn != "" {
		cond["ArnLike"] = map[string]any{"AWS:SourceArn": in.SourceArn}
	}
	if in.SourceAccount != "" {
		cond["StringEquals"] = map[string]any{"AWS:SourceAccount": in.SourceAccount}
	}
	if in.PrincipalOrgID != "" {
		eq, _ := cond["StringEquals"].(map[string]any)
		if eq == nil {
			eq = map[string]any{}
			cond["StringEquals"] = eq
		}
		eq["aws:PrincipalOrgID"] = in.PrincipalOrgID
	}
	if len(cond) > 0 {
		st["Condition"] = cond
	}
	if _, err := iam.ParseStatement(st, "AddPermission"); err != nil {
		writeJSONError(w, call.RequestID, ErrInvalidParameterValue.Errorf("%s", strings.TrimPrefix(err.Error(), "AddPermission: ")))
		return
	}
	if err := l.policies.Add(cfg.Name, in.StatementID, st); err != nil {
		if err == ErrStatementExists {
			writeJSONError(w, call.RequestID, &Error{Code: ErrStatementExists.Code, Status: ErrStatementExists.Status, Type: "User",
				Message: "The statement id (" + in.StatementID + ") provided already exists. Please provide a new statement id, or remove the existing statement."})
			return
		}
		call.Logger.Error("record a function policy", "err", err)
		writeJSONError(w, call.RequestID, ErrServiceFailure.Err())
		return
	}
	b, _ := json.Marshal(st)
	out, _ := json.Marshal(map[string]string{"Statement": string(b)})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	w.Write(out)
}

// policyPrincipal writes AddPermission's Principal as Lambda stores it.
func policyPrincipal(p string) any {
	switch {
	case p == "*":
		return "*"
	case len(p) == 12 && strings.Trim(p, "0123456789") == "":
		return map[string]any{"AWS": "arn:aws:iam::" + p + ":root"}
	case strings.HasPrefix(p, "arn:"):
		return map[string]any{"AWS": p}
	}
	return map[string]any{"Service": p}
}

// getPolicy serves GetPolicy: GET .../functions/{name}/policy.
func (l *LambdaService) getPolicy(w http.ResponseWriter, r *http.Request, call *Call, name string) {
	cfg, _, ok := l.target(w, r, call, "GetPolicy", name)
	if !ok {
		return
	}
	doc, rev, ok := l.policies.Document(cfg.Name)
	if !ok {
		writeJSONError(w, call.RequestID, ErrResourceNotFound.Errorf("The resource you requested does not exist."))
		return
	}
	writeJSON(w, call, map[string]string{"Policy": string(doc), "RevisionId": rev})
}

// removePermission serves RemovePermission: DELETE .../functions/{name}/policy/{sid}.
func (l *LambdaService) removePermission(w http.ResponseWriter, r *http.Request, call *Call, name, sid string) {
	cfg, _, ok := l.target(w, r, call, "RemovePermission", name)
	if !ok {
		return
	}
	if err := l.policies.Remove(cfg.Name, sid); err != nil {
		if err == ErrStatementNotFound {
			writeJSONError(w, call.RequestID, ErrResourceNotFound.Errorf("Statement %s is not found in resource policy.", sid))
			return
		}
		call.Logger.Error("record a function policy", "err", err)
		writeJSONError(w, call.RequestID, ErrServiceFailure.Err())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func validationErrors(problems []string) *Error {
	n := len(problems)
	msg := "1 validation error detected: "
	if n > 1 {
		msg = strings.Replace(msg, "1 validation error", strconv.Itoa(n)+" validation errors", 1)
	}
	return ErrValidation.Errorf("%s%s", msg, strings.Join(problems, "; "))
}
