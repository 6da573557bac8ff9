package lambda

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func reader(s string) *apiReader {
	r := strings.NewReader(s)
	return newAPIReader(r.Read)
}

func TestAPIReaderRequests(t *testing.T) {
	in := "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\nUser-Agent: Go\r\n\r\n" +
		"POST /2018-06-01/runtime/invocation/abc/response HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: t\r\n\r\n" +
		"POST /2018-06-01/runtime/invocation/abc/error HTTP/1.1\r\nContent-Length: 2\r\nLambda-Runtime-Function-Error-Type: E\r\nConnection: close\r\n\r\n{}"
	r := reader(in)
	want := []apiRequest{
		{method: "GET", path: "/2018-06-01/runtime/invocation/next"},
		{method: "POST", path: "/2018-06-01/runtime/invocation/abc/response", body: []byte("hello world")},
		{method: "POST", path: "/2018-06-01/runtime/invocation/abc/error", body: []byte("{}"), errorType: "E", close: true},
	}
	for i, w := range want {
		got, err := r.next()
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if got.method != w.method || got.path != w.path || !bytes.Equal(got.body, w.body) || got.errorType != w.errorType || got.close != w.close {
			t.Errorf("request %d: %+v, want %+v", i, got, w)
		}
	}
	if _, err := r.next(); err != io.EOF {
		t.Fatalf("after the last request: %v, want EOF", err)
	}
}

func TestAPIReaderRefusesMalformedAndHuge(t *testing.T) {
	for name, in := range map[string]string{
		"no protocol":          "GET /x\r\n\r\n",
		"bad length":           "POST /x HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
		"two lengths":          "POST /x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
		"bad chunk size":       "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"other encoding":       "POST /x HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
		"header with no colon": "GET /x HTTP/1.1\r\nnonsense\r\n\r\n",
	} {
		if _, err := reader(in).next(); !errors.Is(err, errAPIMalformed) {
			t.Errorf("%s: %v, want malformed", name, err)
		}
	}
	if _, err := reader("GET /x HTTP/1.1\r\nX: " + strings.Repeat("a", maxAPIHeaderBytes) + "\r\n\r\n").next(); !errors.Is(err, errAPITooLarge) {
		t.Errorf("huge header: %v", err)
	}
	big := "POST /x HTTP/1.1\r\nContent-Length: " + itoa(maxAPIBody+10) + "\r\n\r\n" + strings.Repeat("b", maxAPIBody+10)
	req, err := reader(big).next()
	if err != nil || !req.tooLarge || len(req.body) > maxAPIBody {
		t.Errorf("body over the limit: %v, tooLarge %v, kept %d", err, req != nil && req.tooLarge, len(req.body))
	}
	if _, err := reader("POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nab").next(); err == nil {
		t.Error("a body cut short was accepted")
	}
}

func itoa(n int) string { return string(appendInt(nil, n)) }

func appendInt(b []byte, n int) []byte {
	if n >= 10 {
		b = appendInt(b, n/10)
	}
	return append(b, byte('0'+n%10))
}

// The parser never panics and never keeps more than its limits, whatever
// a runtime sends.
func FuzzAPIReader(f *testing.F) {
	f.Add("GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n\r\n")
	f.Add("POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
	f.Add("POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc")
	f.Fuzz(func(t *testing.T, s string) {
		r := reader(s)
		for range 10 {
			req, err := r.next()
			if err != nil {
				return
			}
			if len(req.body) > maxAPIBody {
				t.Fatalf("kept %d bytes of body", len(req.body))
			}
		}
	})
}

// A runtime that opens a connection per request (as curl in a shell
// bootstrap does) is served as one that keeps its connection.
func TestRuntimeAPIConnectionPerRequest(t *testing.T) {
	dir := t.TempDir()
	boot := `#!/usr/bin/env python3
import http.client, os
host = os.environ["AWS_LAMBDA_RUNTIME_API"]
while True:
    c = http.client.HTTPConnection(host)
    c.request("GET", "/2018-06-01/runtime/invocation/next", headers={"Connection": "close"})
    r = c.getresponse()
    rid = r.getheader("Lambda-Runtime-Aws-Request-Id")
    body = r.read()
    c.close()
    c = http.client.HTTPConnection(host)
    c.request("POST", "/2018-06-01/runtime/invocation/%s/response" % rid, body=b'{"echo":' + body + b'}', headers={"Connection": "close"})
    c.getresponse().read()
    c.close()
`
	if err := os.WriteFile(filepath.Join(dir, "bootstrap"), []byte(boot), 0o755); err != nil {
		t.Fatal(err)
	}
	r := newRegistry(t, Options{})
	if err := r.Deploy([]FunctionSpec{{Name: "sh", Runtime: "provided.al2023", Handler: "x", TaskRoot: dir, Timeout: 10}}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		res := invoke(t, r, "sh", `{"n":`+itoa(i)+`}`)
		if res.FunctionError != "" || string(res.Payload) != `{"echo":{"n":`+itoa(i)+`}}` {
			t.Fatalf("invocation %d: %s", i, res.Payload)
		}
	}
}

// runtimeScript deploys a custom runtime written in Python (bootstrap) and
// returns a registry with it as function "rt".
func runtimeScript(t *testing.T, script string, env ...string) *Registry {
	t.Helper()
	dir := t.TempDir()
	boot := "#!/usr/bin/env python3\nimport http.client, os, socket, time\nhost = os.environ['AWS_LAMBDA_RUNTIME_API']\nhp, port = host.split(':')\n" + script
	if err := os.WriteFile(filepath.Join(dir, "bootstrap"), []byte(boot), 0o755); err != nil {
		t.Fatal(err)
	}
	r := newRegistry(t, Options{})
	vars := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	if err := r.Deploy([]FunctionSpec{{Name: "rt", Runtime: "provided.al2023", Handler: "x", TaskRoot: dir, Timeout: 10, Environment: vars}}); err != nil {
		t.Fatal(err)
	}
	return r
}

// expectEcho makes invocations from to to-1 and checks each is echoed.
func expectEcho(t *testing.T, r *Registry, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		res := invoke(t, r, "rt", `{"n":`+itoa(i)+`}`)
		if res.FunctionError != "" || !strings.Contains(string(res.Payload), `{"n":`+itoa(i)+`}`) {
			t.Fatalf("invocation %d: %s %s", i, res.FunctionError, res.Payload)
		}
	}
}

// A runtime whose HTTP client gives up on a long poll while the instance
// is idle, and polls again on a new connection, gets the next event on the
// new one.
func TestRuntimeAPIAbandonedPoll(t *testing.T) {
	mark := filepath.Join(t.TempDir(), "abandoned")
	r := runtimeScript(t, `
def serve(c):
    c.request("GET", "/2018-06-01/runtime/invocation/next")
    resp = c.getresponse()
    rid = resp.getheader("Lambda-Runtime-Aws-Request-Id")
    body = resp.read()
    c.request("POST", "/2018-06-01/runtime/invocation/%s/response" % rid, body=b'{"echo":' + body + b'}')
    c.getresponse().read()
a = http.client.HTTPConnection(host)
serve(a)
# The next poll, given up on: sent, then the connection closed unread.
a.putrequest("GET", "/2018-06-01/runtime/invocation/next")
a.endheaders()
a.sock.shutdown(socket.SHUT_RDWR)
a.close()
b = http.client.HTTPConnection(host)
b.connect()
open(os.environ["MARK"], "w").close()
while True:
    serve(b)
`, "MARK="+mark)
	expectEcho(t, r, 0, 1)
	waitFor(t, "the runtime to abandon its poll", func() bool { _, err := os.Stat(mark); return err == nil })
	expectEcho(t, r, 1, 3)
}

// A runtime that keeps two connections and uses them in turn is served on
// whichever its requests come on.
func TestRuntimeAPITwoConnections(t *testing.T) {
	r := runtimeScript(t, `
conns = [http.client.HTTPConnection(host), http.client.HTTPConnection(host)]
i = 0
while True:
    c = conns[i % 2]
    c.request("GET", "/2018-06-01/runtime/invocation/next")
    resp = c.getresponse()
    rid = resp.getheader("Lambda-Runtime-Aws-Request-Id")
    body = resp.read()
    d = conns[(i + 1) % 2]
    d.request("POST", "/2018-06-01/runtime/invocation/%s/response" % rid, body=b'{"echo":' + body + b'}')
    d.getresponse().read()
    i += 1
`)
	expectEcho(t, r, 0, 4)
}

// A second answer to the same invocation is refused and never becomes the
// next invocation's answer.
func TestRuntimeAPISecondAnswerIsRefused(t *testing.T) {
	r := runtimeScript(t, `
a = http.client.HTTPConnection(host)
b = http.client.HTTPConnection(host)
while True:
    a.request("GET", "/2018-06-01/runtime/invocation/next")
    resp = a.getresponse()
    rid = resp.getheader("Lambda-Runtime-Aws-Request-Id")
    body = resp.read()
    b.request("POST", "/2018-06-01/runtime/invocation/%s/response" % rid, body=b'{"echo":' + body + b'}')
    b.getresponse().read()
    a.request("POST", "/2018-06-01/runtime/invocation/%s/response" % rid, body=b'{"stale":true}')
    st = a.getresponse()
    st.read()
    if st.status != 400:
        raise SystemExit("a second answer was accepted: %d" % st.status)
`)
	expectEcho(t, r, 0, 3)
}

// A runtime that asks Expect: 100-continue before a body (curl does, over
// 1 MB) is told to go on.
func TestRuntimeAPIExpectContinue(t *testing.T) {
	r := runtimeScript(t, `
s = socket.create_connection((hp, int(port)))
f = s.makefile("rb")
def request(head, body=b""):
    s.sendall(head)
    if body:
        line = f.readline()
        if not line.startswith(b"HTTP/1.1 100"):
            raise SystemExit("no 100 Continue: %r" % line)
        f.readline()
        s.sendall(body)
    status = f.readline()
    headers = {}
    while True:
        h = f.readline().strip()
        if not h:
            break
        k, _, v = h.partition(b":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, f.read(int(headers.get(b"content-length", b"0")))
while True:
    _, h, body = request(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n")
    rid = h[b"lambda-runtime-aws-request-id"].decode()
    out = b'{"echo":' + body + b'}'
    request(("POST /2018-06-01/runtime/invocation/%s/response HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n" % (rid, len(out))).encode(), out)
`)
	expectEcho(t, r, 0, 2)
}
