package awsapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	lambdasdk "github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/cloudlet/cloudlet/internal/lambda"
)

// fakeLambda is an Invoker and Catalog over a fixed set of functions.
type fakeLambda struct {
	mu     sync.Mutex
	fns    map[string]lambda.Config
	invoke func(ctx context.Context, req *lambda.Request) (*lambda.Result, error)
	calls  chan *lambda.Request // every Invoke, when non-nil
}

func newFakeLambda(names ...string) *fakeLambda {
	f := &fakeLambda{fns: map[string]lambda.Config{}}
	for _, n := range names {
		f.add(testConfig(n))
	}
	return f
}

func testConfig(name string) lambda.Config {
	return lambda.Config{
		Name:         name,
		ARN:          "arn:aws:lambda:us-east-1:000000000000:function:" + name,
		Runtime:      "nodejs20.x",
		Handler:      "handler.main",
		MemorySize:   1024,
		Timeout:      6,
		Role:         "arn:aws:iam::000000000000:role/app-dev-us-east-1-lambdaRole",
		CodeSha256:   "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
		CodeSize:     1234,
		LastModified: time.Date(2026, 1, 2, 3, 4, 5, 600_000_000, time.UTC),
	}
}

func (f *fakeLambda) add(c lambda.Config) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fns[c.Name] = c
}

func (f *fakeLambda) Functions() []lambda.Config {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]lambda.Config, 0, len(f.fns))
	for _, c := range f.fns {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (f *fakeLambda) Function(nameOrARN string) (lambda.Config, bool) {
	name := strings.TrimSuffix(nameOrARN, ":$LATEST")
	if _, after, ok := strings.Cut(name, ":function:"); ok {
		name = after
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.fns[name]
	return c, ok
}

func (f *fakeLambda) Invoke(ctx context.Context, req *lambda.Request) (*lambda.Result, error) {
	if f.calls != nil {
		f.calls <- req
	}
	if _, ok := f.Function(req.Function); !ok {
		return nil, lambda.ErrFunctionNotFound
	}
	if f.invoke != nil {
		return f.invoke(ctx, req)
	}
	return &lambda.Result{RequestID: "11111111-2222-4333-8444-555555555555", Payload: req.Payload}, nil
}

type testServer struct {
	*httptest.Server
	lambda *LambdaService
}

// startServer serves fake behind a Handler with default options changed by opt.
func startServer(t testing.TB, fake *fakeLambda, opt func(*Options)) *testServer {
	t.Helper()
	logger := slog.New(slog.DiscardHandler)
	svc := NewLambda(fake, fake, "us-east-1", "000000000000", logger)
	opts := Options{Logger: logger, Services: map[string]Service{"lambda": svc}}
	if opt != nil {
		opt(&opts)
	}
	srv := httptest.NewServer(New(opts))
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := svc.Drain(ctx); err != nil {
			t.Errorf("drain: %v", err)
		}
	})
	return &testServer{Server: srv, lambda: svc}
}

// sdkClient is the AWS SDK for Go v2 Lambda client pointed at url. Retries
// are off so that errors arrive as the server sent them, once.
func sdkClient(url, accessKey, secret string) *lambdasdk.Client {
	return lambdasdk.New(lambdasdk.Options{
		BaseEndpoint: aws.String(url),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(accessKey, secret, ""),
		Retryer:      aws.NopRetryer{},
	})
}

func bodyHash(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// signedRequest builds a request signed with the SDK's signer, as an SDK would
// send it. edit may change the request before it is signed.
func signedRequest(t testing.TB, method, url, service, secret string, body []byte, at time.Time, edit func(*http.Request)) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(req)
	}
	creds := aws.Credentials{AccessKeyID: "test", SecretAccessKey: secret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, bodyHash(body), service, "us-east-1", at); err != nil {
		t.Fatal(err)
	}
	return req
}

func do(t testing.TB, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}
