package awsapi

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// awsCLI finds an aws CLI of the given major version: v2 at /usr/bin/aws, v1
// first on PATH. It skips the test when there is none.
func awsCLI(t *testing.T, major string) string {
	t.Helper()
	path := "/usr/bin/aws"
	if major == "1" {
		p, err := exec.LookPath("aws")
		if err != nil {
			t.Skip("no aws CLI on PATH")
		}
		path = p
	}
	if _, err := os.Stat(path); err != nil {
		t.Skipf("no aws CLI at %s", path)
	}
	out, err := exec.Command(path, "--version").CombinedOutput()
	if err != nil {
		t.Skipf("%s --version: %v: %s", path, err, out)
	}
	if !strings.HasPrefix(string(out), "aws-cli/"+major+".") {
		t.Skipf("%s is %s, not aws-cli/%s", path, strings.TrimSpace(string(out)), major)
	}
	return path
}

// runCLI runs the aws CLI with test credentials against endpoint in a clean
// home directory and returns its stdout.
func runCLI(t *testing.T, cli, dir, endpoint string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(cli, append([]string{"--endpoint-url", endpoint, "--output", "json"}, args...)...)
	cmd.Dir = dir
	cmd.Env = []string{
		"HOME=" + dir,
		"PATH=" + os.Getenv("PATH"),
		"LANG=C.UTF-8",
		"AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test",
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_PAGER=",
		"AWS_EC2_METADATA_DISABLED=true",
	}
	if root := os.Getenv("PYENV_ROOT"); root != "" {
		cmd.Env = append(cmd.Env, "PYENV_ROOT="+root)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), &cliError{err: err, stderr: stderr.String()}
	}
	return string(out), nil
}

type cliError struct {
	err    error
	stderr string
}

func (e *cliError) Error() string { return e.err.Error() + ": " + e.stderr }

func TestAWSCLI(t *testing.T) {
	for _, major := range []string{"2", "1"} {
		t.Run("v"+major, func(t *testing.T) {
			t.Parallel() // each CLI run starts a Python interpreter
			cli := awsCLI(t, major)
			srv := startServer(t, newFakeLambda("f", "g", "h", "i", "j"), nil)
			dir := t.TempDir()

			args := []string{"lambda", "invoke", "--function-name", "f", "--payload", `{"a":1}`}
			if major == "2" {
				args = append(args, "--cli-binary-format", "raw-in-base64-out")
			}
			out, err := runCLI(t, cli, dir, srv.URL, append(args, "out.json")...)
			if err != nil {
				t.Fatal(err)
			}
			var res struct {
				StatusCode      int
				ExecutedVersion string
			}
			if err := json.Unmarshal([]byte(out), &res); err != nil || res.StatusCode != 200 || res.ExecutedVersion != "$LATEST" {
				t.Fatalf("invoke printed %s (%v)", out, err)
			}
			payload, err := os.ReadFile(filepath.Join(dir, "out.json"))
			if err != nil || string(payload) != `{"a":1}` {
				t.Fatalf("out.json %q (%v)", payload, err)
			}

			// The CLI follows NextMarker itself; a page size of 2 makes it.
			out, err = runCLI(t, cli, dir, srv.URL, "lambda", "list-functions", "--page-size", "2")
			if err != nil {
				t.Fatal(err)
			}
			var list struct {
				Functions []struct{ FunctionName string }
			}
			if err := json.Unmarshal([]byte(out), &list); err != nil {
				t.Fatalf("list-functions printed %s: %v", out, err)
			}
			var names []string
			for _, f := range list.Functions {
				names = append(names, f.FunctionName)
			}
			if strings.Join(names, ",") != "f,g,h,i,j" {
				t.Fatalf("list-functions: %v", names)
			}

			out, err = runCLI(t, cli, dir, srv.URL, "lambda", "get-function", "--function-name", "arn:aws:lambda:us-east-1:000000000000:function:g")
			if err != nil || !strings.Contains(out, `"FunctionName": "g"`) {
				t.Fatalf("get-function: %s %v", out, err)
			}

			_, err = runCLI(t, cli, dir, srv.URL, "lambda", "invoke", "--function-name", "nope", "out.json")
			if err == nil || !strings.Contains(err.Error(),
				"(ResourceNotFoundException) when calling the Invoke operation: Function not found: arn:aws:lambda:us-east-1:000000000000:function:nope") {
				t.Fatalf("invoke of a missing function: %v", err)
			}
		})
	}
}
