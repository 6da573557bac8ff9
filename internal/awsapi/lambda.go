package awsapi

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"

	"github.com/cloudlet/cloudlet/internal/iam"
	"github.com/cloudlet/cloudlet/internal/lambda"
)

// lambdaPrefix is where the Lambda REST-JSON API lives.
const lambdaPrefix = "/2015-03-31/functions"

// maxAsyncInFlight bounds the Event invocations running in the background.
const maxAsyncInFlight = 256

// LambdaService serves the Lambda API: Invoke, ListFunctions, GetFunction and
// GetFunctionConfiguration.
type LambdaService struct {
	inv     lambda.Invoker
	cat     lambda.Catalog
	region  string
	account string
	log     *slog.Logger

	async chan struct{} // one token per background invocation
	wg    sync.WaitGroup

	policies FunctionPolicies // resource-based policies; nil: none can be added
	events   EventQueue       // where Event invocations go; nil: run in the background, not durable
	// eventConfigs keeps EventInvokeConfigs; nil: none can be set.
	eventConfigs EventInvokeConfigs
}

// EventQueue keeps Event invocations durably until they have run
// (internal/async).
type EventQueue interface {
	// Enqueue records an event; id is its request ID, which the function
	// sees on every attempt.
	Enqueue(ctx context.Context, id, function string, payload []byte, traceID string) (string, error)
}

// SetEventQueue makes l hand Event invocations to q, durably, before it
// answers 202. Call it before serving.
func (l *LambdaService) SetEventQueue(q EventQueue) { l.events = q }

// SetPolicies makes l serve AddPermission, GetPolicy and RemovePermission
// over p, and evaluate the policies it keeps on every call. Call it before
// serving.
func (l *LambdaService) SetPolicies(p FunctionPolicies) { l.policies = p }

// NewLambda returns the Lambda API over inv and cat. Region and account make
// the ARNs it reports.
func NewLambda(inv lambda.Invoker, cat lambda.Catalog, region, account string, logger *slog.Logger) *LambdaService {
	if logger == nil {
		logger = slog.Default()
	}
	return &LambdaService{
		inv: inv, cat: cat, region: region, account: account, log: logger,
		async: make(chan struct{}, maxAsyncInFlight),
	}
}

// MaxBody implements BodyLimiter: the 6 MB synchronous Invoke quota.
func (l *LambdaService) MaxBody() (int64, *Error) {
	return lambda.MaxSyncPayload, ErrRequestTooLarge.Errorf(
		"Request must be smaller than %d bytes for the InvokeFunction operation", lambda.MaxSyncPayload)
}

// Drain waits until the background (Event) invocations have finished or ctx
// is done.
func (l *LambdaService) Drain(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		l.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ServeAWS implements Service.
func (l *LambdaService) ServeAWS(w http.ResponseWriter, r *http.Request, call *Call) {
	if rest, found := strings.CutPrefix(wirePath(r), eventConfigPrefix); found {
		l.serveEventConfig(w, r, call, rest)
		return
	}
	name, op, sid, ok := lambdaRoute(wirePath(r))
	switch {
	case ok && op == "policy" && sid == "" && r.Method == http.MethodPost && l.policies != nil:
		l.addPermission(w, r, call, name)
	case ok && op == "policy" && sid == "" && r.Method == http.MethodGet && l.policies != nil:
		l.getPolicy(w, r, call, name)
	case ok && op == "policy" && sid != "" && r.Method == http.MethodDelete && l.policies != nil:
		l.removePermission(w, r, call, name, sid)
	case ok && op == "" && name == "" && r.Method == http.MethodGet:
		l.listFunctions(w, r, call)
	case ok && op == "" && name != "" && r.Method == http.MethodGet:
		l.getFunction(w, r, call, name)
	case ok && op == "configuration" && r.Method == http.MethodGet:
		l.getFunctionConfiguration(w, r, call, name)
	case ok && op == "invocations" && r.Method == http.MethodPost:
		l.invoke(w, r, call, name)
	default:
		writeJSONError(w, call.RequestID, ErrUnknownOperation.Errorf(
			"Cloudlet's Lambda API has no operation %s %s; it serves Invoke, ListFunctions, GetFunction, GetFunctionConfiguration, AddPermission, GetPolicy, RemovePermission and the EventInvokeConfig operations.",
			r.Method, r.URL.Path))
	}
}

// lambdaRoute splits a wire path under /2015-03-31/functions into the
// (unescaped) function name, the operation segment after it and, for
// policy/{sid}, the statement ID.
func lambdaRoute(path string) (name, op, sid string, ok bool) {
	rest, found := strings.CutPrefix(path, lambdaPrefix)
	if !found {
		return "", "", "", false
	}
	if rest == "" || rest == "/" {
		return "", "", "", true
	}
	if rest[0] != '/' {
		return "", "", "", false
	}
	segs := strings.Split(rest[1:], "/")
	if len(segs) > 3 || segs[0] == "" {
		return "", "", "", false
	}
	name, err := url.PathUnescape(segs[0])
	if err != nil {
		return "", "", "", false
	}
	if len(segs) >= 2 {
		op = segs[1]
		if op != "configuration" && op != "invocations" && op != "policy" {
			return "", "", "", false
		}
	}
	if len(segs) == 3 {
		if op != "policy" || segs[2] == "" {
			return "", "", "", false
		}
		if sid, err = url.PathUnescape(segs[2]); err != nil {
			return "", "", "", false
		}
	}
	return name, op, sid, true
}

// invoke serves Invoke: POST /2015-03-31/functions/{FunctionName}/invocations.
func (l *LambdaService) invoke(w http.ResponseWriter, r *http.Request, call *Call, name string) {
	cfg, qualifier, ok := l.target(w, r, call, "Invoke", name)
	if !ok {
		return
	}
	invType := r.Header.Get("X-Amz-Invocation-Type")
	switch invType {
	case "":
		invType = "RequestResponse"
	case "RequestResponse", "Event", "DryRun":
	default:
		writeJSONError(w, call.RequestID, ErrValidation.Errorf(
			"1 validation error detected: Value '%s' at 'invocationType' failed to satisfy constraint: "+
				"Member must satisfy enum value set: [Event, RequestResponse, DryRun]", invType))
		return
	}
	logType := r.Header.Get("X-Amz-Log-Type")
	if logType != "" && logType != "None" && logType != "Tail" {
		writeJSONError(w, call.RequestID, ErrValidation.Errorf(
			"1 validation error detected: Value '%s' at 'logType' failed to satisfy constraint: "+
				"Member must satisfy enum value set: [None, Tail]", logType))
		return
	}

	payload := call.Body
	if invType == "Event" && len(payload) > lambda.MaxAsyncPayload {
		writeJSONError(w, call.RequestID, ErrRequestEntityTooLarge.Errorf(
			"%d byte payload is too large for the Event invocation type (limit %d bytes)", len(payload), lambda.MaxAsyncPayload))
		return
	}
	if len(payload) == 0 {
		// The SDKs send no body for a nil Payload; the function gets {}.
		payload = []byte("{}")
	} else if reason := checkPayload(payload); reason != "" {
		writeJSONError(w, call.RequestID, ErrInvalidRequestContent.Errorf(
			"Could not parse request body into json: Could not parse payload into json: %s", reason))
		return
	}

	req := &lambda.Request{
		Function:      cfg.Name,
		Payload:       payload,
		ClientContext: r.Header.Get("X-Amz-Client-Context"),
		TraceID:       r.Header.Get("X-Amzn-Trace-Id"),
		Tail:          logType == "Tail",
	}
	log := call.Logger.With("function", cfg.Name, "invocation_type", invType)
	switch invType {
	case "DryRun":
		w.WriteHeader(http.StatusNoContent)
	case "Event":
		l.invokeAsync(w, r, call, cfg, req, log)
	default:
		l.invokeSync(w, r, call, cfg, qualifier, logType == "Tail", req, log)
	}
}

func (l *LambdaService) invokeSync(w http.ResponseWriter, r *http.Request, call *Call, cfg lambda.Config,
	qualifier string, tail bool, req *lambda.Request, log *slog.Logger) {
	res, err := l.inv.Invoke(r.Context(), req)
	if err != nil {
		if r.Context().Err() != nil {
			log.Info("invoke abandoned by the client", "err", err)
		} else {
			log.Info("invoke failed", "err", err)
		}
		writeJSONError(w, call.RequestID, l.invokeError(err, cfg, qualifier))
		return
	}
	h := w.Header()
	if res.RequestID != "" {
		// The Invoke response carries the request ID the function saw.
		h.Set("x-amzn-RequestId", res.RequestID)
	}
	h.Set("Content-Type", "application/json")
	h.Set("X-Amz-Executed-Version", "$LATEST")
	if res.FunctionError != "" {
		h.Set("X-Amz-Function-Error", res.FunctionError)
	}
	if tail {
		h.Set("X-Amz-Log-Result", base64.StdEncoding.EncodeToString(res.LogTail))
	}
	log.Debug("invoked", "invocation_id", res.RequestID, "function_error", res.FunctionError, "error_type", res.ErrorType)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(res.Payload)
}

// invokeAsync queues an Event invocation and answers 202 at once.
func (l *LambdaService) invokeAsync(w http.ResponseWriter, r *http.Request, call *Call, cfg lambda.Config,
	req *lambda.Request, log *slog.Logger) {
	if l.events != nil {
		// The 202's request ID is the one the function sees, as on AWS.
		id, err := l.events.Enqueue(r.Context(), call.RequestID, cfg.Name, req.Payload, req.TraceID)
		if err != nil {
			log.Error("event invocation could not be recorded", "err", err)
			writeJSONError(w, call.RequestID, ErrServiceFailure.Errorf("The event could not be recorded: %v", err))
			return
		}
		log.Debug("event invocation queued", "event_id", id)
		w.WriteHeader(http.StatusAccepted)
		return
	}
	select {
	case l.async <- struct{}{}:
	default:
		e := ErrTooManyRequests.Err()
		e.Reason = "ConcurrentInvocationLimitExceeded"
		log.Warn("event invocation refused: background invocations at their limit", "limit", maxAsyncInFlight)
		writeJSONError(w, call.RequestID, e)
		return
	}
	l.wg.Add(1)
	// The invocation outlives the request, so it must not be cancelled with it.
	ctx := context.WithoutCancel(r.Context())
	go func() {
		defer l.wg.Done()
		defer func() { <-l.async }()
		res, err := l.inv.Invoke(ctx, req)
		switch {
		case err != nil:
			log.Warn("event invocation failed", "err", err)
		case res.FunctionError != "":
			log.Info("event invocation returned a function error", "invocation_id", res.RequestID, "error_type", res.ErrorType)
		default:
			log.Debug("event invocation done", "invocation_id", res.RequestID)
		}
	}()
	w.WriteHeader(http.StatusAccepted)
}

// invokeError maps an Invoker error to its wire error.
func (l *LambdaService) invokeError(err error, cfg lambda.Config, qualifier string) *Error {
	switch {
	case errors.Is(err, lambda.ErrFunctionNotFound):
		return l.notFound(cfg.Name, qualifier)
	case errors.Is(err, lambda.ErrThrottled):
		e := ErrTooManyRequests.Err()
		e.Reason = "ConcurrentInvocationLimitExceeded"
		if cfg.ReservedConcurrency != nil {
			e.Reason = "ReservedFunctionConcurrentInvocationLimitExceeded"
		}
		return e
	case errors.Is(err, lambda.ErrPayloadTooLarge):
		_, e := l.MaxBody()
		return e
	case errors.Is(err, lambda.ErrStopped):
		return ErrServiceStopping.Err()
	default:
		return ErrServiceFailure.Err()
	}
}

// target authorizes op on the function a path names and looks it up. It
// answers the error itself and reports false when the call cannot go on.
func (l *LambdaService) target(w http.ResponseWriter, r *http.Request, call *Call, op, name string) (lambda.Config, string, bool) {
	fn, qualifier, e := l.parseFunction(name, r.URL.Query().Get("Qualifier"))
	if e == nil && !l.authorize(w, call, op, fn, qualifier) {
		return lambda.Config{}, "", false
	}
	var cfg lambda.Config
	if e == nil {
		cfg, e = l.lookup(fn, qualifier)
	}
	if e != nil {
		writeJSONError(w, call.RequestID, e)
		return lambda.Config{}, "", false
	}
	return cfg, qualifier, true
}

var functionNameRe = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,140}$`)

// parseFunction reads a FunctionName as Lambda accepts it — name,
// name:qualifier, ACCOUNT:function:name[:qualifier] or the full ARN — and
// returns the bare name and the qualifier (from the name or ?Qualifier=).
// A name of another partition, region or account, or not a function's,
// names nothing here: ResourceNotFoundException.
func (l *LambdaService) parseFunction(name, queryQualifier string) (fn, qualifier string, e *Error) {
	parts := strings.Split(name, ":")
	switch {
	case len(parts) <= 2 && parts[0] != "arn":
		fn = parts[0]
		if len(parts) == 2 {
			qualifier = parts[1]
		}
	case parts[0] == "arn" && (len(parts) == 7 || len(parts) == 8) && parts[1] == "aws" && parts[2] == "lambda" &&
		parts[3] == l.region && parts[4] == l.account && parts[5] == "function":
		fn = parts[6]
		if len(parts) == 8 {
			qualifier = parts[7]
		}
	case parts[0] != "arn" && (len(parts) == 3 || len(parts) == 4) && parts[0] == l.account && parts[1] == "function":
		fn = parts[2]
		if len(parts) == 4 {
			qualifier = parts[3]
		}
	default:
		return "", "", ErrResourceNotFound.Errorf("Function not found: %s", l.functionARN(name))
	}
	if !functionNameRe.MatchString(fn) || strings.HasSuffix(name, ":") {
		return "", "", ErrResourceNotFound.Errorf("Function not found: %s", l.functionARN(name))
	}
	if queryQualifier != "" {
		if qualifier != "" && qualifier != queryQualifier {
			return "", "", ErrInvalidParameterValue.Errorf(
				"The derived qualifier from the function name does not match the specified qualifier.")
		}
		qualifier = queryQualifier
	}
	return fn, qualifier, nil
}

// authorize checks op on function fn (its ARN as this server names it,
// with the qualifier) before it is looked up: a caller that may not act on
// it learns nothing of whether it exists, as on AWS. fn "" is an action on
// no function (ListFunctions). It answers the denial and reports false
// when refused.
func (l *LambdaService) authorize(w http.ResponseWriter, call *Call, op, fn, qualifier string) bool {
	resource := "*"
	var rp *iam.Policy // the function's own policy: another principal's grant
	if fn != "" {
		resource = l.functionARN(fn)
		if qualifier != "" {
			resource += ":" + qualifier
		}
		if l.policies != nil {
			rp = l.policies.Policy(fn)
		}
	}
	if e := call.Authorize(lambdaOps.Op(op), resource, rp, nil); e != nil {
		writeJSONError(w, call.RequestID, e)
		return false
	}
	return true
}

// lookup finds function fn; only $LATEST exists (Cloudlet publishes no
// versions).
func (l *LambdaService) lookup(fn, qualifier string) (lambda.Config, *Error) {
	if qualifier != "" && qualifier != "$LATEST" {
		return lambda.Config{}, l.notFound(fn, qualifier)
	}
	cfg, ok := l.cat.Function(fn)
	if !ok || cfg.Name != fn {
		return lambda.Config{}, l.notFound(fn, qualifier)
	}
	return cfg, nil
}

func (l *LambdaService) notFound(name, qualifier string) *Error {
	arn := l.functionARN(name)
	if qualifier != "" {
		arn += ":" + qualifier
	}
	return ErrResourceNotFound.Errorf("Function not found: %s", arn)
}

// functionARN turns a function name, partial ARN or ARN into a full ARN.
func (l *LambdaService) functionARN(name string) string {
	switch {
	case strings.HasPrefix(name, "arn:"):
		return name
	case strings.Contains(name, ":function:"):
		return "arn:aws:lambda:" + l.region + ":" + name
	default:
		return "arn:aws:lambda:" + l.region + ":" + l.account + ":function:" + name
	}
}
