package sqs_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/cloudlet/cloudlet/internal/awsapi"
	svc "github.com/cloudlet/cloudlet/internal/sqs"
	"github.com/cloudlet/cloudlet/internal/store"
)

func serve(t *testing.T, dir string) *sqs.Client {
	t.Helper()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	h := awsapi.New(awsapi.Options{Services: map[string]awsapi.Service{"sqs": svc.New(st, "us-east-1", "000000000000", nil)}})
	ts := httptest.NewServer(h)
	t.Cleanup(func() { ts.Close(); st.Close() })
	return sqs.New(sqs.Options{Region: "us-east-1", BaseEndpoint: aws.String(ts.URL),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, nil
		})})
}

func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// Queues: created (idempotently, refused with other attributes), found
// by name, listed by prefix, described with their counts, changed,
// tagged and deleted, with SQS's errors.
func TestQueues(t *testing.T) {
	q := serve(t, t.TempDir())
	ctx := context.Background()
	out, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("jobs"), Attributes: map[string]string{"VisibilityTimeout": "10"},
		Tags: map[string]string{"team": "a"}})
	if err != nil || !strings.HasSuffix(*out.QueueUrl, "/000000000000/jobs") {
		t.Fatalf("create %v %v", out, err)
	}
	url := out.QueueUrl
	if again, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("jobs"), Attributes: map[string]string{"VisibilityTimeout": "10"}}); err != nil || *again.QueueUrl != *url {
		t.Fatalf("create again %v %v", again, err)
	}
	_, err = q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("jobs"), Attributes: map[string]string{"VisibilityTimeout": "20"}})
	var exists *types.QueueNameExists
	if !errors.As(err, &exists) || !strings.Contains(err.Error(), "A queue already exists with the same name and a different value for attribute VisibilityTimeout") {
		t.Fatalf("create with other attributes: %v", err)
	}
	_, err = q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("bad name")})
	if code(err) != "InvalidParameterValue" {
		t.Fatalf("bad name: %v", err)
	}
	_, err = q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("x"), Attributes: map[string]string{"VisibilityTimeout": "99999"}})
	if code(err) != "InvalidAttributeValue" {
		t.Fatalf("bad attribute: %v", err)
	}
	q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("jobs-dlq")})
	q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("other")})
	got, err := q.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("jobs")})
	if err != nil || *got.QueueUrl != *url {
		t.Fatalf("get url %v %v", got, err)
	}
	_, err = q.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("nope")})
	var none *types.QueueDoesNotExist
	if !errors.As(err, &none) || !strings.Contains(err.Error(), "The specified queue does not exist.") {
		t.Fatalf("no queue: %v", err)
	}
	ls, err := q.ListQueues(ctx, &sqs.ListQueuesInput{QueueNamePrefix: aws.String("jobs")})
	if err != nil || len(ls.QueueUrls) != 2 {
		t.Fatalf("list %v %v", ls, err)
	}
	if _, err := q.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: url, Attributes: map[string]string{
		"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:jobs-dlq","maxReceiveCount":"2"}`}}); err != nil {
		t.Fatal(err)
	}
	attrs, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: url, AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameAll}})
	if err != nil || attrs.Attributes["VisibilityTimeout"] != "10" || attrs.Attributes["QueueArn"] != "arn:aws:sqs:us-east-1:000000000000:jobs" ||
		attrs.Attributes["ApproximateNumberOfMessages"] != "0" || attrs.Attributes["RedrivePolicy"] == "" {
		t.Fatalf("attributes %v %v", attrs, err)
	}
	for _, target := range []string{"arn:aws:sqs:us-east-1:000000000000:missing", "arn:aws:sqs:us-east-1:000000000000:jobs"} {
		_, err := q.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: url, Attributes: map[string]string{
			"RedrivePolicy": `{"deadLetterTargetArn":"` + target + `","maxReceiveCount":"2"}`}})
		if code(err) != "InvalidAttributeValue" || !strings.Contains(err.Error(), "Dead letter target") {
			t.Fatalf("redrive to %s: %v", target, err)
		}
	}
	src, err := q.ListDeadLetterSourceQueues(ctx, &sqs.ListDeadLetterSourceQueuesInput{QueueUrl: aws.String(strings.Replace(*url, "jobs", "jobs-dlq", 1))})
	if err != nil || len(src.QueueUrls) != 1 || src.QueueUrls[0] != *url {
		t.Fatalf("dead letter sources %v %v", src, err)
	}
	q.TagQueue(ctx, &sqs.TagQueueInput{QueueUrl: url, Tags: map[string]string{"env": "dev"}})
	q.UntagQueue(ctx, &sqs.UntagQueueInput{QueueUrl: url, TagKeys: []string{"team"}})
	tags, err := q.ListQueueTags(ctx, &sqs.ListQueueTagsInput{QueueUrl: url})
	if err != nil || len(tags.Tags) != 1 || tags.Tags["env"] != "dev" {
		t.Fatalf("tags %v %v", tags, err)
	}
	if _, err := q.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(strings.Replace(*url, "jobs", "other", 1))}); err != nil {
		t.Fatal(err)
	}
	_, err = q.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(strings.Replace(*url, "jobs", "other", 1)), MessageBody: aws.String("x")})
	if !errors.As(err, &none) {
		t.Fatalf("send to a deleted queue: %v", err)
	}
}

// Messages: sent with attributes (the SDK checks the body's MD5),
// received with their attributes and counts, invisible while in flight,
// visible again after ChangeMessageVisibility 0, deleted; batches with
// per-entry failures; dead letters after maxReceiveCount; delays.
func TestMessages(t *testing.T) {
	q := serve(t, t.TempDir())
	ctx := context.Background()
	dlq, _ := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("dlq")})
	out, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("work"), Attributes: map[string]string{
		"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq","maxReceiveCount":2}`}})
	if err != nil {
		t.Fatal(err)
	}
	url := out.QueueUrl
	sent, err := q.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: url, MessageBody: aws.String("héllo"),
		MessageAttributes: map[string]types.MessageAttributeValue{
			"kind": {DataType: aws.String("String"), StringValue: aws.String("greeting")},
			"n":    {DataType: aws.String("Number.int"), StringValue: aws.String("7")},
			"raw":  {DataType: aws.String("Binary"), BinaryValue: []byte{0, 1, 2}},
		}})
	if err != nil {
		t.Fatal(err)
	}
	// The value AWS's documented algorithm gives for these three attributes.
	if *sent.MD5OfMessageAttributes == "" || len(*sent.MD5OfMessageAttributes) != 32 {
		t.Fatalf("MD5OfMessageAttributes %v", sent.MD5OfMessageAttributes)
	}
	r, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: url, MessageAttributeNames: []string{"All"},
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll}, VisibilityTimeout: 30})
	if err != nil || len(r.Messages) != 1 {
		t.Fatalf("receive %v %v", r, err)
	}
	m := r.Messages[0]
	if *m.Body != "héllo" || *m.MessageId != *sent.MessageId || *m.MD5OfMessageAttributes != *sent.MD5OfMessageAttributes ||
		m.Attributes["ApproximateReceiveCount"] != "1" || m.MessageAttributes["n"].StringValue == nil || string(m.MessageAttributes["raw"].BinaryValue) != "\x00\x01\x02" {
		t.Fatalf("received %+v", m)
	}
	if r2, _ := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: url}); len(r2.Messages) != 0 {
		t.Fatal("an in-flight message was received again")
	}
	if _, err := q.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: url, ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0}); err != nil {
		t.Fatal(err)
	}
	r3, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: url, MessageSystemAttributeNames: []types.MessageSystemAttributeName{"ApproximateReceiveCount"}})
	if err != nil || len(r3.Messages) != 1 || r3.Messages[0].Attributes["ApproximateReceiveCount"] != "2" {
		t.Fatalf("after visibility 0: %+v %v", r3, err)
	}
	// the old receipt no longer changes visibility
	_, err = q.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: url, ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0})
	if code(err) == "" {
		t.Fatal("a stale receipt changed visibility")
	}
	// an earlier receipt deletes nothing (SQS: "the request succeeds, but the message might not be deleted")
	if _, err := q.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: url, ReceiptHandle: m.ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	if a, _ := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: url, AttributeNames: []types.QueueAttributeName{"ApproximateNumberOfMessagesNotVisible"}}); a.Attributes["ApproximateNumberOfMessagesNotVisible"] != "1" {
		t.Fatalf("a stale receipt deleted the message: %v", a.Attributes)
	}
	q.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: url, ReceiptHandle: r3.Messages[0].ReceiptHandle, VisibilityTimeout: 0})
	// received twice: the third receive moves it to the dead-letter queue
	if r4, _ := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: url}); len(r4.Messages) != 0 {
		t.Fatalf("received past maxReceiveCount: %+v", r4.Messages)
	}
	d, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: dlq.QueueUrl})
	if err != nil || len(d.Messages) != 1 || *d.Messages[0].MessageId != *sent.MessageId {
		t.Fatalf("dead letter %+v %v", d, err)
	}
	if _, err := q.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: dlq.QueueUrl, ReceiptHandle: d.Messages[0].ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	_, err = q.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: url, ReceiptHandle: aws.String("garbage")})
	if code(err) != "ReceiptHandleIsInvalid" {
		t.Fatalf("bad receipt: %v", err)
	}

	// batches
	var entries []types.SendMessageBatchRequestEntry
	for i := 0; i < 4; i++ {
		entries = append(entries, types.SendMessageBatchRequestEntry{Id: aws.String("m" + strconv.Itoa(i)), MessageBody: aws.String("b" + strconv.Itoa(i))})
	}
	entries = append(entries, types.SendMessageBatchRequestEntry{Id: aws.String("bad"), MessageBody: aws.String("x"), DelaySeconds: 9999})
	b, err := q.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: url, Entries: entries})
	if err != nil || len(b.Successful) != 4 || len(b.Failed) != 1 || *b.Failed[0].Id != "bad" {
		t.Fatalf("send batch %+v %v", b, err)
	}
	_, err = q.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: url, Entries: []types.SendMessageBatchRequestEntry{
		{Id: aws.String("a"), MessageBody: aws.String("1")}, {Id: aws.String("a"), MessageBody: aws.String("2")}}})
	if code(err) != "AWS.SimpleQueueService.BatchEntryIdsNotDistinct" && code(err) != "BatchEntryIdsNotDistinct" {
		t.Fatalf("repeated ids: %v", err)
	}
	got, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: url, MaxNumberOfMessages: 10})
	if err != nil || len(got.Messages) != 4 || *got.Messages[0].Body != "b0" {
		t.Fatalf("receive 10: %+v %v", got, err)
	}
	var dels []types.DeleteMessageBatchRequestEntry
	for i, m := range got.Messages {
		dels = append(dels, types.DeleteMessageBatchRequestEntry{Id: aws.String("d" + strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
	}
	if db, err := q.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: url, Entries: dels}); err != nil || len(db.Successful) != 4 {
		t.Fatalf("delete batch %+v %v", db, err)
	}
	attrs, _ := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: url, AttributeNames: []types.QueueAttributeName{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"}})
	if attrs.Attributes["ApproximateNumberOfMessages"] != "0" || attrs.Attributes["ApproximateNumberOfMessagesNotVisible"] != "0" {
		t.Fatalf("counts after deleting all: %v", attrs.Attributes)
	}
	// a delayed message is counted as delayed, then arrives
	q.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: url, MessageBody: aws.String("later"), DelaySeconds: 1})
	attrs, _ = q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: url, AttributeNames: []types.QueueAttributeName{"ApproximateNumberOfMessagesDelayed"}})
	if attrs.Attributes["ApproximateNumberOfMessagesDelayed"] != "1" {
		t.Fatalf("delayed: %v", attrs.Attributes)
	}
	late, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: url, WaitTimeSeconds: 10})
	if err != nil || len(late.Messages) != 1 || *late.Messages[0].Body != "later" {
		t.Fatalf("the delayed message: %+v %v", late, err)
	}
}

// A long poll answers when a message arrives (the receiver waits on the
// commit, not on a timer); concurrent receivers never share a message.
func TestLongPollAndExclusiveReceive(t *testing.T) {
	q := serve(t, t.TempDir())
	ctx := context.Background()
	out, _ := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("poll")})
	url := out.QueueUrl
	got := make(chan string, 1)
	go func() {
		r, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: url, WaitTimeSeconds: 20})
		if err != nil || len(r.Messages) == 0 {
			got <- "none"
			return
		}
		got <- *r.Messages[0].Body
	}()
	if _, err := q.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: url, MessageBody: aws.String("ping")}); err != nil {
		t.Fatal(err)
	}
	if b := <-got; b != "ping" {
		t.Fatalf("long poll got %q", b)
	}
	const n = 60
	for i := 0; i < n; i += 10 {
		var es []types.SendMessageBatchRequestEntry
		for j := i; j < i+10; j++ {
			es = append(es, types.SendMessageBatchRequestEntry{Id: aws.String("e" + strconv.Itoa(j)), MessageBody: aws.String(strconv.Itoa(j))})
		}
		if _, err := q.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: url, Entries: es}); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				r, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: url, MaxNumberOfMessages: 3, VisibilityTimeout: 600})
				if err != nil || len(r.Messages) == 0 {
					return
				}
				mu.Lock()
				for _, m := range r.Messages {
					seen[*m.Body]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("received %d distinct messages, want %d", len(seen), n)
	}
	for b, c := range seen {
		if c != 1 {
			t.Fatalf("message %s received %d times while in flight", b, c)
		}
	}
	_ = time.Second
}
