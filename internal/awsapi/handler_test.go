package awsapi

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	lambdasdk "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/smithy-go"
)

func TestSDKAuthErrors(t *testing.T) {
	srv := startServer(t, newFakeLambda("f"), nil)
	ctx := context.Background()
	in := &lambdasdk.InvokeInput{FunctionName: aws.String("f"), Payload: []byte(`{}`)}

	for _, tc := range []struct {
		name, key, secret, code, message string
	}{
		{"wrong secret", "test", "wrong", "InvalidSignatureException", errorTable[ErrInvalidSignature].message},
		{"unknown key", "AKIDUNKNOWN", "test", "UnrecognizedClientException", "The security token included in the request is invalid."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sdkClient(srv.URL, tc.key, tc.secret).Invoke(ctx, in)
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) || apiErr.ErrorCode() != tc.code || apiErr.ErrorMessage() != tc.message {
				t.Fatalf("got %v, want %s: %s", err, tc.code, tc.message)
			}
		})
	}

	t.Run("other region", func(t *testing.T) {
		client := lambdasdk.New(sdkClient(srv.URL, "test", "test").Options(), func(o *lambdasdk.Options) { o.Region = "eu-west-1" })
		_, err := client.Invoke(ctx, in)
		var apiErr smithy.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "InvalidSignatureException" ||
			!strings.Contains(apiErr.ErrorMessage(), "not 'eu-west-1'") {
			t.Fatalf("got %v", err)
		}
	})
}

func TestClockSkew(t *testing.T) {
	for _, tc := range []struct {
		name   string
		offset time.Duration // server clock minus client clock
		want   string
	}{
		{"expired", 16 * time.Minute, "Signature expired: "},
		{"future", -16 * time.Minute, "Signature not yet current: "},
		{"within skew", 14 * time.Minute, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startServer(t, newFakeLambda("f"), func(o *Options) {
				o.Now = func() time.Time { return time.Now().Add(tc.offset) }
			})
			_, err := sdkClient(srv.URL, "test", "test").ListFunctions(context.Background(), &lambdasdk.ListFunctionsInput{})
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "InvalidSignatureException" || !strings.HasPrefix(apiErr.ErrorMessage(), tc.want) {
				t.Fatalf("got %v, want InvalidSignatureException %q", err, tc.want)
			}
		})
	}
}

func TestRawRequests(t *testing.T) {
	srv := startServer(t, newFakeLambda("f"), nil)
	invokeURL := srv.URL + "/2015-03-31/functions/f/invocations"
	now := time.Now()

	unsigned, err := http.NewRequest("POST", invokeURL, strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}

	tampered := signedRequest(t, "POST", invokeURL, "lambda", "test", []byte(`{"a":1}`), now, nil)
	tampered.Body = aBody(`{"a":2}`) // same length, other content

	claimed := signedRequest(t, "POST", invokeURL, "lambda", "test", []byte(`{"a":1}`), now, func(r *http.Request) {
		r.Header.Set("X-Amz-Content-Sha256", bodyHash([]byte(`{"a":1}`)))
	})
	claimed.Body = aBody(`{"a":2}`)

	unsignedPayload := func() *http.Request {
		r, _ := http.NewRequest("POST", invokeURL, strings.NewReader(`{"u":1}`))
		r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
		creds := aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, "UNSIGNED-PAYLOAD", "lambda", "us-east-1", now); err != nil {
			t.Fatal(err)
		}
		return r
	}()

	// A client may sign headers the SDK's signer would skip, such as User-Agent.
	signedUA := signedRequest(t, "POST", invokeURL, "lambda", "test", []byte(`{}`), now, func(r *http.Request) {
		r.Header["user-agent"] = []string{"custom-client/1.0"}
	})
	signedUA.Header["User-Agent"] = signedUA.Header["user-agent"]
	delete(signedUA.Header, "user-agent")

	noDate := signedRequest(t, "GET", srv.URL+"/2015-03-31/functions/", "lambda", "test", nil, now, nil)
	noDate.Header.Del("X-Amz-Date")

	incomplete, _ := http.NewRequest("GET", srv.URL+"/2015-03-31/functions/", nil)
	incomplete.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/lambda/aws4_request")

	otherService := signedRequest(t, "GET", srv.URL+"/", "sqs", "test", nil, now, nil)

	presign := func(url string, at time.Time, expires string) *http.Request {
		r, _ := http.NewRequest("GET", url, nil)
		q := r.URL.Query()
		q.Set("X-Amz-Expires", expires)
		r.URL.RawQuery = q.Encode()
		creds := aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}
		signed, _, err := v4.NewSigner().PresignHTTP(context.Background(), creds, r, bodyHash(nil), "lambda", "us-east-1", at)
		if err != nil {
			t.Fatal(err)
		}
		r, _ = http.NewRequest("GET", signed, nil)
		return r
	}
	presigned := presign(srv.URL+"/2015-03-31/functions/f?Qualifier=%24LATEST", now, "300")
	presignedTampered := presign(srv.URL+"/2015-03-31/functions/f?Qualifier=%24LATEST", now, "300")
	presignedTampered.URL.RawQuery = strings.Replace(presignedTampered.URL.RawQuery, "X-Amz-Expires=300", "X-Amz-Expires=900", 1)
	presignedExpired := presign(srv.URL+"/2015-03-31/functions/f", now.Add(-10*time.Minute), "60")

	for _, tc := range []struct {
		name   string
		req    *http.Request
		status int
		code   string // x-amzn-ErrorType; "" for success
		body   string // exact body, or prefix when it ends in "*"
	}{
		{"unsigned", unsigned, 403, "MissingAuthenticationTokenException", `{"Type":"User","message":"Missing Authentication Token"}`},
		{"body replaced", tampered, 403, "InvalidSignatureException", "*"},
		{"claimed hash does not match body", claimed, 403, "InvalidSignatureException",
			`{"Type":"User","message":"The provided 'x-amz-content-sha256' header does not match what was computed."}`},
		{"unsigned payload", unsignedPayload, 200, "", `{"u":1}`},
		{"signed user-agent", signedUA, 200, "", `{}`},
		{"no x-amz-date", noDate, 400, "IncompleteSignatureException", "*"},
		{"incomplete", incomplete, 400, "IncompleteSignatureException",
			`{"Type":"User","message":"Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. ` +
				`Authorization=AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/lambda/aws4_request"}`},
		{"unknown service", otherService, 404, "UnknownOperationException",
			`{"Type":"User","message":"Cloudlet does not serve the service 'sqs' named in the credential scope; it serves lambda."}`},
		{"presigned", presigned, 200, "", `{"Configuration":{"FunctionName":"f",*`},
		{"presigned tampered", presignedTampered, 403, "InvalidSignatureException", "*"},
		{"presigned expired", presignedExpired, 403, "InvalidSignatureException", `{"Type":"User","message":"Signature expired: *`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := do(t, tc.req)
			if resp.StatusCode != tc.status || resp.Header.Get("x-amzn-ErrorType") != tc.code {
				t.Fatalf("got %d %q %s, want %d %q", resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"), body, tc.status, tc.code)
			}
			if resp.Header.Get("x-amzn-RequestId") == "" {
				t.Error("no x-amzn-RequestId")
			}
			if prefix, ok := strings.CutSuffix(tc.body, "*"); ok {
				if !strings.HasPrefix(string(body), prefix) {
					t.Fatalf("body %s, want prefix %s", body, prefix)
				}
			} else if string(body) != tc.body {
				t.Fatalf("body %s, want %s", body, tc.body)
			}
		})
	}
}

func aBody(s string) *readCloser { return &readCloser{bytes.NewReader([]byte(s))} }

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

func TestHealth(t *testing.T) {
	ready := false
	srv := startServer(t, newFakeLambda(), func(o *Options) {
		o.Health = func() (bool, []byte) {
			if !ready {
				return false, []byte(`{"status":"starting"}`)
			}
			return true, []byte(`{"status":"ok"}`)
		}
	})
	get := func() (int, string) {
		resp, err := http.Get(srv.URL + HealthPath)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		return resp.StatusCode, b.String()
	}
	if status, body := get(); status != 503 || body != `{"status":"starting"}` {
		t.Fatalf("not ready: %d %s", status, body)
	}
	ready = true
	if status, body := get(); status != 200 || body != `{"status":"ok"}` {
		t.Fatalf("ready: %d %s", status, body)
	}
}

func TestBodyLimitBeforeReading(t *testing.T) {
	logger := slog.New(slog.DiscardHandler)
	fake := newFakeLambda("f")
	h := New(Options{Logger: logger, Services: map[string]Service{"lambda": NewLambda(fake, fake, "us-east-1", "000000000000", logger)}})
	body := &endless{}
	req := httptest.NewRequest("POST", "/2015-03-31/functions/f/invocations", body)
	req.ContentLength = 1 << 40
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=00")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 413 || rec.Header().Get("x-amzn-ErrorType") != "RequestTooLargeException" || body.read != 0 {
		t.Fatalf("got %d %s after reading %d bytes", rec.Code, rec.Header().Get("x-amzn-ErrorType"), body.read)
	}
	want := `{"Type":"User","message":"Request must be smaller than 6291456 bytes for the InvokeFunction operation"}`
	if rec.Body.String() != want {
		t.Fatalf("body %s", rec.Body)
	}
}

type endless struct{ read int }

func (e *endless) Read(p []byte) (int, error) { clear(p); e.read += len(p); return len(p), nil }
