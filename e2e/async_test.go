package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Asynchronous invocation with the aws CLI v2: `lambda invoke
// --invocation-type Event` is answered 202 and the function runs (its
// log shows the invocation); the EventInvokeConfig commands set and read
// the function's retries and maximum age.
func TestAWSCLIv2EventInvoke(t *testing.T) {
	const aws = "/usr/bin/aws"
	if _, err := os.Stat(aws); err != nil {
		t.Fatal("the aws CLI v2 is not installed at /usr/bin/aws: run `make deps` (scripts/deps.sh)")
	}
	s := start(t)
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(aws, append([]string{"--endpoint-url", s.APIURL(), "--output", "json"}, args...)...)
		cmd.Env = cleanEnv(t)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	const fn = "user-api-dev-hello"
	starts := func() int {
		lines, _ := s.Logs().Since(fn, 0)
		n := 0
		for _, l := range lines {
			if strings.HasPrefix(l.Text, "START RequestId:") {
				n++
			}
		}
		return n
	}
	before := starts()
	meta := run("lambda", "invoke", "--function-name", fn, "--invocation-type", "Event",
		"--cli-binary-format", "raw-in-base64-out", "--payload", `{"queryStringParameters":{"name":"later"}}`, filepath.Join(t.TempDir(), "out.json"))
	if !strings.Contains(meta, `"StatusCode": 202`) {
		t.Fatalf("Event invoke: %s", meta)
	}
	deadline := time.Now().Add(60 * time.Second)
	for starts() == before {
		if time.Now().After(deadline) {
			t.Fatal("the Event invocation never ran")
		}
		time.Sleep(20 * time.Millisecond)
	}
	out := run("lambda", "put-function-event-invoke-config", "--function-name", fn, "--maximum-retry-attempts", "1", "--maximum-event-age-in-seconds", "120")
	if !strings.Contains(out, `"MaximumRetryAttempts": 1`) || !strings.Contains(out, `"MaximumEventAgeInSeconds": 120`) {
		t.Fatalf("put-function-event-invoke-config: %s", out)
	}
	out = run("lambda", "get-function-event-invoke-config", "--function-name", fn)
	if !strings.Contains(out, `"FunctionArn": "arn:aws:lambda:us-east-1:000000000000:function:user-api-dev-hello:$LATEST"`) || !strings.Contains(out, `"MaximumRetryAttempts": 1`) {
		t.Fatalf("get-function-event-invoke-config: %s", out)
	}
}
