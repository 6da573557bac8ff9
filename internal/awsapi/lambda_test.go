package awsapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	lambdasdk "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/cloudlet/cloudlet/internal/lambda"
)

func TestInvoke(t *testing.T) {
	fake := newFakeLambda("f", "reserved")
	reserved := 1
	c := testConfig("reserved")
	c.ReservedConcurrency = &reserved
	fake.add(c)
	fake.invoke = func(ctx context.Context, req *lambda.Request) (*lambda.Result, error) {
		var in map[string]any
		_ = json.Unmarshal(req.Payload, &in)
		switch in["do"] {
		case "fail":
			return &lambda.Result{RequestID: "r-fail", FunctionError: "Unhandled", ErrorType: "Error",
				Payload: []byte(`{"errorMessage":"boom","errorType":"Error"}`), LogTail: []byte("START\nboom\nEND\n")}, nil
		case "throttle":
			return nil, lambda.ErrThrottled
		case "stop":
			return nil, lambda.ErrStopped
		case "context":
			return &lambda.Result{Payload: []byte(fmt.Sprintf("%q", req.ClientContext))}, nil
		}
		return &lambda.Result{RequestID: "r-ok", Payload: req.Payload, LogTail: []byte("START RequestId: r-ok\nEND\n")}, nil
	}
	srv := startServer(t, fake, nil)
	client := sdkClient(srv.URL, "test", "test")
	ctx := context.Background()

	t.Run("success", func(t *testing.T) {
		out, err := client.Invoke(ctx, &lambdasdk.InvokeInput{FunctionName: aws.String("f"), Payload: []byte(`{"a":1}`)})
		if err != nil {
			t.Fatal(err)
		}
		if out.StatusCode != 200 || string(out.Payload) != `{"a":1}` || out.FunctionError != nil ||
			aws.ToString(out.ExecutedVersion) != "$LATEST" || out.LogResult != nil {
			t.Fatalf("got status %d payload %s function error %v version %v log %v",
				out.StatusCode, out.Payload, out.FunctionError, aws.ToString(out.ExecutedVersion), out.LogResult)
		}
	})
	t.Run("empty payload is {}", func(t *testing.T) {
		out, err := client.Invoke(ctx, &lambdasdk.InvokeInput{FunctionName: aws.String("f")})
		if err != nil {
			t.Fatal(err)
		}
		if string(out.Payload) != `{}` {
			t.Fatalf("payload %q, want {}", out.Payload)
		}
	})
	t.Run("function error with tail", func(t *testing.T) {
		out, err := client.Invoke(ctx, &lambdasdk.InvokeInput{FunctionName: aws.String("f"),
			Payload: []byte(`{"do":"fail"}`), LogType: types.LogTypeTail})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.FunctionError) != "Unhandled" || out.StatusCode != 200 {
			t.Fatalf("function error %q status %d", aws.ToString(out.FunctionError), out.StatusCode)
		}
		logs, err := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
		if err != nil || string(logs) != "START\nboom\nEND\n" {
			t.Fatalf("log result %q (%v)", logs, err)
		}
		if !strings.Contains(string(out.Payload), `"errorMessage":"boom"`) {
			t.Fatalf("payload %s", out.Payload)
		}
	})
	t.Run("client context", func(t *testing.T) {
		cc := base64.StdEncoding.EncodeToString([]byte(`{"custom":{"k":"v"}}`))
		out, err := client.Invoke(ctx, &lambdasdk.InvokeInput{FunctionName: aws.String("f"),
			Payload: []byte(`{"do":"context"}`), ClientContext: aws.String(cc)})
		if err != nil {
			t.Fatal(err)
		}
		if string(out.Payload) != fmt.Sprintf("%q", cc) {
			t.Fatalf("function saw client context %s, want %q", out.Payload, cc)
		}
	})
	t.Run("dry run", func(t *testing.T) {
		out, err := client.Invoke(ctx, &lambdasdk.InvokeInput{FunctionName: aws.String("f"), InvocationType: types.InvocationTypeDryRun})
		if err != nil {
			t.Fatal(err)
		}
		if out.StatusCode != http.StatusNoContent {
			t.Fatalf("status %d, want 204", out.StatusCode)
		}
	})
	for _, name := range []string{
		"f:$LATEST",
		"arn:aws:lambda:us-east-1:000000000000:function:f",
		"arn:aws:lambda:us-east-1:000000000000:function:f:$LATEST",
		"000000000000:function:f",
	} {
		t.Run("name "+name, func(t *testing.T) {
			out, err := client.Invoke(ctx, &lambdasdk.InvokeInput{FunctionName: aws.String(name), Payload: []byte(`1`)})
			if err != nil {
				t.Fatal(err)
			}
			if string(out.Payload) != "1" {
				t.Fatalf("payload %s", out.Payload)
			}
		})
	}
	t.Run("qualifier $LATEST", func(t *testing.T) {
		out, err := client.Invoke(ctx, &lambdasdk.InvokeInput{FunctionName: aws.String("f"), Qualifier: aws.String("$LATEST"), Payload: []byte(`[]`)})
		if err != nil {
			t.Fatal(err)
		}
		if string(out.Payload) != "[]" {
			t.Fatalf("payload %s", out.Payload)
		}
	})

	errCases := []struct {
		name    string
		in      *lambdasdk.InvokeInput
		check   func(error) bool
		message string // prefix
	}{
		{"not found", &lambdasdk.InvokeInput{FunctionName: aws.String("nope")},
			isA[*types.ResourceNotFoundException], "Function not found: arn:aws:lambda:us-east-1:000000000000:function:nope"},
		{"unknown qualifier", &lambdasdk.InvokeInput{FunctionName: aws.String("f"), Qualifier: aws.String("7")},
			isA[*types.ResourceNotFoundException], "Function not found: arn:aws:lambda:us-east-1:000000000000:function:f:7"},
		{"unknown alias in name", &lambdasdk.InvokeInput{FunctionName: aws.String("f:live")},
			isA[*types.ResourceNotFoundException], "Function not found: arn:aws:lambda:us-east-1:000000000000:function:f:live"},
		{"invalid json", &lambdasdk.InvokeInput{FunctionName: aws.String("f"), Payload: []byte(`abc`)},
			isA[*types.InvalidRequestContentException],
			"Could not parse request body into json: Could not parse payload into json: Unrecognized token 'abc': was expecting"},
		{"too large", &lambdasdk.InvokeInput{FunctionName: aws.String("f"), Payload: make([]byte, lambda.MaxSyncPayload+1)},
			isA[*types.RequestTooLargeException], "Request must be smaller than 6291456 bytes for the InvokeFunction operation"},
		{"event too large", &lambdasdk.InvokeInput{FunctionName: aws.String("f"), InvocationType: types.InvocationTypeEvent,
			Payload: []byte(`"` + strings.Repeat("x", lambda.MaxAsyncPayload) + `"`)},
			hasCode("RequestEntityTooLargeException"), "1048578 byte payload is too large for the Event invocation type (limit 1048576 bytes)"},
		{"stopping", &lambdasdk.InvokeInput{FunctionName: aws.String("f"), Payload: []byte(`{"do":"stop"}`)},
			isA[*types.ServiceException], "The Lambda service is stopping"},
	}
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client.Invoke(ctx, tc.in)
			if err == nil || !tc.check(err) {
				t.Fatalf("got %T %v", err, err)
			}
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) || !strings.HasPrefix(apiErr.ErrorMessage(), tc.message) {
				t.Fatalf("message %q, want prefix %q", apiErr.ErrorMessage(), tc.message)
			}
		})
	}

	t.Run("throttled", func(t *testing.T) {
		for fn, reason := range map[string]types.ThrottleReason{
			"reserved": types.ThrottleReasonReservedFunctionConcurrentInvocationLimitExceeded,
			"f":        types.ThrottleReasonConcurrentInvocationLimitExceeded,
		} {
			_, err := client.Invoke(ctx, &lambdasdk.InvokeInput{FunctionName: aws.String(fn), Payload: []byte(`{"do":"throttle"}`)})
			var tm *types.TooManyRequestsException
			if !errors.As(err, &tm) {
				t.Fatalf("%s: got %T %v", fn, err, err)
			}
			if tm.Reason != reason || aws.ToString(tm.Message) != "Rate Exceeded." || aws.ToString(tm.Type) != "User" {
				t.Fatalf("%s: reason %q message %q type %q", fn, tm.Reason, aws.ToString(tm.Message), aws.ToString(tm.Type))
			}
		}
	})
}

func isA[T error](err error) bool {
	var target T
	return errors.As(err, &target)
}

func hasCode(code string) func(error) bool {
	return func(err error) bool {
		var apiErr smithy.APIError
		return errors.As(err, &apiErr) && apiErr.ErrorCode() == code
	}
}

func TestInvokeEvent(t *testing.T) {
	fake := newFakeLambda("f")
	fake.calls = make(chan *lambda.Request, 1)
	release := make(chan struct{})
	fake.invoke = func(ctx context.Context, req *lambda.Request) (*lambda.Result, error) {
		<-release // still running after the caller got its 202
		return &lambda.Result{Payload: []byte(`null`)}, nil
	}
	srv := startServer(t, fake, nil)
	client := sdkClient(srv.URL, "test", "test")

	out, err := client.Invoke(context.Background(), &lambdasdk.InvokeInput{FunctionName: aws.String("f"),
		InvocationType: types.InvocationTypeEvent, Payload: []byte(`{"async":true}`)})
	if err != nil {
		t.Fatal(err)
	}
	if out.StatusCode != http.StatusAccepted || len(out.Payload) != 0 {
		t.Fatalf("status %d payload %q, want 202 and none", out.StatusCode, out.Payload)
	}
	select {
	case req := <-fake.calls:
		if req.Function != "f" || string(req.Payload) != `{"async":true}` {
			t.Fatalf("invoked %s with %s", req.Function, req.Payload)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the event invocation never ran")
	}
	close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.lambda.Drain(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestListFunctionsPagination(t *testing.T) {
	var names []string
	for i := range 7 {
		names = append(names, fmt.Sprintf("app-dev-fn%d", i))
	}
	srv := startServer(t, newFakeLambda(names...), nil)
	client := sdkClient(srv.URL, "test", "test")

	var got []string
	pages := 0
	p := lambdasdk.NewListFunctionsPaginator(client, &lambdasdk.ListFunctionsInput{MaxItems: aws.Int32(3)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, f := range page.Functions {
			got = append(got, aws.ToString(f.FunctionName))
		}
	}
	if pages != 3 || strings.Join(got, ",") != strings.Join(names, ",") {
		t.Fatalf("%d pages: %v, want 3 pages: %v", pages, got, names)
	}

	out, err := client.ListFunctions(context.Background(), &lambdasdk.ListFunctionsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Functions) != 7 || out.NextMarker != nil {
		t.Fatalf("%d functions, next marker %v", len(out.Functions), out.NextMarker)
	}
	f := out.Functions[0]
	if aws.ToString(f.FunctionArn) != "arn:aws:lambda:us-east-1:000000000000:function:app-dev-fn0" ||
		f.Runtime != types.RuntimeNodejs20x || aws.ToString(f.LastModified) != "2026-01-02T03:04:05.600+0000" ||
		aws.ToString(f.Version) != "$LATEST" || f.State != types.StateActive || f.PackageType != types.PackageTypeZip {
		t.Fatalf("configuration %+v", f)
	}

	for _, bad := range []*lambdasdk.ListFunctionsInput{{MaxItems: aws.Int32(0)}, {Marker: aws.String("!!")}} {
		if _, err := client.ListFunctions(context.Background(), bad); !hasCode("ValidationException")(err) && !hasCode("InvalidParameterValueException")(err) {
			t.Fatalf("%+v: got %v", bad, err)
		}
	}
}

func TestGetFunction(t *testing.T) {
	fake := newFakeLambda("plain")
	c := testConfig("tuned")
	five := 5
	c.ReservedConcurrency = &five
	c.Environment = map[string]string{"STAGE": "dev"}
	c.EphemeralStorage = 2048
	fake.add(c)
	srv := startServer(t, fake, nil)
	client := sdkClient(srv.URL, "test", "test")
	ctx := context.Background()

	out, err := client.GetFunction(ctx, &lambdasdk.GetFunctionInput{FunctionName: aws.String("tuned")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Code.RepositoryType) != "S3" || out.Concurrency == nil || aws.ToInt32(out.Concurrency.ReservedConcurrentExecutions) != 5 ||
		out.Configuration.Environment.Variables["STAGE"] != "dev" || aws.ToString(out.Configuration.Handler) != "handler.main" {
		t.Fatalf("got %+v", out)
	}
	out, err = client.GetFunction(ctx, &lambdasdk.GetFunctionInput{FunctionName: aws.String("plain")})
	if err != nil {
		t.Fatal(err)
	}
	if out.Concurrency != nil || out.Configuration.Environment != nil {
		t.Fatalf("plain function reports concurrency %+v environment %+v", out.Concurrency, out.Configuration.Environment)
	}

	cfg, err := client.GetFunctionConfiguration(ctx, &lambdasdk.GetFunctionConfigurationInput{
		FunctionName: aws.String("tuned"), Qualifier: aws.String("$LATEST")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(cfg.FunctionArn) != "arn:aws:lambda:us-east-1:000000000000:function:tuned:$LATEST" ||
		aws.ToInt32(cfg.MemorySize) != 1024 || aws.ToInt32(cfg.Timeout) != 6 || cfg.CodeSize != 1234 ||
		cfg.EphemeralStorage == nil || aws.ToInt32(cfg.EphemeralStorage.Size) != 2048 {
		t.Fatalf("configuration %+v", cfg)
	}

	_, err = client.GetFunction(ctx, &lambdasdk.GetFunctionInput{FunctionName: aws.String("missing")})
	if !isA[*types.ResourceNotFoundException](err) {
		t.Fatalf("got %v", err)
	}
	_, err = client.GetFunctionConfiguration(ctx, &lambdasdk.GetFunctionConfigurationInput{FunctionName: aws.String("missing")})
	if !isA[*types.ResourceNotFoundException](err) {
		t.Fatalf("got %v", err)
	}
}

// TestFunctionConfigurationJSON pins the exact wire shape AWS returns.
func TestFunctionConfigurationJSON(t *testing.T) {
	fake := newFakeLambda()
	c := testConfig("shape")
	c.Environment = map[string]string{"A": "1"}
	fake.add(c)
	srv := startServer(t, fake, nil)

	req := signedRequest(t, "GET", srv.URL+"/2015-03-31/functions/shape/configuration", "lambda", "test", nil, time.Now(), nil)
	resp, body := do(t, req)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("x-amzn-RequestId") == "" {
		t.Fatalf("status %d headers %v", resp.StatusCode, resp.Header)
	}
	want := `{"FunctionName":"shape","FunctionArn":"arn:aws:lambda:us-east-1:000000000000:function:shape",` +
		`"Runtime":"nodejs20.x","Role":"arn:aws:iam::000000000000:role/app-dev-us-east-1-lambdaRole","Handler":"handler.main",` +
		`"CodeSize":1234,"Description":"","Timeout":6,"MemorySize":1024,"LastModified":"2026-01-02T03:04:05.600+0000",` +
		`"CodeSha256":"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=","Version":"$LATEST","Environment":{"Variables":{"A":"1"}},` +
		`"TracingConfig":{"Mode":"PassThrough"},"RevisionId":"` + revisionID(c) + `","State":"Active","LastUpdateStatus":"Successful",` +
		`"PackageType":"Zip","Architectures":["x86_64"],"EphemeralStorage":{"Size":512},` +
		`"SnapStart":{"ApplyOn":"None","OptimizationStatus":"Off"},"LoggingConfig":{"LogFormat":"Text","LogGroup":"/aws/lambda/shape"}}`
	if string(body) != want {
		t.Fatalf("got\n%s\nwant\n%s", body, want)
	}

	req = signedRequest(t, "GET", srv.URL+"/2015-03-31/functions/", "lambda", "test", nil, time.Now(), nil)
	_, body = do(t, req)
	if !strings.HasSuffix(string(body), `],"NextMarker":null}`) {
		t.Fatalf("list body %s", body)
	}
}

func TestLambdaUnknownOperation(t *testing.T) {
	srv := startServer(t, newFakeLambda("f"), nil)
	for _, tc := range []struct{ method, path string }{
		{"DELETE", "/2015-03-31/functions/f"},
		{"GET", "/2015-03-31/functions/f/invocations"},
		{"GET", "/2015-03-31/functions/f/policy"},
		{"GET", "/2099-01-01/nothing"},
	} {
		resp, body := do(t, signedRequest(t, tc.method, srv.URL+tc.path, "lambda", "test", nil, time.Now(), nil))
		if resp.StatusCode != 404 || resp.Header.Get("x-amzn-ErrorType") != "UnknownOperationException" ||
			!strings.HasPrefix(string(body), `{"Type":"User","message":"`) {
			t.Errorf("%s %s: %d %s %s", tc.method, tc.path, resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"), body)
		}
	}
}
