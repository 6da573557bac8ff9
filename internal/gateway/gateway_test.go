package gateway

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/cloudlet/cloudlet/internal/lambda"
)

var (
	restRoute = Route{Kind: REST, Method: "GET", Path: "/r", Function: "rest-fn"}
	httpRoute = Route{Kind: HTTPAPI, Method: "GET", Path: "/h", Function: "http-fn"}
)

func failWith(err error) func(*lambda.Request) (*lambda.Result, error) {
	return func(*lambda.Request) (*lambda.Result, error) { return nil, err }
}

func functionError(errorType string) func(*lambda.Request) (*lambda.Result, error) {
	return func(*lambda.Request) (*lambda.Result, error) {
		return &lambda.Result{
			FunctionError: "Unhandled", ErrorType: errorType,
			Payload: []byte(`{"errorMessage":"boom","errorType":"` + errorType + `"}`),
		}, nil
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestResponses(t *testing.T) {
	png := "\x89PNG\r\n\x1a\n\x00\xff"
	tests := []struct {
		name    string
		route   Route
		reply   func(*lambda.Request) (*lambda.Result, error)
		status  int
		headers map[string][]string // exact values of these headers
		body    string
	}{
		// REST, payload 1.0.
		{"rest basic", restRoute, result(`{"statusCode":201,"headers":{"x-a":"1"},"body":"hi"}`),
			201, map[string][]string{"X-A": {"1"}, "Content-Type": {"application/json"}, "Content-Length": {"2"}}, "hi"},
		{"rest multi-value headers win over headers", restRoute,
			result(`{"statusCode":200,"headers":{"Set-Cookie":"c=0","X-B":"b","Content-Type":"text/plain"},"multiValueHeaders":{"set-cookie":["a=1","b=2"],"X-N":[1,true,null],"X-Null":null}}`),
			200, map[string][]string{"Set-Cookie": {"a=1", "b=2"}, "X-B": {"b"}, "X-N": {"1", "true"}, "X-Null": nil, "Content-Type": {"text/plain"}}, ""},
		{"rest base64 body", restRoute,
			result(`{"statusCode":200,"headers":{"Content-Type":"image/png"},"body":"` + base64.StdEncoding.EncodeToString([]byte(png)) + `","isBase64Encoded":true}`),
			200, map[string][]string{"Content-Type": {"image/png"}}, png},
		{"rest base64 body without padding, with line breaks", restRoute,
			result(`{"statusCode":200,"body":"aGVs\nbG8","isBase64Encoded":true}`), 200, nil, "hello"},
		{"rest escaped body and key", restRoute,
			result(`{"status\u0043ode":200,"body":"{\"a\":\"\u00e9\\n\ud83d\ude00\"}"}`), 200, nil, "{\"a\":\"é\\n😀\"}"},
		{"rest null fields", restRoute, result(`{"statusCode":204,"headers":null,"multiValueHeaders":null,"body":null,"isBase64Encoded":null}`),
			204, nil, ""},
		{"rest number and boolean header values", restRoute, result(`{"statusCode":200,"headers":{"X-Num":42,"X-Bool":false,"X-Null":null}}`),
			200, map[string][]string{"X-Num": {"42"}, "X-Bool": {"false"}, "X-Null": nil}, ""},
		{"rest invalid header names are dropped", restRoute, result(`{"statusCode":200,"headers":{"bad name":"x","":"y","ok":"z","Content-Length":"999"}}`),
			200, map[string][]string{"Bad name": nil, "Ok": {"z"}, "Content-Length": {"0"}}, ""},
		{"rest extra fields are ignored", restRoute, result(`{"statusCode":200,"body":"x","extra":{"a":[1,2]}}`), 200, nil, "x"},
		{"rest not JSON", restRoute, result(`hello`), 502, nil, `{"message": "Internal server error"}`},
		{"rest empty payload", restRoute, result(``), 502, nil, `{"message": "Internal server error"}`},
		{"rest array", restRoute, result(`[1]`), 502, nil, `{"message": "Internal server error"}`},
		{"rest string", restRoute, result(`"hi"`), 502, nil, `{"message": "Internal server error"}`},
		{"rest no statusCode", restRoute, result(`{"body":"x"}`), 502, nil, `{"message": "Internal server error"}`},
		{"rest statusCode string", restRoute, result(`{"statusCode":"200"}`), 502, nil, `{"message": "Internal server error"}`},
		{"rest statusCode float", restRoute, result(`{"statusCode":200.5}`), 502, nil, `{"message": "Internal server error"}`},
		{"rest statusCode out of range", restRoute, result(`{"statusCode":99}`), 502, nil, `{"message": "Internal server error"}`},
		{"rest statusCode 1xx", restRoute, result(`{"statusCode":101}`), 502, nil, `{"message": "Internal server error"}`},
		{"rest body object", restRoute, result(`{"statusCode":200,"body":{"a":1}}`), 502, nil, `{"message": "Internal server error"}`},
		{"rest bad base64", restRoute, result(`{"statusCode":200,"body":"!!!","isBase64Encoded":true}`), 502, nil, `{"message": "Internal server error"}`},
		{"rest headers array", restRoute, result(`{"statusCode":200,"headers":["a"]}`), 502, nil, `{"message": "Internal server error"}`},
		{"rest header value object", restRoute, result(`{"statusCode":200,"headers":{"a":{"b":1}}}`), 502, nil, `{"message": "Internal server error"}`},
		{"rest multi-value headers string", restRoute, result(`{"statusCode":200,"multiValueHeaders":"a"}`), 502, nil, `{"message": "Internal server error"}`},
		{"rest multi-value header not an array", restRoute, result(`{"statusCode":200,"multiValueHeaders":{"a":"b"}}`), 502, nil, `{"message": "Internal server error"}`},
		{"rest multi-value header holds an object", restRoute, result(`{"statusCode":200,"multiValueHeaders":{"a":[{}]}}`), 502, nil, `{"message": "Internal server error"}`},
		{"rest ignores cookies", restRoute, result(`{"statusCode":200,"cookies":["a=1"]}`), 200, map[string][]string{"Set-Cookie": nil}, ""},
		{"rest function error", restRoute, functionError("Error"), 502,
			map[string][]string{"x-amzn-ErrorType": {"InternalServerErrorException"}}, `{"message": "Internal server error"}`},
		{"rest timeout", restRoute, functionError("Sandbox.Timedout"), 504, nil, `{"message": "Endpoint request timed out"}`},
		{"rest throttled", restRoute, failWith(fmt.Errorf("invoke: %w", lambda.ErrThrottled)), 429,
			map[string][]string{"x-amzn-ErrorType": {"TooManyRequestsException"}, "Content-Type": {"application/json"}}, `{"message":"Too Many Requests"}`},
		{"rest function not found", restRoute, failWith(lambda.ErrFunctionNotFound), 502, nil, `{"message": "Internal server error"}`},
		{"rest other error", restRoute, failWith(errors.New("disk on fire")), 502, nil, `{"message": "Internal server error"}`},
		{"rest stopping", restRoute, failWith(lambda.ErrStopped), 503, nil, `{"message":"Service Unavailable"}`},
		{"rest payload too large", restRoute, failWith(lambda.ErrPayloadTooLarge), 413, nil, `{"message":"Request Too Long"}`},
		{"rest nil result", restRoute, failWith(nil), 502, nil, `{"message": "Internal server error"}`},

		// HTTP API, payload 2.0.
		{"http statusCode with cookies", httpRoute,
			result(`{"statusCode":200,"headers":{"content-type":"text/html"},"cookies":["a=1; Path=/","b=2"],"body":"<p>"}`),
			200, map[string][]string{"Set-Cookie": {"a=1; Path=/", "b=2"}, "Content-Type": {"text/html"}}, "<p>"},
		{"http ignores multiValueHeaders", httpRoute, result(`{"statusCode":200,"multiValueHeaders":{"X-M":["1"]}}`),
			200, map[string][]string{"X-M": nil}, ""},
		{"http base64 body", httpRoute,
			result(`{"statusCode":200,"body":"` + base64.StdEncoding.EncodeToString([]byte(png)) + `","isBase64Encoded":true}`),
			200, nil, png},
		{"http object without statusCode", httpRoute, result(` {"message": "hi", "n": [1, 2]} `),
			200, map[string][]string{"Content-Type": {"application/json"}}, `{"message": "hi", "n": [1, 2]}`},
		{"http string", httpRoute, result(`"Hello from \"Lambda\""`),
			200, map[string][]string{"Content-Type": {"application/json"}}, `Hello from "Lambda"`},
		{"http number", httpRoute, result(`42`), 200, nil, `42`},
		{"http null", httpRoute, result(`null`), 200, nil, `null`},
		{"http array", httpRoute, result(`[1,2]`), 200, nil, `[1,2]`},
		{"http invalid JSON", httpRoute, result(`{"statusCode":`), 500, nil, `{"message":"Internal Server Error"}`},
		{"http statusCode invalid", httpRoute, result(`{"statusCode":"ok"}`), 500, nil, `{"message":"Internal Server Error"}`},
		{"http statusCode null", httpRoute, result(`{"statusCode":null}`), 500, nil, `{"message":"Internal Server Error"}`},
		{"http cookies not an array", httpRoute, result(`{"statusCode":200,"cookies":"a=1"}`), 500, nil, `{"message":"Internal Server Error"}`},
		{"http cookie not a string", httpRoute, result(`{"statusCode":200,"cookies":[1]}`), 500, nil, `{"message":"Internal Server Error"}`},
		{"http function error", httpRoute, functionError("TypeError"), 500,
			map[string][]string{"x-amzn-ErrorType": nil}, `{"message":"Internal Server Error"}`},
		{"http timeout", httpRoute, functionError("Sandbox.Timedout"), 503, nil, `{"message":"Service Unavailable"}`},
		{"http throttled", httpRoute, failWith(lambda.ErrThrottled), 429, nil, `{"message":"Too Many Requests"}`},
		{"http function not found", httpRoute, failWith(lambda.ErrFunctionNotFound), 500, nil, `{"message":"Internal Server Error"}`},
		{"http other error", httpRoute, failWith(errors.New("disk on fire")), 500, nil, `{"message":"Internal Server Error"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeInvoker{reply: tc.reply}
			g := newTestGateway(t, f, tc.route)
			w := serve(g, request{method: "GET", target: tc.route.Path})
			if w.Code != tc.status {
				t.Errorf("status = %d, want %d", w.Code, tc.status)
			}
			if w.Body.String() != tc.body {
				t.Errorf("body = %q, want %q", w.Body, tc.body)
			}
			h := w.Result().Header
			for k, want := range tc.headers {
				if got := w.Header()[k]; !slices.Equal(got, want) {
					t.Errorf("header %s = %q, want %q (all: %v)", k, got, want, h)
				}
			}
			checkIDHeaders(t, tc.route.Kind, w.Header())
		})
	}
}

var (
	uuidRE  = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	shortRE = regexp.MustCompile(`^[A-Za-z0-9_-]{15}=$`)
)

func checkIDHeaders(t *testing.T, k Kind, h http.Header) {
	t.Helper()
	if k == REST {
		if id := h["x-amzn-RequestId"]; len(id) != 1 || !uuidRE.MatchString(id[0]) {
			t.Errorf("x-amzn-RequestId = %q", id)
		}
		if id := h["x-amz-apigw-id"]; len(id) != 1 || !shortRE.MatchString(id[0]) {
			t.Errorf("x-amz-apigw-id = %q", id)
		}
		return
	}
	if id := h["apigw-requestid"]; len(id) != 1 || !shortRE.MatchString(id[0]) {
		t.Errorf("apigw-requestid = %q", id)
	}
	if _, ok := h["x-amzn-RequestId"]; ok {
		t.Error("an HTTP API response has x-amzn-RequestId")
	}
}

// TestResponseAWSLambdaGo sends responses as aws-lambda-go marshals them.
func TestResponseAWSLambdaGo(t *testing.T) {
	v1 := mustJSON(events.APIGatewayProxyResponse{
		StatusCode: 200, Headers: map[string]string{"X-A": "a"},
		MultiValueHeaders: map[string][]string{"Set-Cookie": {"x=1", "y=2"}}, Body: "<b>",
	})
	f := &fakeInvoker{reply: result(v1)}
	w := serve(newTestGateway(t, f, restRoute), request{method: "GET", target: "/r"})
	if w.Code != 200 || w.Body.String() != "<b>" || w.Header().Get("X-A") != "a" || len(w.Header()["Set-Cookie"]) != 2 {
		t.Errorf("1.0: %d %q %v", w.Code, w.Body, w.Header())
	}
	v2 := mustJSON(events.APIGatewayV2HTTPResponse{StatusCode: 302, Headers: map[string]string{"Location": "/x"}, Cookies: []string{"a=b"}})
	f = &fakeInvoker{reply: result(v2)}
	w = serve(newTestGateway(t, f, httpRoute), request{method: "GET", target: "/h"})
	if w.Code != 302 || w.Header().Get("Location") != "/x" || w.Header().Get("Set-Cookie") != "a=b" {
		t.Errorf("2.0: %d %q %v", w.Code, w.Body, w.Header())
	}
}

func TestNotFound(t *testing.T) {
	f := &fakeInvoker{}
	tests := []struct {
		name   string
		routes []Route
		req    request
		kind   Kind
	}{
		{"REST only", []Route{restRoute}, request{method: "GET", target: "/nope"}, REST},
		{"REST method", []Route{restRoute}, request{method: "POST", target: "/r"}, REST},
		{"HTTP API", []Route{restRoute, httpRoute}, request{method: "GET", target: "/nope"}, HTTPAPI},
		{"under the stage", []Route{restRoute, httpRoute}, request{method: "GET", target: "/dev/nope"}, REST},
		{"the stage itself", []Route{restRoute, httpRoute}, request{method: "GET", target: "/dev"}, REST},
		{"HTTP API route under the stage", []Route{httpRoute}, request{method: "GET", target: "/dev/h"}, HTTPAPI},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newTestGateway(t, f, tc.routes...)
			w := serve(g, tc.req)
			// As API Gateway: a REST API answers 403 Missing Authentication
			// Token, an HTTP API 404 Not Found.
			code, body, errType := 404, `{"message":"Not Found"}`, ""
			if tc.kind == REST {
				code, body, errType = 403, `{"message":"Missing Authentication Token"}`, "MissingAuthenticationTokenException"
			}
			if w.Code != code || w.Body.String() != body || w.Header().Get("Content-Type") != "application/json" || strings.Join(w.Header()["x-amzn-ErrorType"], ",") != errType {
				t.Errorf("%d %s %v", w.Code, w.Body, w.Header())
			}
			checkIDHeaders(t, tc.kind, w.Header())
		})
	}
	if f.count() != 0 {
		t.Errorf("a function was invoked %d times", f.count())
	}
	// Before any SetRoutes, and for a request without a URL.
	g := New(f, nil)
	if w := serve(g, request{method: "GET", target: "/"}); w.Code != 404 {
		t.Errorf("fresh gateway: %d", w.Code)
	}
	w := httptest.NewRecorder()
	g.ServeHTTP(w, &http.Request{Method: "GET", Header: http.Header{}})
	if w.Code != 404 {
		t.Errorf("request without URL: %d", w.Code)
	}
}

func TestStagePrefix(t *testing.T) {
	f := &fakeInvoker{}
	g := newTestGateway(t, f, Route{Kind: REST, Method: "GET", Path: "/hello", Function: "hello"},
		Route{Kind: REST, Method: "GET", Path: "/", Function: "root"})
	for target, want := range map[string][2]string{
		"/dev/hello":  {"/hello", "/dev/hello"},
		"/hello":      {"/hello", "/dev/hello"},
		"/dev/hello/": {"/hello/", "/dev/hello/"},
		"/dev":        {"/", "/dev"},
		"/":           {"/", "/dev/"},
	} {
		if w := serve(g, request{method: "GET", target: target}); w.Code != 200 {
			t.Fatalf("%s: %d %s", target, w.Code, w.Body)
		}
		ev := eventOf(t, f)
		if ev["path"] != want[0] || dig(ev, "requestContext", "path") != want[1] || dig(ev, "requestContext", "stage") != "dev" {
			t.Errorf("%s: path %v, requestContext.path %v, want %v", target, ev["path"], dig(ev, "requestContext", "path"), want)
		}
	}
}

func TestGreedyProxy(t *testing.T) {
	f := &fakeInvoker{}
	g := newTestGateway(t, f, Route{Kind: REST, Method: "ANY", Path: "/{proxy+}", Function: "all"},
		Route{Kind: HTTPAPI, Method: "GET", Path: "/api/{rest+}", Function: "api"})
	serve(g, request{method: "POST", target: "/dev/a/b%20c/d"})
	ev := eventOf(t, f)
	if ev["resource"] != "/{proxy+}" || dig(ev, "pathParameters", "proxy") != "a/b c/d" || ev["path"] != "/a/b%20c/d" {
		t.Errorf("REST proxy: %v %v %v", ev["resource"], ev["pathParameters"], ev["path"])
	}
	serve(g, request{method: "GET", target: "/api/x/y/"})
	ev = eventOf(t, f)
	if ev["routeKey"] != "GET /api/{rest+}" || dig(ev, "pathParameters", "rest") != "x/y" || ev["rawPath"] != "/api/x/y/" {
		t.Errorf("HTTP API proxy: %v %v %v", ev["routeKey"], ev["pathParameters"], ev["rawPath"])
	}
}

func TestCORS(t *testing.T) {
	f := &fakeInvoker{}
	g := newTestGateway(t, f,
		Route{Kind: REST, Method: "GET", Path: "/items/{id}", Function: "get", CORS: true},
		Route{Kind: REST, Method: "PUT", Path: "/items/{id}", Function: "put", CORS: true},
		Route{Kind: REST, Method: "DELETE", Path: "/items/{id}", Function: "del"},
		Route{Kind: REST, Method: "GET", Path: "/plain", Function: "plain"},
		Route{Kind: REST, Method: "ANY", Path: "/any", Function: "any"},
		Route{Kind: REST, Method: "ANY", Path: "/anycors", Function: "anycors", CORS: true},
		Route{Kind: REST, Method: "GET", Path: "/own", Function: "own", CORS: true},
		Route{Kind: REST, Method: "OPTIONS", Path: "/own", Function: "ownOptions"},
		Route{Kind: HTTPAPI, Method: "POST", Path: "/h", Function: "h", CORS: true},
	)
	preflight := func(target string) *httptest.ResponseRecorder {
		return serve(g, request{method: "OPTIONS", target: target, headers: []string{"Origin: http://x", "Access-Control-Request-Method: GET"}})
	}
	for target, want := range map[string]struct {
		status  int
		methods string
	}{
		"/items/1":     {200, "OPTIONS,GET,PUT"},
		"/dev/items/1": {200, "OPTIONS,GET,PUT"},
		"/anycors":     {200, "OPTIONS,DELETE,GET,HEAD,PATCH,POST,PUT"},
		"/h":           {204, "OPTIONS,POST"},
	} {
		w := preflight(target)
		if w.Code != want.status || w.Header().Get("Access-Control-Allow-Origin") != "*" ||
			w.Header().Get("Access-Control-Allow-Headers") != corsAllowHeaders ||
			w.Header().Get("Access-Control-Allow-Methods") != want.methods || w.Body.Len() != 0 {
			t.Errorf("OPTIONS %s: %d %v %q", target, w.Code, w.Header(), w.Body)
		}
	}
	if f.count() != 0 {
		t.Fatalf("a preflight invoked a function")
	}
	// Without CORS there is no preflight: OPTIONS is an unknown method, or
	// goes to an ANY route.
	if w := preflight("/plain"); w.Code != 404 {
		t.Errorf("OPTIONS /plain: %d", w.Code)
	}
	if w := preflight("/any"); w.Code != 200 || f.last(t).Function != "any" {
		t.Errorf("OPTIONS /any: %d", w.Code)
	}
	// An explicit OPTIONS route answers its own preflights.
	if w := preflight("/own"); w.Code != 200 || f.last(t).Function != "ownOptions" {
		t.Errorf("OPTIONS /own: %d", w.Code)
	}
	// Responses of a CORS route get Access-Control-Allow-Origin unless the
	// function set it; others do not.
	if w := serve(g, request{method: "GET", target: "/items/1"}); w.Header().Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("GET /items/1: %v", w.Header())
	}
	if w := serve(g, request{method: "DELETE", target: "/items/1"}); w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("DELETE /items/1 (no cors): %v", w.Header())
	}
	f.reply = result(`{"statusCode":200,"headers":{"access-control-allow-origin":"https://app.example"}}`)
	if w := serve(g, request{method: "GET", target: "/items/1"}); !slices.Equal(w.Header()["Access-Control-Allow-Origin"], []string{"https://app.example"}) {
		t.Errorf("function's own origin replaced: %v", w.Header())
	}
}

func TestCORSCatchAll(t *testing.T) {
	f := &fakeInvoker{}
	g := newTestGateway(t, f, Route{Kind: HTTPAPI, Method: "ANY", Path: "*", Function: "d", CORS: true})
	w := serve(g, request{method: "OPTIONS", target: "/x"})
	if w.Code != 204 || w.Header().Get("Access-Control-Allow-Methods") != "OPTIONS,DELETE,GET,HEAD,PATCH,POST,PUT" {
		t.Errorf("%d %v", w.Code, w.Header())
	}
	if w := serve(g, request{method: "GET", target: "/x"}); w.Code != 200 || w.Header().Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("%d %v", w.Code, w.Header())
	}
}

func TestTooLarge(t *testing.T) {
	f := &fakeInvoker{}
	g := newTestGateway(t, f, Route{Kind: REST, Method: "POST", Path: "/up", Function: "up"},
		Route{Kind: HTTPAPI, Method: "POST", Path: "/h", Function: "h"})
	big := strings.Repeat("a", lambda.MaxSyncPayload+1)
	tests := []struct {
		name string
		r    *http.Request
	}{
		{"body over 6 MB", httptest.NewRequest("POST", "/up", strings.NewReader(big))},
		{"body over 6 MB, unknown length", httptest.NewRequest("POST", "/h", io.MultiReader(strings.NewReader(big)))},
		{"declared length over 6 MB", func() *http.Request {
			r := httptest.NewRequest("POST", "/up", strings.NewReader("x"))
			r.ContentLength = lambda.MaxSyncPayload + 1
			return r
		}()},
		{"binary body whose base64 event is over 6 MB", func() *http.Request {
			r := httptest.NewRequest("POST", "/h", strings.NewReader(strings.Repeat("\xff", 5<<20)))
			r.Header.Set("Content-Type", "application/octet-stream")
			return r
		}()},
		{"text body whose event is over 6 MB", httptest.NewRequest("POST", "/up", strings.NewReader(strings.Repeat("\"", 4<<20)))},
		{"MaxBytesReader in front", func() *http.Request {
			r := httptest.NewRequest("POST", "/up", strings.NewReader("0123456789"))
			r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, 5)
			return r
		}()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			g.ServeHTTP(w, tc.r)
			if w.Code != 413 || w.Body.String() != `{"message":"Request Too Long"}` {
				t.Errorf("%d %s", w.Code, w.Body)
			}
		})
	}
	if f.count() != 0 {
		t.Errorf("a function was invoked %d times", f.count())
	}
	// Just under the limit goes through.
	w := httptest.NewRecorder()
	g.ServeHTTP(w, httptest.NewRequest("POST", "/up", strings.NewReader(strings.Repeat("a", 6_000_000))))
	if w.Code != 200 || f.count() != 1 || len(f.last(t).Payload) > lambda.MaxSyncPayload {
		t.Errorf("6,000,000 byte body: %d", w.Code)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestUnreadableBody(t *testing.T) {
	f := &fakeInvoker{}
	g := newTestGateway(t, f, restRoute)
	r := httptest.NewRequest("GET", "/r", nil)
	r.Body = io.NopCloser(errReader{})
	w := httptest.NewRecorder()
	g.ServeHTTP(w, r)
	if w.Code != 400 || w.Body.String() != `{"message":"Bad Request"}` || f.count() != 0 {
		t.Errorf("%d %s", w.Code, w.Body)
	}
}

func TestInvokeRequest(t *testing.T) {
	f := &fakeInvoker{}
	g := newTestGateway(t, f, restRoute)
	serve(g, request{method: "GET", target: "/r", headers: []string{"X-Amzn-Trace-Id: Root=1-abc"}})
	req := f.last(t)
	if req.Function != "rest-fn" || req.TraceID != "Root=1-abc" {
		t.Errorf("invoke request %+v", req)
	}
	// Each invocation owns its payload: later requests do not overwrite it.
	first := bytes.Clone(req.Payload)
	serve(g, request{method: "GET", target: "/r?much=longer&query=string"})
	if !bytes.Equal(req.Payload, first) {
		t.Error("an earlier payload changed under the invoker")
	}
}

// TestV2HeaderNamesFoldCase: names that differ only in case are one header
// in payload 2.0 (net/http canonicalizes them, but a Handler may be called
// with any map).
func TestV2HeaderNamesFoldCase(t *testing.T) {
	f := &fakeInvoker{}
	g := newTestGateway(t, f, httpRoute)
	r := httptest.NewRequest("GET", "/h", nil)
	r.Header = http.Header{"X-Thing": {"a"}, "x-thing": {"b", "c"}, "COOKIE": {"k=v"}, "Bad\x00Name": {"\xff"}, "Empty": {}}
	w := httptest.NewRecorder()
	g.ServeHTTP(w, r)
	ev := eventOf(t, f)
	if got := dig(ev, "headers", "x-thing"); got != "a,b,c" {
		t.Errorf("x-thing = %v", got)
	}
	if dig(ev, "headers", "bad\x00name") != "\ufffd" || dig(ev, "headers", "cookie") != nil || dig(ev, "headers", "empty") != nil {
		t.Errorf("headers = %v", ev["headers"])
	}
	if c, _ := ev["cookies"].([]any); len(c) != 1 || c[0] != "k=v" {
		t.Errorf("cookies = %v", ev["cookies"])
	}
}

// TestEmptyURLPath: a request for "" (possible when a Handler is called
// directly) is a request for "/".
func TestEmptyURLPath(t *testing.T) {
	f := &fakeInvoker{}
	g := newTestGateway(t, f, Route{Kind: HTTPAPI, Method: "GET", Path: "/", Function: "root"})
	r := httptest.NewRequest("GET", "/", nil)
	r.URL.Path = ""
	w := httptest.NewRecorder()
	g.ServeHTTP(w, r)
	if ev := eventOf(t, f); w.Code != 200 || ev["rawPath"] != "/" {
		t.Errorf("%d rawPath %v", w.Code, ev["rawPath"])
	}
}

func TestV1NoHeaders(t *testing.T) {
	f := &fakeInvoker{}
	g := newTestGateway(t, f, restRoute)
	r := httptest.NewRequest("GET", "/r", nil)
	r.Host, r.Header, r.RemoteAddr = "", http.Header{"Empty": nil}, "not-an-address"
	g.ServeHTTP(httptest.NewRecorder(), r)
	ev := eventOf(t, f)
	if ev["headers"] != nil || ev["multiValueHeaders"] != nil || dig(ev, "requestContext", "identity", "sourceIp") != "not-an-address" {
		t.Errorf("headers %v, multiValueHeaders %v, identity %v", ev["headers"], ev["multiValueHeaders"], dig(ev, "requestContext", "identity"))
	}
}

func TestRequestIDsAreUnique(t *testing.T) {
	g := newIDGen()
	seen := map[string]bool{}
	for range 20000 {
		n := g.next()
		u, s := g.uuid(n), g.short(n)
		if !uuidRE.MatchString(u) || !shortRE.MatchString(s) {
			t.Fatalf("bad ids %q %q", u, s)
		}
		if seen[u] || seen[s] {
			t.Fatalf("duplicate id %q %q", u, s)
		}
		seen[u], seen[s] = true, true
	}
}

func TestMix62IsABijection(t *testing.T) {
	seen := map[uint64]bool{}
	for i := range uint64(1 << 16) {
		v := mix62(i)
		if v > mask62 || seen[v] {
			t.Fatalf("mix62(%d) = %d repeats or overflows", i, v)
		}
		seen[v] = true
	}
}

// TestSetRoutesWhileServing swaps tables under load; run with -race.
func TestSetRoutesWhileServing(t *testing.T) {
	f := &fakeInvoker{reply: func(req *lambda.Request) (*lambda.Result, error) {
		return &lambda.Result{Payload: []byte(`{"statusCode":200,"body":"` + req.Function + `"}`)}, nil
	}}
	a := []Route{{Kind: REST, Method: "GET", Path: "/x", Function: "a"}}
	b := []Route{{Kind: HTTPAPI, Method: "GET", Path: "/x", Function: "b"}}
	g := newTestGateway(t, f, a...)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				w := serve(g, request{method: "GET", target: "/x"})
				body := w.Body.String()
				// Each response comes wholly from one table.
				if !(body == "a" && w.Header()["x-amzn-RequestId"] != nil) && !(body == "b" && w.Header()["apigw-requestid"] != nil) {
					t.Errorf("mixed response %q %v", body, w.Header())
					return
				}
			}
		})
	}
	for i := range 200 {
		routes := a
		if i%2 == 1 {
			routes = b
		}
		if err := g.SetRoutes(testConfig, routes); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
}

// recordHandler is a slog.Handler that keeps records.
type recordHandler struct {
	mu      sync.Mutex
	level   slog.Level
	records []slog.Record
}

func (h *recordHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }
func (h *recordHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r)
	return nil
}
func (h *recordHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recordHandler) WithGroup(string) slog.Handler      { return h }

func (h *recordHandler) find(msg string) (map[string]string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.records {
		if strings.Contains(r.Message, msg) {
			attrs := map[string]string{}
			r.Attrs(func(a slog.Attr) bool {
				attrs[a.Key] = a.Value.String()
				return true
			})
			return attrs, true
		}
	}
	return nil, false
}

func TestLogging(t *testing.T) {
	h := &recordHandler{level: slog.LevelDebug}
	f := &fakeInvoker{}
	g := New(f, slog.New(h))
	if err := g.SetRoutes(testConfig, []Route{restRoute, httpRoute}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		reply func(*lambda.Request) (*lambda.Result, error)
		route Route
		msg   string
		attrs []string
	}{
		{result(`{"body":"x"}`), restRoute, "malformed Lambda proxy response: the response has no statusCode", nil},
		{failWith(errors.New("disk on fire")), httpRoute, "invoke failed", []string{"error"}},
		{functionError("TypeError"), restRoute, "function failed", []string{"errorType"}},
		{failWith(lambda.ErrThrottled), restRoute, "function throttled", nil},
		{failWith(lambda.ErrPayloadTooLarge), restRoute, "payload too large", []string{"error"}},
		{func(*lambda.Request) (*lambda.Result, error) { return nil, nil }, restRoute, "no result and no error", nil},
	}
	for _, tc := range tests {
		f.reply = tc.reply
		w := serve(g, request{method: "GET", target: tc.route.Path})
		attrs, ok := h.find(tc.msg)
		if !ok {
			t.Errorf("no log line %q", tc.msg)
			continue
		}
		id := w.Header()["x-amzn-RequestId"]
		if tc.route.Kind == HTTPAPI {
			id = w.Header()["apigw-requestid"]
		}
		if len(id) != 1 || attrs["requestId"] != id[0] || attrs["function"] != tc.route.Function {
			t.Errorf("%q: attrs %v, response id %v", tc.msg, attrs, id)
		}
		for _, a := range tc.attrs {
			if attrs[a] == "" {
				t.Errorf("%q lacks %s: %v", tc.msg, a, attrs)
			}
		}
	}
	if attrs, ok := h.find("request"); !ok || attrs["status"] == "" || attrs["requestId"] == "" {
		t.Errorf("no access log line: %v", attrs)
	}
}

// TestClientGone: an invoke that fails because the client went away is
// not logged as an error.
func TestClientGone(t *testing.T) {
	h := &recordHandler{level: slog.LevelInfo}
	ctx, cancel := context.WithCancel(context.Background())
	f := &fakeInvoker{reply: func(*lambda.Request) (*lambda.Result, error) {
		cancel()
		return nil, context.Canceled
	}}
	g := New(f, slog.New(h))
	if err := g.SetRoutes(testConfig, []Route{restRoute}); err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	g.ServeHTTP(w, httptest.NewRequest("GET", "/r", nil).WithContext(ctx))
	if w.Code != 502 {
		t.Errorf("status %d", w.Code)
	}
	if len(h.records) != 0 {
		t.Errorf("logged %v", h.records)
	}
}

// TestRealServer runs the gateway behind net/http with a real client.
func TestRealServer(t *testing.T) {
	f := &fakeInvoker{reply: result(`{"statusCode":200,"multiValueHeaders":{"Set-Cookie":["a=1","b=2"]},"body":"aGk=","isBase64Encoded":true}`)}
	srv := httptest.NewServer(newTestGateway(t, f, Route{Kind: REST, Method: "POST", Path: "/x/{id}", Function: "x"}))
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/dev/x/1?q=1", "application/json", strings.NewReader(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "hi" || len(resp.Header.Values("Set-Cookie")) != 2 ||
		!uuidRE.MatchString(resp.Header.Get("X-Amzn-Requestid")) || resp.ContentLength != 2 {
		t.Errorf("%d %q %v", resp.StatusCode, body, resp.Header)
	}
	ev := eventOf(t, f)
	if ev["body"] != `{"a":1}` || dig(ev, "headers", "Content-Length") != "7" || dig(ev, "pathParameters", "id") != "1" {
		t.Errorf("event %v", ev)
	}
}

// Headers beyond API Gateway's 10240-byte quota (request line and header
// values together) are refused with 431 before the function runs.
func TestHeadersOverTheQuotaAreRefused(t *testing.T) {
	f := &fakeInvoker{reply: result(mustJSON(events.APIGatewayV2HTTPResponse{StatusCode: 200}))}
	g := newTestGateway(t, f, httpRoute, restRoute)
	for _, target := range []string{"/h", "/r"} {
		w := serve(g, request{method: "GET", target: target, headers: []string{"X-Big:" + strings.Repeat("a", 10300)}})
		if w.Code != http.StatusRequestHeaderFieldsTooLarge || w.Body.String() != `{"message":"Request Header Fields Too Large"}` {
			t.Errorf("%s with 10 KB of headers: %d %s", target, w.Code, w.Body)
		}
	}
	if f.count() != 0 {
		t.Errorf("the function ran %d times", f.count())
	}
	if w := serve(g, request{method: "GET", target: "/h", headers: []string{"X-Ok:" + strings.Repeat("a", 9000)}}); w.Code != 200 {
		t.Errorf("9 KB of headers: %d %s", w.Code, w.Body)
	}
}
