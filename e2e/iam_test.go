package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloudlet/cloudlet/internal/cli"
)

// Least privilege with the aws CLI v2: the admin assumes a function's role;
// with that session the CLI may invoke what the role allows and gets AWS's
// AccessDenied message for the rest; after the function itself was denied
// a call, `cloudlet iam suggest --missing` proposes exactly that statement.
func TestLeastPrivilegeWithAWSCLI(t *testing.T) {
	const aws = "/usr/bin/aws"
	if _, err := os.Stat(aws); err != nil {
		t.Fatal("the aws CLI v2 is not installed at /usr/bin/aws: run `make deps` (scripts/deps.sh)")
	}
	s := startProject(t, "../internal/server/testdata/iam")
	run := func(env []string, args ...string) (string, error) {
		t.Helper()
		cmd := exec.Command(aws, append([]string{"--endpoint-url", s.APIURL()}, args...)...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	admin := cleanEnv(t)
	out, err := run(admin, "sts", "assume-role", "--role-arn", "arn:aws:iam::000000000000:role/iam-dev-caller-us-east-1-lambdaRole",
		"--role-session-name", "cli", "--output", "json")
	if err != nil {
		t.Fatalf("assume-role: %v\n%s", err, out)
	}
	var assumed struct {
		Credentials struct{ AccessKeyId, SecretAccessKey, SessionToken string }
	}
	if err := json.Unmarshal([]byte(out), &assumed); err != nil {
		t.Fatalf("assume-role output: %s", out)
	}
	session := []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + t.TempDir(), "AWS_DEFAULT_REGION=us-east-1", "AWS_PAGER=",
		"AWS_ACCESS_KEY_ID=" + assumed.Credentials.AccessKeyId, "AWS_SECRET_ACCESS_KEY=" + assumed.Credentials.SecretAccessKey,
		"AWS_SESSION_TOKEN=" + assumed.Credentials.SessionToken}
	who, err := run(session, "sts", "get-caller-identity", "--query", "Arn", "--output", "text")
	if err != nil || strings.TrimSpace(who) != "arn:aws:sts::000000000000:assumed-role/iam-dev-caller-us-east-1-lambdaRole/cli" {
		t.Fatalf("get-caller-identity: %v %s", err, who)
	}
	if out, err := run(session, "lambda", "invoke", "--function-name", "iam-dev-target", filepath.Join(t.TempDir(), "out.json")); err != nil {
		t.Fatalf("invoke the allowed function: %v\n%s", err, out)
	}
	out, err = run(session, "lambda", "get-function-configuration", "--function-name", "iam-dev-secret")
	want := "An error occurred (AccessDeniedException) when calling the GetFunctionConfiguration operation: " +
		"User: arn:aws:sts::000000000000:assumed-role/iam-dev-caller-us-east-1-lambdaRole/cli is not authorized to perform: " +
		"lambda:GetFunctionConfiguration on resource: arn:aws:lambda:us-east-1:000000000000:function:iam-dev-secret " +
		"because no identity-based policy allows the lambda:GetFunctionConfiguration action"
	if err == nil || !strings.Contains(out, want) || strings.Contains(out, "hunter2") {
		t.Fatalf("get-function-configuration of another function: %v\n%s\nwant %s", err, out, want)
	}

	// The function itself is denied a call; suggest proposes that statement.
	if out, err := run(admin, "lambda", "invoke", "--function-name", "iam-dev-caller", "--cli-binary-format", "raw-in-base64-out",
		"--payload", `{"op":"config","name":"iam-dev-secret"}`, filepath.Join(t.TempDir(), "out.json")); err != nil {
		t.Fatalf("invoke caller: %v\n%s", err, out)
	}
	var stdout, stderr bytes.Buffer
	client := []string{"--api-addr", strings.TrimPrefix(s.APIURL(), "http://"), "--access-key", "test", "--secret-key", "test"}
	if code := cli.Main(append([]string{"iam", "suggest", "-f", "caller", "--missing"}, client...), &stdout, &stderr); code != 0 {
		t.Fatalf("cloudlet iam suggest: exit %d\n%s", code, stderr.String())
	}
	wantYAML := `# not allowed yet:
- Effect: Allow
  Action:
    - lambda:GetFunctionConfiguration
  Resource:
    - arn:aws:lambda:us-east-1:000000000000:function:iam-dev-secret
`
	if stdout.String() != wantYAML {
		t.Fatalf("cloudlet iam suggest --missing:\n%s\nwant\n%s", stdout.String(), wantYAML)
	}
	stdout.Reset()
	if code := cli.Main(append([]string{"iam", "report", "-f", "caller"}, client...), &stdout, &stderr); code != 0 ||
		!strings.Contains(stdout.String(), "denied  iam-dev-caller lambda:GetFunctionConfiguration on arn:aws:lambda:us-east-1:000000000000:function:iam-dev-secret (no statement allows it)") {
		t.Fatalf("cloudlet iam report: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
}
