package sqs_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// FIFO queues: messages of a group come in order and one in flight at a
// time per group (other groups go on); a repeated deduplication id within
// five minutes is the same message; SequenceNumbers grow; the FIFO rules
// are enforced with SQS's errors.
func TestFIFO(t *testing.T) {
	q := serve(t, t.TempDir())
	ctx := context.Background()
	_, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("orders"), Attributes: map[string]string{"FifoQueue": "true"}})
	if code(err) != "InvalidAttributeValue" {
		t.Fatalf("FifoQueue on a name without .fifo: %v", err)
	}
	_, err = q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("orders.fifo")})
	if code(err) != "InvalidParameterValue" {
		t.Fatalf(".fifo without FifoQueue: %v", err)
	}
	out, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("orders.fifo"),
		Attributes: map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"}})
	if err != nil {
		t.Fatal(err)
	}
	url := out.QueueUrl
	send := func(group, body string) *sqs.SendMessageOutput {
		t.Helper()
		o, err := q.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: url, MessageBody: aws.String(body), MessageGroupId: aws.String(group)})
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	a1 := send("A", "a1")
	send("A", "a2")
	send("B", "b1")
	send("A", "a3")
	if again := send("A", "a1"); *again.MessageId != *a1.MessageId || *again.SequenceNumber != *a1.SequenceNumber {
		t.Fatalf("a duplicate within five minutes is a new message: %v vs %v", *again.MessageId, *a1.MessageId)
	}
	_, err = q.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: url, MessageBody: aws.String("x")})
	if code(err) != "MissingParameter" {
		t.Fatalf("no MessageGroupId: %v", err)
	}
	_, err = q.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: url, MessageBody: aws.String("x"), MessageGroupId: aws.String("A"), DelaySeconds: 5})
	if code(err) != "InvalidParameterValue" {
		t.Fatalf("a message delay on a FIFO queue: %v", err)
	}
	recv := func(max int32) []types.Message {
		t.Helper()
		r, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: url, MaxNumberOfMessages: max,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{"All"}})
		if err != nil {
			t.Fatal(err)
		}
		return r.Messages
	}
	first := recv(1)
	if len(first) != 1 || *first[0].Body != "a1" || first[0].Attributes["MessageGroupId"] != "A" || first[0].Attributes["SequenceNumber"] == "" {
		t.Fatalf("first receive: %+v", first)
	}
	// group A has a message in flight: only B's comes
	next := recv(10)
	if len(next) != 1 || *next[0].Body != "b1" {
		t.Fatalf("with A in flight: %+v", bodies(next))
	}
	if more := recv(10); len(more) != 0 {
		t.Fatalf("with both groups in flight: %v", bodies(more))
	}
	q.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: url, ReceiptHandle: first[0].ReceiptHandle})
	rest := recv(10)
	if got := strings.Join(bodies(rest), ","); got != "a2,a3" {
		t.Fatalf("after a1 is deleted: %s", got)
	}
	if rest[0].Attributes["SequenceNumber"] >= rest[1].Attributes["SequenceNumber"] {
		t.Fatalf("sequence numbers do not grow: %v %v", rest[0].Attributes["SequenceNumber"], rest[1].Attributes["SequenceNumber"])
	}
	// a standard queue's dead-letter queue cannot be FIFO
	q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("plain")})
	_, err = q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("src.fifo"), Attributes: map[string]string{"FifoQueue": "true",
		"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:plain","maxReceiveCount":"3"}`}})
	if code(err) != "InvalidAttributeValue" || !strings.Contains(err.Error(), "same type of queue") {
		t.Fatalf("a FIFO queue with a standard dead-letter queue: %v", err)
	}
}

func bodies(ms []types.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = *m.Body
	}
	return out
}

// A FIFO receive retried with its ReceiveRequestAttemptId gets the same
// messages and receipts while they are in flight; another attempt id
// gets none of them (the group is in flight); once deleted, the retry is
// a new receive.
func TestReceiveRequestAttemptID(t *testing.T) {
	c := serve(t, t.TempDir())
	ctx := context.Background()
	q, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("a.fifo"), Attributes: map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"one", "two", "three"} {
		if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String(b), MessageGroupId: aws.String("g")}); err != nil {
			t.Fatal(err)
		}
	}
	recv := func(attempt string, n int32) []string {
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: n, ReceiveRequestAttemptId: aws.String(attempt)})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range out.Messages {
			got = append(got, *m.Body+"|"+*m.ReceiptHandle)
		}
		return got
	}
	first := recv("try-1", 2)
	if len(first) != 2 {
		t.Fatalf("first receive: %v", first)
	}
	if again := recv("try-1", 2); strings.Join(again, ",") != strings.Join(first, ",") {
		t.Fatalf("the retry got %v, the first %v", again, first)
	}
	if other := recv("try-2", 2); len(other) != 0 {
		t.Fatalf("another attempt got %v while the group is in flight", other)
	}
	for _, m := range first {
		h := m[strings.IndexByte(m, '|')+1:]
		if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: q.QueueUrl, ReceiptHandle: aws.String(h)}); err != nil {
			t.Fatal(err)
		}
	}
	if next := recv("try-1", 2); len(next) != 1 || !strings.HasPrefix(next[0], "three|") {
		t.Fatalf("after deleting the first batch, the same attempt id got %v", next)
	}
}
