package gateway

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudlet/cloudlet/internal/lambda"
)

// fakeInvoker records what it is asked and answers with reply, or with
// {"statusCode":200,"body":"ok"} when reply is nil.
type fakeInvoker struct {
	mu    sync.Mutex
	reqs  []*lambda.Request
	reply func(*lambda.Request) (*lambda.Result, error)
}

func (f *fakeInvoker) Invoke(_ context.Context, req *lambda.Request) (*lambda.Result, error) {
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	f.mu.Unlock()
	if f.reply != nil {
		return f.reply(req)
	}
	return &lambda.Result{RequestID: "r", Payload: []byte(`{"statusCode":200,"body":"ok"}`)}, nil
}

func (f *fakeInvoker) last(t *testing.T) *lambda.Request {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.reqs) == 0 {
		t.Fatal("the function was not invoked")
	}
	return f.reqs[len(f.reqs)-1]
}

func (f *fakeInvoker) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.reqs)
}

// result returns a reply func that always gives payload.
func result(payload string) func(*lambda.Request) (*lambda.Result, error) {
	return func(*lambda.Request) (*lambda.Result, error) {
		return &lambda.Result{RequestID: "r", Payload: []byte(payload)}, nil
	}
}

var testConfig = Config{Stage: "dev", Region: "us-east-1", AccountID: "123456789012", APIID: "abc123defg"}

// testTime is the fixed clock of test gateways: 09/Apr/2015:12:34:56 +0000.
var testTime = time.Date(2015, 4, 9, 12, 34, 56, 789_000_000, time.UTC)

func newTestGateway(t testing.TB, inv lambda.Invoker, routes ...Route) *Gateway {
	t.Helper()
	g := New(inv, nil)
	g.now = func() time.Time { return testTime }
	if err := g.SetRoutes(testConfig, routes); err != nil {
		t.Fatal(err)
	}
	return g
}

// request is one test request; headers are "Name: value" lines, repeated
// names giving several values.
type request struct {
	method, target, body string
	headers              []string
}

func (q request) build() *http.Request {
	var body io.Reader
	if q.body != "" {
		body = strings.NewReader(q.body)
	}
	r := httptest.NewRequest(q.method, q.target, body)
	for _, h := range q.headers {
		k, v, _ := strings.Cut(h, ":")
		r.Header.Add(k, strings.TrimSpace(v))
	}
	return r
}

func serve(g *Gateway, q request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	g.ServeHTTP(w, q.build())
	return w
}

// eventOf decodes the event the function received.
func eventOf(t *testing.T, f *fakeInvoker) map[string]any {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(f.last(t).Payload, &ev); err != nil {
		t.Fatalf("event is not JSON: %v\n%s", err, f.last(t).Payload)
	}
	return ev
}

// dig walks nested objects: dig(ev, "requestContext", "path").
func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}
