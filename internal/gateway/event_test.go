package gateway

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var goldenRoutes = []Route{
	{Kind: REST, Method: "GET", Path: "/", Function: "svc-dev-root"},
	{Kind: REST, Method: "GET", Path: "/user/{id}", Function: "svc-dev-getUser"},
	{Kind: REST, Method: "POST", Path: "/hello", Function: "svc-dev-hello"},
	{Kind: REST, Method: "ANY", Path: "/files/{proxy+}", Function: "svc-dev-files"},
	{Kind: HTTPAPI, Method: "GET", Path: "/users/{id}", Function: "svc-dev-users"},
	{Kind: HTTPAPI, Method: "POST", Path: "/echo", Function: "svc-dev-echo"},
	{Kind: HTTPAPI, Method: "ANY", Path: "/upload/{name}", Function: "svc-dev-upload"},
	{Kind: HTTPAPI, Method: "ANY", Path: "*", Function: "svc-dev-default"},
}

var goldenV1 = []struct {
	name string
	req  request
}{
	{"get with stage, params, query and repeated headers", request{
		method: "GET", target: "/dev/user/caf%C3%A9?x=1&x=2&y=a%20b&flag&q=%zz",
		headers: []string{"Accept: text/html", "Accept: application/json", "User-Agent: curl/8.5.0", "X-Custom: \"quoted\""},
	}},
	{"post json without stage, with cookie", request{
		method: "POST", target: "/hello", body: `{"name":"Ada","emoji":"✓"}`,
		headers: []string{"Content-Type: application/json; charset=utf-8", "Cookie: a=1; b=2"},
	}},
	{"binary body through greedy proxy", request{
		method: "PUT", target: "/dev/files/img/a%20b.png", body: "\x89PNG\r\n\x1a\n\x00\xff",
		headers: []string{"Content-Type: image/png"},
	}},
	{"text content type with invalid UTF-8 is base64", request{
		method: "DELETE", target: "/files/x", body: "caf\xe9",
		headers: []string{"Content-Type: text/plain; charset=latin1"},
	}},
	{"root without user agent", request{method: "GET", target: "/dev/"}},
}

var goldenV2 = []struct {
	name string
	req  request
}{
	{"get with params, repeated query and cookies", request{
		method: "GET", target: "/users/caf%C3%A9?x=1&x=2&y=a+b&empty=",
		headers: []string{"Cookie: session=abc; theme=dark", "Cookie: lang=en", "User-Agent: curl/8.5.0", "Accept: text/html", "Accept: application/json"},
	}},
	{"post text body with mixed-case headers", request{
		method: "POST", target: "/echo", body: "line 1\nline \"2\"\t\u00e9",
		headers: []string{"Content-Type: text/plain", "X-Request-Thing: A", "x-request-thing: B"},
	}},
	{"binary body on ANY route", request{
		method: "PATCH", target: "/upload/pic.jpg", body: "\xff\xd8\xff\xe0",
		headers: []string{"Content-Type: application/octet-stream"},
	}},
	{"vendor json is text", request{
		method: "PUT", target: "/upload/doc", body: `{"a":1}`,
		headers: []string{"Content-Type: application/vnd.api+json"},
	}},
	{"catch-all", request{method: "GET", target: "/anything/else/"}},
}

// volatile are the event fields that change from run to run.
var volatile = regexp.MustCompile(`"(requestId|extendedRequestId)":"[^"]*"`)

func normalize(payload []byte) []byte {
	return volatile.ReplaceAll(payload, []byte(`"$1":"(volatile)"`))
}

func TestEventGolden(t *testing.T) {
	for _, golden := range []struct {
		file  string
		cases []struct {
			name string
			req  request
		}
	}{
		{"event_v1.golden.json", goldenV1},
		{"event_v2.golden.json", goldenV2},
	} {
		t.Run(golden.file, func(t *testing.T) {
			f := &fakeInvoker{}
			g := newTestGateway(t, f, goldenRoutes...)
			got := map[string]json.RawMessage{}
			for _, tc := range golden.cases {
				w := serve(g, tc.req)
				if w.Code != 200 {
					t.Fatalf("%s: status %d %s", tc.name, w.Code, w.Body)
				}
				p := f.last(t).Payload
				if !json.Valid(p) {
					t.Fatalf("%s: invalid JSON event\n%s", tc.name, p)
				}
				got[tc.name] = normalize(p)
			}
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(got); err != nil {
				t.Fatal(err)
			}
			out := buf.Bytes()
			path := filepath.Join("testdata", golden.file)
			if *update {
				if err := os.WriteFile(path, out, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(out, want) {
				t.Errorf("events differ from %s (go test -update rewrites it):\n%s", path, lineDiff(string(want), string(out)))
			}
		})
	}
}

func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < len(w) || i < len(g); i++ {
		var a, c string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			c = g[i]
		}
		if a != c {
			b.WriteString("- " + a + "\n+ " + c + "\n")
		}
	}
	return b.String()
}

// TestEventShapes checks, beyond the golden files, the rules that make an
// event AWS's: which fields are null and which are absent.
func TestEventShapes(t *testing.T) {
	f := &fakeInvoker{}
	g := newTestGateway(t, f, goldenRoutes...)

	serve(g, request{method: "GET", target: "/dev/user/1"})
	ev := eventOf(t, f)
	want1 := []string{"resource", "path", "httpMethod", "headers", "multiValueHeaders", "queryStringParameters",
		"multiValueQueryStringParameters", "pathParameters", "stageVariables", "requestContext", "body", "isBase64Encoded"}
	if len(ev) != len(want1) {
		t.Errorf("1.0 event has %d fields, want %d: %v", len(ev), len(want1), keys(ev))
	}
	for _, k := range want1 {
		if _, ok := ev[k]; !ok {
			t.Errorf("1.0 event lacks %q", k)
		}
	}
	for _, k := range []string{"queryStringParameters", "multiValueQueryStringParameters", "stageVariables", "body"} {
		if ev[k] != nil {
			t.Errorf("1.0 %s = %v, want null", k, ev[k])
		}
	}
	if _, ok := dig(ev, "requestContext").(map[string]any)["authorizer"]; ok {
		t.Error("1.0 requestContext has an authorizer")
	}
	if got := dig(ev, "requestContext", "identity", "userAgent"); got != nil {
		t.Errorf("userAgent without a User-Agent header = %v, want null", got)
	}

	serve(g, request{method: "GET", target: "/nope"})
	ev = eventOf(t, f)
	for _, k := range []string{"cookies", "queryStringParameters", "pathParameters", "body", "stageVariables"} {
		if _, ok := ev[k]; ok {
			t.Errorf("2.0 event has %q, want it omitted", k)
		}
	}
	if ev["routeKey"] != "$default" || dig(ev, "requestContext", "stage") != "$default" {
		t.Errorf("catch-all routeKey %v stage %v", ev["routeKey"], dig(ev, "requestContext", "stage"))
	}

	// A Cookie header that holds no cookie gives no cookies field.
	serve(g, request{method: "GET", target: "/users/1", headers: []string{"Cookie: ;"}})
	ev = eventOf(t, f)
	if _, ok := ev["cookies"]; ok {
		t.Errorf("cookies = %v, want omitted", ev["cookies"])
	}
	if _, ok := dig(ev, "headers").(map[string]any)["cookie"]; ok {
		t.Error("2.0 headers keep the cookie header")
	}
}

func keys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// TestEventDomainFromHost: without an APIID the domain is the Host the
// client called.
func TestEventDomainFromHost(t *testing.T) {
	f := &fakeInvoker{}
	g := newTestGateway(t, f)
	if err := g.SetRoutes(Config{}, goldenRoutes); err != nil {
		t.Fatal(err)
	}
	q := request{method: "GET", target: "http://localhost:3000/dev/user/1"}
	serve(g, q)
	ev := eventOf(t, f)
	if got := dig(ev, "requestContext", "domainName"); got != "localhost:3000" {
		t.Errorf("domainName = %v", got)
	}
	if got := dig(ev, "requestContext", "domainPrefix"); got != "localhost" {
		t.Errorf("domainPrefix = %v", got)
	}
	if got := dig(ev, "requestContext", "apiId"); got != "local" {
		t.Errorf("apiId = %v", got)
	}
	if got := dig(ev, "requestContext", "accountId"); got != "000000000000" {
		t.Errorf("accountId = %v", got)
	}
}

// TestEventAWSLambdaGo decodes events with aws-lambda-go's types, which real
// Go functions use.
func TestEventAWSLambdaGo(t *testing.T) {
	f := &fakeInvoker{}
	g := newTestGateway(t, f, goldenRoutes...)

	serve(g, request{method: "POST", target: "/dev/hello?a=1&a=2", body: "hi", headers: []string{"X-A: 1", "X-A: 2"}})
	var v1 events.APIGatewayProxyRequest
	if err := json.Unmarshal(f.last(t).Payload, &v1); err != nil {
		t.Fatal(err)
	}
	if v1.Resource != "/hello" || v1.Path != "/hello" || v1.HTTPMethod != "POST" || v1.Body != "hi" ||
		v1.Headers["X-A"] != "2" || strings.Join(v1.MultiValueHeaders["X-A"], ",") != "1,2" ||
		v1.QueryStringParameters["a"] != "2" || strings.Join(v1.MultiValueQueryStringParameters["a"], ",") != "1,2" ||
		v1.RequestContext.Stage != "dev" || v1.RequestContext.Path != "/dev/hello" ||
		v1.RequestContext.RequestTimeEpoch != testTime.UnixMilli() || v1.RequestContext.Identity.SourceIP != "192.0.2.1" {
		t.Errorf("1.0 event decoded by aws-lambda-go: %+v", v1)
	}

	serve(g, request{method: "GET", target: "/users/42?a=1&a=2", headers: []string{"Cookie: c=1", "X-A: 1", "X-A: 2"}})
	var v2 events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(f.last(t).Payload, &v2); err != nil {
		t.Fatal(err)
	}
	if v2.RouteKey != "GET /users/{id}" || v2.RawPath != "/users/42" || v2.PathParameters["id"] != "42" ||
		v2.Headers["x-a"] != "1,2" || v2.QueryStringParameters["a"] != "1,2" || len(v2.Cookies) != 1 ||
		v2.RequestContext.HTTP.Method != "GET" || v2.RequestContext.Stage != "$default" ||
		v2.RequestContext.TimeEpoch != testTime.UnixMilli() {
		t.Errorf("2.0 event decoded by aws-lambda-go: %+v", v2)
	}
}

func TestIsText(t *testing.T) {
	for ct, want := range map[string]bool{
		"":                                  true,
		"text/plain":                        true,
		"TEXT/HTML; charset=utf-8":          true,
		"application/json":                  true,
		" Application/JSON ; charset=utf-8": true,
		"application/xml":                   true,
		"application/problem+json":          true,
		"application/atom+xml":              true,
		"application/x-www-form-urlencoded": true,
		"application/javascript":            true,
		"application/octet-stream":          false,
		"image/png":                         false,
		"multipart/form-data; boundary=x":   false,
		"application/":                      false,
		"application/+json":                 true,
		"text":                              false,
	} {
		if got := isText(ct); got != want {
			t.Errorf("isText(%q) = %v, want %v", ct, got, want)
		}
	}
}

func TestEventParamsQueryAndEscapes(t *testing.T) {
	f := &fakeInvoker{}
	g := newTestGateway(t, f,
		Route{Kind: REST, Method: "GET", Path: "/a/{x}/b/{y}", Function: "v1"},
		Route{Kind: HTTPAPI, Method: "GET", Path: "/c/{x}/d/{y}", Function: "v2"})
	hdr := []string{"X-Ctl: tab\there\rcr\x01"}
	for _, target := range []string{"/a/1/b/2?p=1&&q=2&", "/c/1/d/2?p=1&&q=2&"} {
		r := request{method: "GET", target: target, headers: hdr}.build()
		r.Header.Set("X-Ctl", "tab\there\rcr\x01") // httptest would not send these; a Handler may get them
		g.ServeHTTP(httptest.NewRecorder(), r)
		ev := eventOf(t, f)
		if dig(ev, "pathParameters", "x") != "1" || dig(ev, "pathParameters", "y") != "2" ||
			dig(ev, "queryStringParameters", "p") != "1" || dig(ev, "queryStringParameters", "q") != "2" {
			t.Errorf("%s: pathParameters %v query %v", target, ev["pathParameters"], ev["queryStringParameters"])
		}
		h := dig(ev, "headers", "X-Ctl")
		if h == nil {
			h = dig(ev, "headers", "x-ctl")
		}
		if h != "tab\there\rcr\x01" {
			t.Errorf("%s: header %q", target, h)
		}
	}
}
