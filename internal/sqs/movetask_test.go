package sqs_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// A message move task takes a dead-letter queue's messages back to the
// queues they came from (or to the destination given), keeping their
// bodies; ListMessageMoveTasks follows it; a queue that is no
// dead-letter queue is refused.
func TestMessageMoveTask(t *testing.T) {
	c := serve(t, t.TempDir())
	ctx := context.Background()
	dlq, _ := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("dlq")})
	src, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("jobs"), Attributes: map[string]string{
		"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq","maxReceiveCount":1}`, "VisibilityTimeout": "0"}})
	if err != nil {
		t.Fatal(err)
	}
	other, _ := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("other")})
	const n = 25
	for i := 0; i < n; i++ {
		c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: src.QueueUrl, MessageBody: aws.String("m" + strconv.Itoa(i))})
	}
	// received once each (visibility 0), the second receive moves them to the DLQ
	count := func(url *string) string {
		a, _ := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: url, AttributeNames: []types.QueueAttributeName{"ApproximateNumberOfMessages"}})
		return a.Attributes["ApproximateNumberOfMessages"]
	}
	deadline := time.Now().Add(20 * time.Second)
	for count(dlq.QueueUrl) != strconv.Itoa(n) {
		if time.Now().After(deadline) {
			t.Fatalf("the DLQ holds %s messages, want %d", count(dlq.QueueUrl), n)
		}
		c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: src.QueueUrl, MaxNumberOfMessages: 10})
	}
	if _, err := c.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String("arn:aws:sqs:us-east-1:000000000000:other")}); code(err) != "InvalidParameterValue" {
		t.Fatalf("a task from a queue that is no DLQ: %v", err)
	}
	if _, err := c.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String("arn:aws:sqs:us-east-1:000000000000:nope")}); code(err) != "ResourceNotFoundException" {
		t.Fatalf("a task from no queue: %v", err)
	}
	if _, err := c.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String("arn:aws:sqs:us-east-1:000000000000:dlq"),
		DestinationArn: aws.String("arn:aws:sqs:us-east-1:000000000000:dlq")}); code(err) != "InvalidParameterValue" {
		t.Fatalf("a task into its own source: %v", err)
	}
	task, err := c.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String("arn:aws:sqs:us-east-1:000000000000:dlq")})
	if err != nil || aws.ToString(task.TaskHandle) == "" {
		t.Fatalf("start: %v %v", task, err)
	}
	var last string
	deadline = time.Now().Add(20 * time.Second)
	for {
		l, err := c.ListMessageMoveTasks(ctx, &sqs.ListMessageMoveTasksInput{SourceArn: aws.String("arn:aws:sqs:us-east-1:000000000000:dlq")})
		if err != nil || len(l.Results) != 1 {
			t.Fatalf("list: %v %v", l, err)
		}
		r := l.Results[0]
		last = aws.ToString(r.Status)
		if last == "COMPLETED" {
			if r.ApproximateNumberOfMessagesMoved != n || r.ApproximateNumberOfMessagesToMove == nil || *r.ApproximateNumberOfMessagesToMove != n {
				t.Fatalf("completed task: moved %d of %v", r.ApproximateNumberOfMessagesMoved, r.ApproximateNumberOfMessagesToMove)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the task is %s", last)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if count(dlq.QueueUrl) != "0" || count(src.QueueUrl) != strconv.Itoa(n) {
		t.Fatalf("after the move: dlq %s, jobs %s", count(dlq.QueueUrl), count(src.QueueUrl))
	}
	// to a destination given, at a rate
	c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: src.QueueUrl, Attributes: map[string]string{"VisibilityTimeout": "0"}})
	deadline = time.Now().Add(20 * time.Second)
	for count(dlq.QueueUrl) != strconv.Itoa(n) {
		if time.Now().After(deadline) {
			t.Fatalf("the DLQ holds %s messages again, want %d", count(dlq.QueueUrl), n)
		}
		c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: src.QueueUrl, MaxNumberOfMessages: 10})
	}
	if _, err := c.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String("arn:aws:sqs:us-east-1:000000000000:dlq"),
		DestinationArn: aws.String("arn:aws:sqs:us-east-1:000000000000:other"), MaxNumberOfMessagesPerSecond: aws.Int32(500)}); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(20 * time.Second)
	for count(other.QueueUrl) != strconv.Itoa(n) {
		if time.Now().After(deadline) {
			t.Fatalf("other holds %s messages, want %d", count(other.QueueUrl), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	r, _ := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: other.QueueUrl, MaxNumberOfMessages: 10})
	if len(r.Messages) == 0 || (*r.Messages[0].Body)[0] != 'm' {
		t.Fatalf("moved messages: %+v", r.Messages)
	}
	l, _ := c.ListMessageMoveTasks(ctx, &sqs.ListMessageMoveTasksInput{SourceArn: aws.String("arn:aws:sqs:us-east-1:000000000000:dlq"), MaxResults: aws.Int32(10)})
	if len(l.Results) != 2 || aws.ToString(l.Results[0].DestinationArn) != "arn:aws:sqs:us-east-1:000000000000:other" {
		t.Fatalf("two tasks, newest first: %+v", l.Results)
	}
	if _, err := c.CancelMessageMoveTask(ctx, &sqs.CancelMessageMoveTaskInput{TaskHandle: task.TaskHandle}); code(err) != "UnsupportedOperation" && code(err) != "AWS.SimpleQueueService.UnsupportedOperation" {
		t.Fatalf("cancel of a completed task: %v (%s)", err, code(err))
	}
}
