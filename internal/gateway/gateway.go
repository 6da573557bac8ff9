package gateway

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/cloudlet/cloudlet/internal/lambda"
)

// maxBody is the largest request body read. The event that carries it must
// also fit in lambda.MaxSyncPayload, which is checked once it is built.
const maxBody = lambda.MaxSyncPayload

// errorTypeTimeout is the errorType the invoker reports for a timeout.
const errorTypeTimeout = "Sandbox.Timedout"

// Gateway is an http.Handler that emulates API Gateway in front of Lambda
// functions. It is safe for concurrent use; SetRoutes may run while requests
// are served.
type Gateway struct {
	inv    lambda.Invoker
	logger *slog.Logger
	table  atomic.Pointer[table]
	ids    *idGen
	now    func() time.Time // replaced in tests
	pool   sync.Pool        // *scratch
}

// New returns a Gateway that invokes functions through inv and answers 404
// until SetRoutes is called. A nil logger discards.
func New(inv lambda.Invoker, logger *slog.Logger) *Gateway {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	g := &Gateway{inv: inv, logger: logger, ids: newIDGen(), now: time.Now}
	g.pool.New = func() any { return new(scratch) }
	t, _ := newTable(Config{}, nil) // cannot fail
	g.table.Store(t)
	return g
}

// SetRoutes validates routes and, if they are all valid and do not
// conflict, replaces the routing table in one atomic step: each request is
// routed by either the old table or the new one. On error the old table
// keeps serving. The error lists every problem found.
func (g *Gateway) SetRoutes(cfg Config, routes []Route) error {
	t, err := Compile(cfg, routes)
	if err != nil {
		return err
	}
	g.Swap(t)
	return nil
}

// Table is a validated routing table, ready to be swapped in.
type Table struct{ t *table }

// Compile validates routes and builds their table without serving it, so
// that a deploy can check its routes before it changes anything.
func Compile(cfg Config, routes []Route) (*Table, error) {
	t, err := newTable(cfg, routes)
	if err != nil {
		return nil, err
	}
	return &Table{t: t}, nil
}

// Swap serves t from now on, in one atomic step.
func (g *Gateway) Swap(t *Table) { g.table.Store(t.t) }

// ServeHTTP routes r to its function and answers with the function's
// response translated back from the Lambda proxy format, or with API
// Gateway's own error. It never panics on a request or a response.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	debug := g.logger.Enabled(r.Context(), slog.LevelDebug)
	var start time.Time
	if debug {
		start = time.Now()
	}
	x := exchange{t: g.table.Load(), r: r}
	if r.URL != nil {
		x.path = r.URL.EscapedPath()
		x.route = x.t.lookup(x.path, r.Method, &x.m)
	}
	kind := HTTPAPI
	if x.route != nil {
		kind = x.route.Kind
	} else if x.t.hasREST && (!x.t.hasHTTPAPI || x.t.underStage(x.path)) {
		// A path no route has is the REST API's (403 Missing
		// Authentication Token) when only it could have it.
		kind = REST
	}
	x.setIDs(g.ids, kind)
	status := g.serve(w, &x, kind)
	if debug {
		g.logger.LogAttrs(r.Context(), slog.LevelDebug, "request",
			slog.String("requestId", x.reqID), slog.String("method", r.Method), slog.String("path", x.path),
			slog.Int("status", status), slog.Duration("duration", time.Since(start)))
	}
}

func (g *Gateway) serve(w http.ResponseWriter, x *exchange, kind Kind) int {
	if x.r.Header != nil && headerSize(x.r) > MaxRequestHeaders {
		return x.fail(w, kind, failHeaders)
	}
	if x.route == nil {
		return x.fail(w, kind, failNotFound)
	}
	if x.route.preflight {
		return x.preflight(w)
	}
	s := g.pool.Get().(*scratch)
	defer func() {
		s.reset()
		g.pool.Put(s)
	}()
	x.s = s

	r := x.r
	body, f := readBody(r, s.body)
	s.body = body
	if f != failNone {
		return x.fail(w, kind, f)
	}
	x.body = body
	if len(body) > 0 {
		x.binary = !isText(r.Header.Get("Content-Type")) || !utf8.Valid(body)
	}
	x.now = g.now()
	if kind == REST {
		s.buf = x.appendV1(s.buf[:0])
	} else {
		s.buf = x.appendV2(s.buf[:0])
	}
	if len(s.buf) > lambda.MaxSyncPayload {
		return x.fail(w, kind, failTooLarge)
	}
	// The invoker may hold on to the payload after Invoke returns (a timed
	// out invocation still queued): give it its own copy, never the pool's.
	payload := make([]byte, len(s.buf))
	copy(payload, s.buf)

	ctx := r.Context()
	res, err := g.inv.Invoke(ctx, &lambda.Request{
		Function: x.route.Function,
		Payload:  payload,
		TraceID:  r.Header.Get("X-Amzn-Trace-Id"),
	})
	switch {
	case errors.Is(err, lambda.ErrThrottled):
		g.log(ctx, x, slog.LevelWarn, "function throttled")
		return x.fail(w, kind, failThrottled)
	case errors.Is(err, lambda.ErrPayloadTooLarge):
		g.log(ctx, x, slog.LevelWarn, "payload too large for the function", slog.Any("error", err))
		return x.fail(w, kind, failTooLarge)
	case errors.Is(err, lambda.ErrStopped):
		return x.fail(w, kind, failUnavailable)
	case err != nil && ctx.Err() != nil:
		g.log(ctx, x, slog.LevelDebug, "client went away", slog.Any("error", err))
		return x.fail(w, kind, failIntegration)
	case err != nil:
		g.log(ctx, x, slog.LevelError, "invoke failed", slog.Any("error", err))
		return x.fail(w, kind, failIntegration)
	case res == nil:
		g.log(ctx, x, slog.LevelError, "invoker returned no result and no error")
		return x.fail(w, kind, failIntegration)
	case res.FunctionError != "":
		g.log(ctx, x, slog.LevelInfo, "function failed",
			slog.String("functionError", res.FunctionError), slog.String("errorType", res.ErrorType))
		if res.ErrorType == errorTypeTimeout {
			return x.fail(w, kind, failTimeout)
		}
		return x.fail(w, kind, failIntegration)
	}
	rep, bad := parseReply(res.Payload, kind == HTTPAPI, s)
	if bad != "" {
		g.log(ctx, x, slog.LevelWarn, "malformed Lambda proxy response: "+bad)
		return x.fail(w, kind, failIntegration)
	}
	x.writeReply(w, rep)
	return rep.status
}

func (g *Gateway) log(ctx context.Context, x *exchange, level slog.Level, msg string, attrs ...slog.Attr) {
	attrs = append(attrs, slog.String("requestId", x.reqID), slog.String("route", x.route.routeKey),
		slog.String("function", x.route.Function))
	g.logger.LogAttrs(ctx, level, msg, attrs...)
}

// readBody reads the request body into dst, up to maxBody bytes.
func readBody(r *http.Request, dst []byte) ([]byte, failure) {
	dst = dst[:0]
	if r.Body == nil || r.Body == http.NoBody {
		return dst, failNone
	}
	if r.ContentLength > maxBody {
		return dst, failTooLarge
	}
	if n := int(r.ContentLength); n > cap(dst) {
		dst = make([]byte, 0, n+1) // +1: room to see EOF without growing
	}
	for {
		if len(dst) == cap(dst) {
			dst = append(dst, 0)[:len(dst)]
		}
		n, err := r.Body.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if len(dst) > maxBody {
			return dst, failTooLarge
		}
		if err == io.EOF {
			return dst, failNone
		}
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return dst, failTooLarge
			}
			return dst, failBadRequest
		}
	}
}

func (x *exchange) setIDs(g *idGen, kind Kind) {
	n := g.next()
	if kind == REST {
		x.reqID, x.extID = g.uuid(n), g.short(n)
	} else {
		x.reqID = g.short(n)
	}
}

// setIDHeaders adds the request id headers, spelled as AWS spells them.
func (x *exchange) setIDHeaders(h http.Header) {
	if x.extID != "" {
		h["x-amzn-RequestId"] = []string{x.reqID}
		h["x-amz-apigw-id"] = []string{x.extID}
	} else {
		h["apigw-requestid"] = []string{x.reqID}
	}
}

func (x *exchange) fail(w http.ResponseWriter, kind Kind, f failure) int {
	e := wireErrorFor(kind, f)
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	if e.errorType != "" {
		h["x-amzn-ErrorType"] = []string{e.errorType}
	}
	x.setIDHeaders(h)
	w.WriteHeader(e.status)
	_, _ = io.WriteString(w, e.body)
	return e.status
}

// preflight answers a CORS preflight as the Serverless Framework configures
// it: 200 from a REST API's mock integration, 204 from an HTTP API.
func (x *exchange) preflight(w http.ResponseWriter) int {
	h := w.Header()
	h["Access-Control-Allow-Origin"] = []string{"*"}
	h["Access-Control-Allow-Headers"] = []string{corsAllowHeaders}
	h["Access-Control-Allow-Methods"] = []string{x.route.corsMethods}
	x.setIDHeaders(h)
	status := http.StatusNoContent
	if x.route.Kind == REST {
		status = http.StatusOK
		h["Content-Type"] = []string{"application/json"}
		h["Content-Length"] = []string{"0"}
	}
	w.WriteHeader(status)
	return status
}
