package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

// SQS with the aws CLI v2, which speaks SQS's Query protocol: queues,
// attributes, messages with attributes (the CLI checks the MD5s), batches,
// receive and delete, and SQS's errors as the CLI prints them.
func TestAWSCLIv2SQS(t *testing.T) {
	s := start(t)
	cli, run := awsCLIv2(t, s, "--output", "json")
	var created struct{ QueueUrl string }
	json.Unmarshal([]byte(run("sqs", "create-queue", "--queue-name", "cli-jobs", "--attributes", "VisibilityTimeout=5,DelaySeconds=0")), &created)
	if !strings.HasSuffix(created.QueueUrl, "/000000000000/cli-jobs") {
		t.Fatalf("create-queue: %q", created.QueueUrl)
	}
	url := created.QueueUrl
	if out := run("sqs", "get-queue-url", "--queue-name", "cli-jobs"); !strings.Contains(out, url) {
		t.Fatalf("get-queue-url: %s", out)
	}
	if out := run("sqs", "list-queues"); !strings.Contains(out, url) {
		t.Fatalf("list-queues: %s", out)
	}
	out := run("sqs", "send-message", "--queue-url", url, "--message-body", "hello & <cli>",
		"--message-attributes", `{"kind":{"DataType":"String","StringValue":"job"},"n":{"DataType":"Number","StringValue":"3"}}`)
	var sent struct{ MessageId, MD5OfMessageBody, MD5OfMessageAttributes string }
	if json.Unmarshal([]byte(out), &sent) != nil || sent.MessageId == "" || sent.MD5OfMessageAttributes == "" {
		t.Fatalf("send-message: %s", out)
	}
	run("sqs", "send-message-batch", "--queue-url", url, "--entries", `[{"Id":"a","MessageBody":"one"},{"Id":"b","MessageBody":"two"}]`)
	out = run("sqs", "get-queue-attributes", "--queue-url", url, "--attribute-names", "All")
	if !strings.Contains(out, `"ApproximateNumberOfMessages": "3"`) || !strings.Contains(out, `"VisibilityTimeout": "5"`) {
		t.Fatalf("get-queue-attributes: %s", out)
	}
	out = run("sqs", "receive-message", "--queue-url", url, "--max-number-of-messages", "10", "--message-attribute-names", "All",
		"--attribute-names", "All")
	var got struct {
		Messages []struct {
			Body, ReceiptHandle, MessageId string
			Attributes                     map[string]string
			MessageAttributes              map[string]struct{ StringValue, DataType string }
		}
	}
	if json.Unmarshal([]byte(out), &got) != nil || len(got.Messages) != 3 {
		t.Fatalf("receive-message: %s", out)
	}
	first := got.Messages[0]
	if first.Body != "hello & <cli>" || first.MessageAttributes["kind"].StringValue != "job" || first.Attributes["ApproximateReceiveCount"] != "1" {
		t.Fatalf("first message: %+v", first)
	}
	for _, m := range got.Messages {
		run("sqs", "delete-message", "--queue-url", url, "--receipt-handle", m.ReceiptHandle)
	}
	if out := run("sqs", "receive-message", "--queue-url", url); strings.Contains(out, "Messages") {
		t.Fatalf("after deleting all: %s", out)
	}
	out, err := cli("sqs", "get-queue-url", "--queue-name", "nope")
	if err == nil || !strings.Contains(out, "AWS.SimpleQueueService.NonExistentQueue") || !strings.Contains(out, "The specified queue does not exist") {
		t.Fatalf("a missing queue: %v %s", err, out)
	}
	run("sqs", "delete-queue", "--queue-url", url)
}
