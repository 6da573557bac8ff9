package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/cloudlet/cloudlet/internal/server"
)

// start runs a real server in-process on random loopback ports.
func start(t *testing.T) *server.Server {
	return startWith(t, server.Options{DataDir: t.TempDir()})
}

// startWith runs a real server in-process with opts, on random loopback
// ports unless opts says otherwise; it is closed when the test ends.
func startWith(t *testing.T, opts server.Options) *server.Server {
	t.Helper()
	if opts.GatewayAddr == "" {
		opts.GatewayAddr = "127.0.0.1:0"
	}
	if opts.APIAddr == "" {
		opts.APIAddr = "127.0.0.1:0"
	}
	s, err := server.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// copyDir copies a project into a temporary folder the test may change.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func lambdaClient(s *server.Server, secret string) *lambda.Client {
	return lambda.New(lambda.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(s.APIURL()),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "test", SecretAccessKey: secret}, nil
		}),
	})
}

func get(t *testing.T, url string) (int, string, http.Header) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func TestSeedExampleThroughGateway(t *testing.T) {
	s := start(t)
	if _, err := s.Deploy("../../examples/hello", ""); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/hello?name=Ada", "/dev/hello?name=Ada"} {
		code, body, _ := get(t, s.GatewayURL()+path)
		if code != 200 || body != `{"message":"Hello, Ada!"}` {
			t.Fatalf("GET %s = %d %s", path, code, body)
		}
	}
	code, body, _ := get(t, s.GatewayURL()+"/user/42")
	if code != 200 || body != `{"id":"42","message":"Hello, World!"}` {
		t.Fatalf("GET /user/42 = %d %s", code, body)
	}
	resp, err := http.Post(s.GatewayURL()+"/greet", "application/json", strings.NewReader(`{"name":"Ada"}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"greeting": "Hello, Ada!"`) && !strings.Contains(string(b), `"greeting":"Hello, Ada!"`) {
		t.Fatalf("POST /greet (python, httpApi) = %d %s", resp.StatusCode, b)
	}
	if code, _, _ := get(t, s.GatewayURL()+"/nope"); code != 404 {
		t.Fatalf("unknown route = %d", code)
	}
	big := bytes.Repeat([]byte("a"), 7<<20)
	resp, err = http.Post(s.GatewayURL()+"/greet", "text/plain", bytes.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Fatalf("7 MB body = %d", resp.StatusCode)
	}
	// The metrics count what happened, per function.
	code, text, _ := get(t, s.APIURL()+"/metrics")
	if code != 200 {
		t.Fatalf("GET /metrics = %d", code)
	}
	for _, want := range []string{
		`cloudlet_function_invocations_total{function="user-api-dev-hello"} 2`,
		`cloudlet_function_invocations_total{function="user-api-dev-greet"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q:\n%s", want, text)
		}
	}
	// How many instances the two calls took depends on how busy the
	// machine is (a call that waits while the first instance starts may
	// start a second); the gauge and the cold starts must agree.
	metric := func(line string) int {
		i := strings.Index(text, line+" ")
		if i < 0 {
			t.Fatalf("metrics lack %s:\n%s", line, text)
		}
		n, _ := strconv.Atoi(strings.Fields(text[i+len(line):])[0])
		return n
	}
	instances := metric(`cloudlet_function_instances{function="user-api-dev-hello"}`)
	starts := metric(`cloudlet_function_cold_starts_total{from="process",function="user-api-dev-hello"}`) +
		metric(`cloudlet_function_cold_starts_total{from="stem_cell",function="user-api-dev-hello"}`)
	if instances < 1 || instances > 2 || starts != instances {
		t.Errorf("hello: %d instances, %d cold starts, for two calls", instances, starts)
	}
}

func TestLambdaAPIWithGoSDK(t *testing.T) {
	s := start(t)
	if _, err := s.Deploy("../../examples/hello", ""); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c := lambdaClient(s, "test")
	out, err := c.Invoke(ctx, &lambda.InvokeInput{
		FunctionName: aws.String("user-api-dev-hello"),
		Payload:      []byte(`{"queryStringParameters":{"name":"SDK"}}`),
		LogType:      types.LogTypeTail,
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.FunctionError != nil || !strings.Contains(string(out.Payload), `Hello, SDK!`) {
		t.Fatalf("invoke = %+v %s", out.FunctionError, out.Payload)
	}
	if out.LogResult == nil || *out.LogResult == "" {
		t.Fatal("no log tail")
	}
	list, err := c.ListFunctions(ctx, &lambda.ListFunctionsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range list.Functions {
		names = append(names, *f.FunctionName)
	}
	if strings.Join(names, ",") != "user-api-dev-getUser,user-api-dev-greet,user-api-dev-hello" {
		t.Fatalf("functions = %v", names)
	}
	fn, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("user-api-dev-greet")})
	if err != nil {
		t.Fatal(err)
	}
	if fn.Configuration.Runtime != types.RuntimePython311 || *fn.Configuration.Timeout != 6 || *fn.Configuration.MemorySize != 1024 {
		t.Fatalf("configuration = %+v", fn.Configuration)
	}
	_, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("user-api-dev-hello"), Payload: []byte(`{not json`)})
	var bad *types.InvalidRequestContentException
	if !errors.As(err, &bad) {
		t.Fatalf("invalid JSON: %v", err)
	}
	_, err = lambdaClient(s, "wrong").ListFunctions(ctx, &lambda.ListFunctionsInput{})
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "InvalidSignatureException" {
		t.Fatalf("wrong secret: %v", err)
	}
}

func TestFailedDeployKeepsServingAndRedeploySeesNewCode(t *testing.T) {
	s := start(t)
	dir := copyDir(t, "../../examples/hello")
	if _, err := s.Deploy(dir, ""); err != nil {
		t.Fatal(err)
	}
	if _, body, _ := get(t, s.GatewayURL()+"/hello"); body != `{"message":"Hello, World!"}` {
		t.Fatalf("before: %s", body)
	}
	yml := filepath.Join(dir, "serverless.yml")
	good, _ := os.ReadFile(yml)
	os.WriteFile(yml, []byte("service: x\nprovider:\n  name: aws\n  runtime: nodejs18.x\nfunctions:\n  hello:\n    handlr: handler.hello\n"), 0o644)
	_, err := s.Deploy(dir, "")
	if err == nil || !strings.Contains(err.Error(), "serverless.yml:7") || !strings.Contains(err.Error(), "handlr") {
		t.Fatalf("broken manifest: err = %v", err)
	}
	if code, body, _ := get(t, s.GatewayURL()+"/hello"); code != 200 || body != `{"message":"Hello, World!"}` {
		t.Fatalf("after a failed deploy: %d %s", code, body)
	}
	os.WriteFile(yml, good, 0o644)
	src, _ := os.ReadFile(filepath.Join(dir, "handler.js"))
	os.WriteFile(filepath.Join(dir, "handler.js"), bytes.Replace(src, []byte("Hello, "), []byte("Howdy, "), 1), 0o644)
	if _, err := s.Deploy(dir, ""); err != nil {
		t.Fatal(err)
	}
	if _, body, _ := get(t, s.GatewayURL()+"/hello"); body != `{"message":"Howdy, World!"}` {
		t.Fatalf("after redeploy: %s", body)
	}
}

func TestGoFunctionThroughGateway(t *testing.T) {
	s := start(t)
	dir := copyDir(t, "../../examples/go-hello")
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "bootstrap"), "../../examples/go-hello")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if _, err := s.Deploy(dir, ""); err != nil {
		t.Fatal(err)
	}
	code, body, _ := get(t, s.GatewayURL()+"/hello/7?name=Gopher")
	var m map[string]any
	if code != 200 || json.Unmarshal([]byte(body), &m) != nil || m["message"] != "Hello, Gopher!" || m["id"] != "7" || m["path"] != "/hello/7" {
		t.Fatalf("GET /hello/7 = %d %s", code, body)
	}
	if code, body, _ := get(t, s.GatewayURL()+"/hello/7?mode=error"); code != 502 || body != `{"message": "Internal server error"}` {
		t.Fatalf("function error = %d %s", code, body)
	}
	if code, body, _ := get(t, s.GatewayURL()+"/hello/7?mode=sleep"); code != 504 || !strings.Contains(body, "Endpoint request timed out") {
		t.Fatalf("timeout = %d %s", code, body)
	}
	if code, _, _ := get(t, s.GatewayURL()+"/hello/7"); code != 200 {
		t.Fatalf("after timeout = %d", code)
	}
	// The logs of a Go function carry its own output between START and END.
	deadline := time.Now().Add(5 * time.Second)
	for {
		lines, _ := s.Logs().Since("go-hello-dev-hello", 0)
		var all []string
		for _, l := range lines {
			all = append(all, l.Text)
		}
		text := strings.Join(all, "\n")
		if strings.Contains(text, "hello from Go") && strings.Contains(text, "Task timed out after 2.00 seconds") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("logs:\n%s", text)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Functions that bundle nothing use the AWS SDK their runtime ships on
// Lambda, from inside the sandbox: v3 from CommonJS and from an ES module,
// aws-sdk v2 on nodejs16.x, boto3 on Python (an older one, which predates
// AWS_ENDPOINT_URL, where only Debian's is at hand, with the requests
// package Debian's botocore imports, which a runtime other than the
// system's Python does not otherwise see); a project's own copy of a
// package wins.
func TestFunctionsUseTheSDKTheirRuntimeShips(t *testing.T) {
	s := start(t)
	if ok, why := s.Isolated(); !ok {
		t.Fatalf("the sandbox is not available: %s", why)
	}
	if _, err := s.Deploy(copyDir(t, "testdata/sdk"), ""); err != nil {
		t.Fatal(err)
	}
	c := lambdaClient(s, "test")
	want := "sdk-dev-esm,sdk-dev-node,sdk-dev-node16,sdk-dev-own,sdk-dev-python,sdk-dev-python39"
	for _, fn := range []string{"node", "esm", "node16", "python", "python39"} {
		out, err := c.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("sdk-dev-" + fn)})
		if err != nil {
			t.Fatal(err)
		}
		var res struct {
			Names []string
			Home  string
		}
		t.Logf("%s: %s", fn, out.Payload)
		if json.Unmarshal(out.Payload, &res); out.FunctionError != nil || strings.Join(res.Names, ",") != want {
			t.Errorf("%s: %s", fn, out.Payload)
		}
		if fn == "node" && res.Home != "/home/sbx_user1051" {
			t.Errorf("os.homedir() = %q", res.Home)
		}
	}
	out, err := c.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("sdk-dev-own")})
	if err != nil || string(out.Payload) != `"the project's own copy"` {
		t.Fatalf("own copy: %s %v", out.Payload, err)
	}
}

// A deploy that cannot be recorded in the data directory fails, rather
// than being acknowledged and lost at the next restart; nothing changes.
func TestDeployThatCannotBeRecordedFails(t *testing.T) {
	data := t.TempDir()
	s, err := server.New(server.Options{DataDir: data, GatewayAddr: "127.0.0.1:0", APIAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	server.FailRecording(s, errors.New("no space left on device"))
	_, err = s.Deploy("../../examples/hello", "")
	if err == nil || !strings.Contains(err.Error(), "cannot record the deployment") {
		t.Fatalf("deploy = %v", err)
	}
	if s.Current() != nil {
		t.Fatal("an unrecorded deploy was applied")
	}
	if code, _, _ := get(t, s.GatewayURL()+"/hello"); code == http.StatusOK {
		t.Fatalf("GET /hello after the failed deploy: %d", code)
	}
}

// The admin key with a made-up session token is refused, as AWS refuses a
// session token it did not issue; without one it works.
func TestBogusSessionTokenIsRefused(t *testing.T) {
	s := start(t)
	c := lambda.New(lambda.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(s.APIURL()),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test", SessionToken: "made-up"}, nil
		}),
	})
	_, err := c.ListFunctions(context.Background(), &lambda.ListFunctionsInput{})
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "UnrecognizedClientException" || api.ErrorMessage() != "The security token included in the request is invalid." {
		t.Fatalf("bogus session token: %v", err)
	}
	if _, err := lambdaClient(s, "test").ListFunctions(context.Background(), &lambda.ListFunctionsInput{}); err != nil {
		t.Fatal(err)
	}
}

// A restart serves the deploy last acknowledged, never one that was being
// applied when the server died (it was never acknowledged). The state of a
// data directory from before the store (deployed.json) moves into it.
func TestRestartServesTheAcknowledgedDeploy(t *testing.T) {
	data := t.TempDir()
	hello, _ := filepath.Abs("../../examples/hello")
	state := `{"dir":"` + hello + `","pending":{"dir":"` + filepath.Join(t.TempDir(), "half-deployed") + `"}}`
	if err := os.WriteFile(filepath.Join(data, "deployed.json"), []byte(state), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := server.New(server.Options{DataDir: data, GatewayAddr: "127.0.0.1:0", APIAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if d := s.Current(); d == nil || d.Dir != hello {
		t.Fatalf("restored: %+v", d)
	}
	if code, body, _ := get(t, s.GatewayURL()+"/hello"); code != 200 || !strings.Contains(body, "Hello") {
		t.Fatalf("GET /hello after the restart: %d %s", code, body)
	}
	// The old file's state now lives in the store: the file is gone, and a
	// second restart serves the same.
	if _, err := os.Stat(filepath.Join(data, "deployed.json")); !os.IsNotExist(err) {
		t.Fatalf("deployed.json after the move into the store: %v", err)
	}
	s.Close()
	if d := startWith(t, server.Options{DataDir: data}).Current(); d == nil || d.Dir != hello {
		t.Fatalf("restored from the store: %+v", d)
	}
}
