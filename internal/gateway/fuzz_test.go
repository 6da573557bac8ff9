package gateway

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/cloudlet/cloudlet/internal/lambda"
)

// FuzzServeHTTP sends arbitrary requests and function responses through the
// gateway: it must not panic, every event must be valid JSON carrying the
// body intact, and every status must be one the gateway documents.
func FuzzServeHTTP(f *testing.F) {
	f.Add("GET", "/dev/user/1", "a=1&a=2", "X-A", "v", "application/json", []byte(`{"x":1}`), []byte(`{"statusCode":200,"body":"ok"}`))
	f.Add("POST", "/h/a%2Fb", "q=%zz&&", "Cookie", "a=1; b", "image/png", []byte("\x00\xff"), []byte(`"str"`))
	f.Add("OPTIONS", "/cors", "", "x-low", "\xff", "", []byte{}, []byte(`{"statusCode":204}`))
	f.Add("PUT", "/any/x/y", "", "Content-Type", "text/plain", "text/plain", []byte("caf\xe9"), []byte(`{"statusCode":200,"body":"aGk","isBase64Encoded":true}`))
	f.Add("GET", "", "", "", "", "", []byte(nil), []byte(``))
	routes := []Route{
		{Kind: REST, Method: "GET", Path: "/user/{id}", Function: "u"},
		{Kind: REST, Method: "ANY", Path: "/any/{proxy+}", Function: "a", CORS: true},
		{Kind: HTTPAPI, Method: "POST", Path: "/h/{x}", Function: "h"},
		{Kind: HTTPAPI, Method: "GET", Path: "/cors", Function: "c", CORS: true},
		{Kind: HTTPAPI, Method: "ANY", Path: "*", Function: "d"},
	}
	allowed := map[int]bool{204: true, 400: true, 404: true, 413: true, 500: true, 502: true}
	f.Fuzz(func(t *testing.T, method, path, query, hk, hv, ct string, body, resp []byte) {
		var event []byte
		inv := &fakeInvoker{reply: func(req *lambda.Request) (*lambda.Result, error) {
			event = req.Payload
			return &lambda.Result{Payload: resp}, nil
		}}
		g := newTestGateway(t, inv, routes...)
		r := &http.Request{
			Method:     method,
			URL:        &url.URL{Path: path, RawQuery: query},
			Proto:      "HTTP/1.1",
			Header:     http.Header{hk: {hv}, "Content-Type": {ct}},
			Host:       "example.com",
			RemoteAddr: "192.0.2.1:1234",
			Body:       io.NopCloser(bytes.NewReader(body)),
		}
		w := httptest.NewRecorder()
		g.ServeHTTP(w, r)
		if !allowed[w.Code] && (w.Code < 200 || w.Code > 599) {
			t.Fatalf("status %d", w.Code)
		}
		if event == nil {
			return
		}
		var ev struct {
			Body            *string `json:"body"`
			IsBase64Encoded bool    `json:"isBase64Encoded"`
		}
		if err := json.Unmarshal(event, &ev); err != nil {
			t.Fatalf("invalid event: %v\n%s", err, event)
		}
		var got []byte
		if ev.Body != nil {
			got = []byte(*ev.Body)
			if ev.IsBase64Encoded {
				var err error
				if got, err = base64.StdEncoding.DecodeString(*ev.Body); err != nil {
					t.Fatal(err)
				}
			}
		}
		if !bytes.Equal(got, body) {
			t.Fatalf("body %q reached the function as %q", body, got)
		}
	})
}
