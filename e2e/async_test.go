package e2e

import (
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
	s := start(t)
	_, run := awsCLIv2(t, s, "--output", "json")
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

// The EventBridge Scheduler API with the aws CLI v2: create, get, list
// and delete a schedule, and Scheduler's error for a bad expression.
func TestAWSCLIv2Scheduler(t *testing.T) {
	s := start(t)
	cli, _ := awsCLIv2(t, s, "--output", "json")
	target := `{"Arn":"arn:aws:lambda:us-east-1:000000000000:function:user-api-dev-hello","RoleArn":"arn:aws:iam::000000000000:role/user-api-dev-us-east-1-lambdaRole","Input":"{\"n\":1}"}`
	out, err := cli("scheduler", "create-schedule", "--name", "nightly", "--schedule-expression", "cron(0 2 * * ? *)",
		"--schedule-expression-timezone", "Europe/Paris", "--flexible-time-window", "Mode=OFF", "--target", target)
	if err != nil || !strings.Contains(out, `"ScheduleArn": "arn:aws:scheduler:us-east-1:000000000000:schedule/default/nightly"`) {
		t.Fatalf("create-schedule: %v\n%s", err, out)
	}
	out, err = cli("scheduler", "get-schedule", "--name", "nightly")
	if err != nil || !strings.Contains(out, `"ScheduleExpressionTimezone": "Europe/Paris"`) || !strings.Contains(out, `"State": "ENABLED"`) {
		t.Fatalf("get-schedule: %v\n%s", err, out)
	}
	out, err = cli("scheduler", "list-schedules")
	if err != nil || !strings.Contains(out, `"Name": "nightly"`) {
		t.Fatalf("list-schedules: %v\n%s", err, out)
	}
	out, err = cli("scheduler", "create-schedule", "--name", "bad", "--schedule-expression", "every day",
		"--flexible-time-window", "Mode=OFF", "--target", target)
	if err == nil || !strings.Contains(out, "ValidationException") || !strings.Contains(out, "Invalid Schedule Expression every day.") {
		t.Fatalf("a bad expression: %v\n%s", err, out)
	}
	if out, err := cli("scheduler", "delete-schedule", "--name", "nightly"); err != nil {
		t.Fatalf("delete-schedule: %v\n%s", err, out)
	}
	out, err = cli("scheduler", "get-schedule", "--name", "nightly")
	if err == nil || !strings.Contains(out, "ResourceNotFoundException") || !strings.Contains(out, "Schedule nightly does not exist.") {
		t.Fatalf("get-schedule after delete: %v\n%s", err, out)
	}
}
