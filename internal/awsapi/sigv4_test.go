package awsapi

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

func TestParseAuthorization(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   *Auth
		code   string
	}{
		{
			header: "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/lambda/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc",
			want: &Auth{AccessKeyID: "AKID", Date: "20260101", Region: "us-east-1", Service: "lambda",
				SignedHeaders: []string{"host", "x-amz-date"}, Signature: "abc"},
		},
		{ // commas without spaces, as some clients write it
			header: "AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-west-1/s3/aws4_request,SignedHeaders=host,Signature=abc",
			want: &Auth{AccessKeyID: "AKID", Date: "20260101", Region: "eu-west-1", Service: "s3",
				SignedHeaders: []string{"host"}, Signature: "abc"},
		},
		{header: "Bearer token", code: "IncompleteSignatureException"},
		{header: "AWS4-ECDSA-P256-SHA256 Credential=a", code: "IncompleteSignatureException"},
		{header: "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/lambda/aws4_request", code: "IncompleteSignatureException"},
		{header: "AWS4-HMAC-SHA256 Credential=AKID/2026/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=a", code: "IncompleteSignatureException"},
		{header: "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/lambda/aws5_request, SignedHeaders=host, Signature=a", code: "IncompleteSignatureException"},
		{header: "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/lambda, SignedHeaders=host, Signature=a", code: "IncompleteSignatureException"},
		{header: "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/lambda/aws4_request, SignedHeaders=Host, Signature=a", code: "IncompleteSignatureException"},
		{header: "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/lambda/aws4_request, SignedHeaders=host;;x, Signature=a", code: "IncompleteSignatureException"},
	} {
		got, err := ParseAuthorization(tc.header)
		if tc.code != "" {
			var e *Error
			if !errors.As(err, &e) || e.Code != tc.code || e.Status != 400 {
				t.Errorf("%q: got %v, want %s", tc.header, err, tc.code)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.header, err)
			continue
		}
		if got.AccessKeyID != tc.want.AccessKeyID || got.Date != tc.want.Date || got.Region != tc.want.Region ||
			got.Service != tc.want.Service || strings.Join(got.SignedHeaders, ";") != strings.Join(tc.want.SignedHeaders, ";") ||
			got.Signature != tc.want.Signature {
			t.Errorf("%q: got %+v, want %+v", tc.header, got, tc.want)
		}
	}
}

func FuzzParseAuthorization(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/lambda/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc")
	f.Add("AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/lambda/aws4_request,SignedHeaders=host,Signature=")
	f.Add("AWS4-HMAC-SHA256 Credential=/////, SignedHeaders=;, Signature==")
	f.Add("AWS4-X")
	f.Add("")
	f.Fuzz(func(t *testing.T, header string) {
		a, err := ParseAuthorization(header)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code != "IncompleteSignatureException" {
				t.Fatalf("error %v is not IncompleteSignatureException", err)
			}
			return
		}
		if a.AccessKeyID == "" || a.Region == "" || a.Service == "" || len(a.Date) != 8 || len(a.SignedHeaders) == 0 {
			t.Fatalf("accepted an incomplete credential: %+v", a)
		}
		for _, h := range a.SignedHeaders {
			if h == "" || h != strings.ToLower(h) {
				t.Fatalf("accepted signed header %q", h)
			}
		}
	})
}

var fuzzTime = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// clientServerPair signs a request the way a Go client would and returns the
// request its server would see.
func clientServerPair(t testing.TB, method, path, query string, body []byte, header http.Header) (*http.Request, bool) {
	u, err := url.Parse("http://cloudlet.test:4566" + path)
	if err != nil || u.Host != "cloudlet.test:4566" || u.Fragment != "" || u.RawQuery != "" || u.Opaque != "" {
		return nil, false
	}
	u.RawQuery = query
	client, err := http.NewRequest(method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, false
	}
	for k, v := range header {
		client.Header[k] = v
	}
	creds := aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, client, bodyHash(body), "lambda", "us-east-1", fuzzTime); err != nil {
		t.Fatal(err)
	}
	target := client.URL.RequestURI() // what net/http writes on the wire
	if !strings.HasPrefix(target, "/") {
		return nil, false
	}
	server := httptest.NewRequest(method, "http://cloudlet.test:4566"+target, bytes.NewReader(body))
	server.RequestURI = target
	server.Header = client.Header.Clone()
	return server, true
}

func FuzzVerify(f *testing.F) {
	f.Add("/2015-03-31/functions/f%3A%24LATEST/invocations", "Qualifier=%24LATEST", []byte(`{"a":1}`), "x-amz-invocation-type", "Event", "0")
	f.Add("/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Af/invocations", "", []byte{}, "user-agent", "x", "f")
	f.Add("/a b/ü/%2F/", "b=2&a=1&a=0&c", []byte("x"), "x-amz-meta-a", "  two  spaces ", "ff")
	f.Add("/", "", []byte(nil), "content-type", "application/json", "")
	v := NewVerifier(DefaultCredentials, func() time.Time { return fuzzTime })
	f.Fuzz(func(t *testing.T, path, query string, body []byte, hname, hvalue, mutation string) {
		header := http.Header{}
		if validHeader(hname, hvalue) {
			header.Set(hname, hvalue)
		}
		r, ok := clientServerPair(t, "POST", path, query, body, header)
		if !ok {
			return
		}
		a, err := ParseRequest(r)
		if err != nil {
			t.Fatalf("parse the SDK's own Authorization %q: %v", r.Header.Get("Authorization"), err)
		}
		if err := v.Verify(r, a, body); err != nil {
			t.Fatalf("rejected the SDK's own signature for %s?%s: %v", r.RequestURI, query, err)
		}
		// Any other signature must be refused.
		mutated := mutate(a.Signature, mutation)
		if mutated == a.Signature {
			return
		}
		m := *a
		m.Signature = mutated
		if err := v.Verify(r, &m, body); err == nil {
			t.Fatalf("accepted mutated signature %q (original %q)", mutated, a.Signature)
		}
	})
}

// validHeader reports whether a header can be sent as is and is not one the
// signer itself writes.
func validHeader(name, value string) bool {
	if name == "" || strings.ContainsAny(value, "\r\n\x00") || !utf8.ValidString(value) {
		return false
	}
	switch http.CanonicalHeaderKey(name) {
	case "Authorization", "X-Amz-Date", "Host", "X-Amz-Security-Token":
		return false
	}
	for _, c := range []byte(name) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// mutate changes sig as directed by m: flip, drop, extend or replace characters.
func mutate(sig, m string) string {
	if m == "" {
		return sig
	}
	b := []byte(sig)
	switch m[0] % 4 {
	case 0:
		if len(b) > 0 {
			i := int(m[0]) % len(b)
			b[i] ^= 1 | m[len(m)-1]
		}
	case 1:
		if len(b) > 0 {
			b = b[:len(b)-1]
		}
	case 2:
		b = append(b, m[1:]...)
	default:
		b = []byte(m[1:])
	}
	return string(b)
}

func TestVerifyAcceptsOwnSignatures(t *testing.T) {
	v := NewVerifier(DefaultCredentials, func() time.Time { return fuzzTime })
	for _, path := range []string{
		"/2015-03-31/functions/f%3A%24LATEST/invocations",
		"/2015-03-31/functions/f:$LATEST/invocations", // a client that does not escape ':'
		"/2015-03-31/functions/",
		"/with%20space/and+plus",
		"",
	} {
		r, ok := clientServerPair(t, "POST", path, "MaxItems=3&Marker=a%2Fb&Marker=a-b", []byte("{}"), nil)
		if !ok {
			t.Fatalf("%s: cannot build request", path)
		}
		a, err := ParseRequest(r)
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Verify(r, a, []byte("{}")); err != nil {
			t.Errorf("%s: %v", path, err)
		}
	}
}

// BenchmarkVerify measures SigV4 verification of a typical Invoke request.
func BenchmarkVerify(b *testing.B) {
	body := bytes.Repeat([]byte(`{"key":"value"},`), 64) // 1 KB
	r, _ := clientServerPair(b, "POST", "/2015-03-31/functions/app-dev-getUser/invocations", "", body, http.Header{
		"Content-Type":          {"application/octet-stream"},
		"X-Amz-Invocation-Type": {"RequestResponse"},
		"X-Amz-Log-Type":        {"None"},
		"Amz-Sdk-Invocation-Id": {"7c1f9c50-1e53-4a2c-9b1f-2d8b1f0a4e77"},
		"Amz-Sdk-Request":       {"attempt=1; max=3"},
	})
	v := NewVerifier(DefaultCredentials, func() time.Time { return fuzzTime })
	b.ReportAllocs()
	for b.Loop() {
		a, err := ParseRequest(r)
		if err != nil {
			b.Fatal(err)
		}
		if err := v.Verify(r, a, body); err != nil {
			b.Fatal(err)
		}
	}
}
