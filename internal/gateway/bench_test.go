package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/cloudlet/cloudlet/internal/lambda"
)

// staticInvoker answers every invocation with the same result, without
// recording anything, so the benchmarks measure the gateway.
type staticInvoker struct{ res *lambda.Result }

func (s staticInvoker) Invoke(context.Context, *lambda.Request) (*lambda.Result, error) {
	return s.res, nil
}

// discardWriter is a ResponseWriter that keeps nothing but its header map,
// cleared between requests, so only the gateway's allocations count.
type discardWriter struct {
	h      http.Header
	status int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(status int)      { d.status = status }

func benchGateway(b *testing.B, r *http.Request, payload string) {
	g := newTestGateway(b, staticInvoker{&lambda.Result{Payload: []byte(payload)}},
		Route{Kind: REST, Method: "GET", Path: "/user/{id}", Function: "svc-dev-getUser"},
		Route{Kind: REST, Method: "GET", Path: "/user/{id}/orders", Function: "svc-dev-orders"},
		Route{Kind: REST, Method: "POST", Path: "/user", Function: "svc-dev-createUser"},
		Route{Kind: HTTPAPI, Method: "GET", Path: "/api/items/{id}", Function: "svc-dev-item"},
		Route{Kind: HTTPAPI, Method: "ANY", Path: "/api/{proxy+}", Function: "svc-dev-api"},
	)
	r.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64)")
	r.Header.Set("Accept", "application/json")
	r.Header.Set("Accept-Encoding", "gzip, deflate, br")
	r.Header.Set("Authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc")
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		g.ServeHTTP(w, r)
		if w.status != 200 {
			b.Fatalf("status %d", w.status)
		}
	}
}

const benchReply = `{"statusCode":200,"headers":{"Content-Type":"application/json"},"body":"{\"id\":\"42\",\"name\":\"Ada\"}"}`

func BenchmarkGatewayREST(b *testing.B) {
	benchGateway(b, httptest.NewRequest("GET", "/dev/user/42?fields=name&fields=email", nil), benchReply)
}

func BenchmarkGatewayHTTPAPI(b *testing.B) {
	r := httptest.NewRequest("GET", "/api/items/42?fields=name&fields=email", nil)
	r.Header.Set("Cookie", "session=abc; theme=dark")
	benchGateway(b, r, benchReply)
}

// BenchmarkGatewayHTTPAPIPost adds a 1 KB JSON body each way.
func BenchmarkGatewayHTTPAPIPost(b *testing.B) {
	body := `{"data":"` + strings.Repeat("x", 1000) + `"}`
	r := httptest.NewRequest("POST", "/api/items", nil)
	r.Header.Set("Content-Type", "application/json")
	reply := `{"statusCode":200,"body":` + string(appendString(nil, body)) + `}`
	g := newTestGateway(b, staticInvoker{&lambda.Result{Payload: []byte(reply)}},
		Route{Kind: HTTPAPI, Method: "ANY", Path: "/api/{proxy+}", Function: "svc-dev-api"})
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		r.Body = readerOf(body)
		clear(w.h)
		g.ServeHTTP(w, r)
		if w.status != 200 {
			b.Fatalf("status %d", w.status)
		}
	}
}

type stringBody struct{ strings.Reader }

func (*stringBody) Close() error { return nil }

func readerOf(s string) *stringBody {
	b := &stringBody{}
	b.Reset(s)
	return b
}

func BenchmarkLookup(b *testing.B) {
	tbl, err := newTable(testConfig, routingRoutes)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var m match
	for b.Loop() {
		if tbl.lookup("/dev/user/42/things", "GET", &m) == nil {
			b.Fatal("no match")
		}
	}
}

// BenchmarkPeerEncodingJSONREST is the straightforward way to do what
// BenchmarkGatewayREST measures, for a baseline in the same run: the event
// built as aws-lambda-go's struct and encoded with encoding/json, the
// response decoded the same way.
func BenchmarkPeerEncodingJSONREST(b *testing.B) {
	r := httptest.NewRequest("GET", "/dev/user/42?fields=name&fields=email", nil)
	r.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64)")
	r.Header.Set("Accept", "application/json")
	r.Header.Set("Accept-Encoding", "gzip, deflate, br")
	r.Header.Set("Authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc")
	tbl, err := newTable(testConfig, []Route{{Kind: REST, Method: "GET", Path: "/user/{id}", Function: "svc-dev-getUser"}})
	if err != nil {
		b.Fatal(err)
	}
	inv := staticInvoker{&lambda.Result{Payload: []byte(benchReply)}}
	ids := newIDGen()
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		var m match
		rt := tbl.lookup(r.URL.EscapedPath(), r.Method, &m)
		n := ids.next()
		ev := events.APIGatewayProxyRequest{
			Resource: rt.Path, Path: strings.TrimPrefix(r.URL.EscapedPath(), "/dev"), HTTPMethod: r.Method,
			Headers: map[string]string{}, MultiValueHeaders: map[string][]string{},
			QueryStringParameters: map[string]string{}, MultiValueQueryStringParameters: map[string][]string{},
			PathParameters: map[string]string{},
			RequestContext: events.APIGatewayProxyRequestContext{
				AccountID: "123456789012", ResourceID: rt.resourceID, Stage: "dev", RequestID: ids.uuid(n),
				ExtendedRequestID: ids.short(n), Protocol: r.Proto, ResourcePath: rt.Path, Path: r.URL.EscapedPath(),
				HTTPMethod: r.Method, RequestTime: testTime.Format(timeLayout), RequestTimeEpoch: testTime.UnixMilli(),
				Identity: events.APIGatewayRequestIdentity{SourceIP: "192.0.2.1", UserAgent: r.UserAgent()},
			},
		}
		for k, vs := range r.Header {
			ev.Headers[k] = vs[len(vs)-1]
			ev.MultiValueHeaders[k] = vs
		}
		for k, vs := range r.URL.Query() {
			ev.QueryStringParameters[k] = vs[len(vs)-1]
			ev.MultiValueQueryStringParameters[k] = vs
		}
		for i, name := range rt.params {
			ev.PathParameters[name] = m.param(i)
		}
		payload, err := json.Marshal(ev)
		if err != nil {
			b.Fatal(err)
		}
		res, _ := inv.Invoke(r.Context(), &lambda.Request{Function: rt.Function, Payload: payload})
		var resp events.APIGatewayProxyResponse
		if err := json.Unmarshal(res.Payload, &resp); err != nil {
			b.Fatal(err)
		}
		for k, v := range resp.Headers {
			w.h.Set(k, v)
		}
		w.h.Set("X-Amzn-Requestid", ev.RequestContext.RequestID)
		w.h.Set("Content-Length", strconv.Itoa(len(resp.Body)))
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write([]byte(resp.Body))
	}
}
