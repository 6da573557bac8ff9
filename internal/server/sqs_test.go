package server_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/cloudlet/cloudlet/internal/server"
)

func sqsClient(s *server.Server) *sqs.Client {
	return sqs.New(sqs.Options{Region: "us-east-1", BaseEndpoint: aws.String(s.APIURL()),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, nil
		})})
}

// A Node function sends to a queue with @aws-sdk/client-sqs as Lambda
// ships it, under its role: the queue its role names takes the message,
// another refuses it with SQS's AccessDenied.
func TestFunctionSendsToQueue(t *testing.T) {
	s := start(t)
	if _, err := s.Deploy(copyDir(t, "testdata/queues"), ""); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	q := sqsClient(s)
	jobs, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("jobs")})
	if err != nil {
		t.Fatal(err)
	}
	other, _ := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("other")})
	send := func(url string) map[string]any {
		t.Helper()
		payload, _ := json.Marshal(map[string]string{"queueUrl": url, "body": "hello from a function"})
		out, err := lambdaClient(s, "test").Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("queues-dev-send"), Payload: payload})
		if err != nil || out.FunctionError != nil {
			t.Fatalf("invoke: %v %s", err, out.Payload)
		}
		var res map[string]any
		json.Unmarshal(out.Payload, &res)
		return res
	}
	if res := send(*jobs.QueueUrl); res["ok"] != true {
		t.Fatalf("send to jobs: %v", res)
	}
	r, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: jobs.QueueUrl, MessageAttributeNames: []string{"All"}})
	if err != nil || len(r.Messages) != 1 || *r.Messages[0].Body != "hello from a function" || *r.Messages[0].MessageAttributes["kind"].StringValue != "job" {
		t.Fatalf("received %+v %v", r, err)
	}
	if res := send(*other.QueueUrl); res["ok"] != false || !strings.Contains(res["message"].(string), "is not authorized to perform: sqs:SendMessage on resource: arn:aws:sqs:us-east-1:000000000000:other") {
		t.Fatalf("send to other: %v", res)
	}
}
