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
