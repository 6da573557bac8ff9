package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloudlet/cloudlet/internal/server"
)

func start(t *testing.T) *server.Server { return startProject(t, "../examples/hello") }

// startProject runs a real server in-process on random loopback ports,
// with the project in dir deployed.
func startProject(t *testing.T, dir string) *server.Server {
	t.Helper()
	s, err := server.New(server.Options{DataDir: t.TempDir(), GatewayAddr: "127.0.0.1:0", APIAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Deploy(dir, ""); err != nil {
		t.Fatal(err)
	}
	return s
}

// cleanEnv is a minimal environment for a client process.
func cleanEnv(t *testing.T, extra ...string) []string {
	return append([]string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"HOME=" + t.TempDir(),
		"AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test",
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_REGION=us-east-1",
		"AWS_PAGER=",
	}, extra...)
}

func TestJavaScriptSDK(t *testing.T) {
	nodeTest(t, "lambda.test.mjs", "@aws-sdk/client-lambda", 5)
}

// DynamoDB with the AWS SDK for JavaScript v3: the client, the
// DocumentClient and the Streams client (e2e/js/dynamodb.test.mjs).
func TestJavaScriptSDKDynamoDB(t *testing.T) {
	nodeTest(t, "dynamodb.test.mjs", "@aws-sdk/lib-dynamodb", 1)
}

// SQS with the AWS SDK for JavaScript v3 (e2e/js/sqs.test.mjs), which
// checks every MD5 it is sent.
func TestJavaScriptSDKSQS(t *testing.T) {
	nodeTest(t, "sqs.test.mjs", "@aws-sdk/client-sqs", 2)
}

func TestAWSCLIv2(t *testing.T) {
	const aws = "/usr/bin/aws"
	if _, err := os.Stat(aws); err != nil {
		t.Fatal("the aws CLI v2 is not installed at /usr/bin/aws: run `make deps` (scripts/deps.sh)")
	}
	s := start(t)
	outFile := filepath.Join(t.TempDir(), "out.json")
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(aws, append([]string{"--endpoint-url", s.APIURL()}, args...)...)
		cmd.Env = cleanEnv(t)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	meta := run("lambda", "invoke", "--function-name", "user-api-dev-hello",
		"--cli-binary-format", "raw-in-base64-out",
		"--payload", `{"queryStringParameters":{"name":"CLI"}}`, outFile)
	if !strings.Contains(meta, `"StatusCode": 200`) {
		t.Fatalf("invoke metadata: %s", meta)
	}
	b, _ := os.ReadFile(outFile)
	var resp struct{ Body string }
	if json.Unmarshal(b, &resp) != nil || resp.Body != `{"message":"Hello, CLI!"}` {
		t.Fatalf("invoke payload: %s", b)
	}
	list := run("lambda", "list-functions", "--query", "Functions[].FunctionName", "--output", "text")
	if strings.Join(strings.Fields(list), " ") != "user-api-dev-getUser user-api-dev-greet user-api-dev-hello" {
		t.Fatalf("list-functions: %q", list)
	}
}

// awsCLIv2 is the aws CLI v2 (Debian's, at /usr/bin/aws) against s, with
// global options before each command: cli answers a command's output and
// error, run fails the test on an error.
func awsCLIv2(t *testing.T, s *server.Server, global ...string) (cli func(...string) (string, error), run func(...string) string) {
	t.Helper()
	const aws = "/usr/bin/aws"
	if _, err := os.Stat(aws); err != nil {
		t.Fatal("the aws CLI v2 is not installed at /usr/bin/aws: run `make deps` (scripts/deps.sh)")
	}
	cli = func(args ...string) (string, error) {
		cmd := exec.Command(aws, append(append([]string{"--endpoint-url", s.APIURL()}, global...), args...)...)
		cmd.Env = cleanEnv(t)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	run = func(args ...string) string {
		t.Helper()
		out, err := cli(args...)
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	return cli, run
}

// S3 with the AWS SDK for JavaScript v3 (e2e/js/s3.test.mjs): client-s3,
// and the POST forms s3-presigned-post signs.
func TestJavaScriptSDKS3(t *testing.T) {
	nodeTest(t, "s3.test.mjs", "@aws-sdk/s3-presigned-post", 2)
}

// nodeTest runs the end-to-end test file (e2e/js, node --test) against a
// server, with the npm package pkg installed, and expects its passes
// tests to pass and none to fail.
func nodeTest(t *testing.T, file, pkg string, passes int) {
	t.Helper()
	if _, err := os.Stat("js/node_modules/" + pkg); err != nil {
		t.Fatal("the AWS SDK for JavaScript is not installed: run `make deps` (scripts/deps.sh)")
	}
	s := start(t)
	cmd := exec.Command("node", "--test", file)
	cmd.Dir = "js"
	cmd.Env = cleanEnv(t, "CLOUDLET_API="+s.APIURL())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test %s: %v\n%s", file, err, out)
	}
	if !bytes.Contains(out, []byte(fmt.Sprintf("# pass %d\n", passes))) || !bytes.Contains(out, []byte("# fail 0")) {
		t.Fatalf("expected the %d tests of %s to pass:\n%s", passes, file, out)
	}
}
