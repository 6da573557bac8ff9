package server_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	stypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

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
	// A queue's Policy is its resource policy: it grants what the role
	// lacks, and denies what the role allows.
	if _, err := q.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: other.QueueUrl, Attributes: map[string]string{
		"Policy": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sqs:SendMessage"}]}`}}); err != nil {
		t.Fatal(err)
	}
	if res := send(*other.QueueUrl); res["ok"] != true {
		t.Fatalf("send to other, which its Policy allows: %v", res)
	}
	if _, err := q.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: jobs.QueueUrl, Attributes: map[string]string{
		"Policy": `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:000000000000:jobs"}]}`}}); err != nil {
		t.Fatal(err)
	}
	if res := send(*jobs.QueueUrl); res["ok"] != false || !strings.Contains(res["message"].(string), "sqs:SendMessage") {
		t.Fatalf("send to jobs, which its Policy denies: %v", res)
	}
	_, err = q.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: jobs.QueueUrl, Attributes: map[string]string{"Policy": `{"Statement":"no"}`}})
	if err == nil || !strings.Contains(err.Error(), "Invalid value for the parameter Policy.") {
		t.Fatalf("a Policy that does not parse: %v", err)
	}
}

// The seed's queue pattern end to end: an httpApi function enqueues with
// @aws-sdk/client-sqs to the queue of `resources` (its URL from !Ref), a
// function with an sqs event records each job and its messages are
// deleted; a job that keeps failing moves to the dead-letter queue after
// maxReceiveCount.
func TestQueueTriggersFunction(t *testing.T) {
	s := start(t)
	// a function that may run longer than its queue hides a message is refused, as AWS refuses it
	long := copyDir(t, "testdata/worker")
	yml, _ := os.ReadFile(filepath.Join(long, "serverless.yml"))
	os.WriteFile(filepath.Join(long, "serverless.yml"), []byte(strings.Replace(string(yml), "timeout: 1 #", "timeout: 6 #", 1)), 0o644)
	if _, err := s.Deploy(long, ""); err == nil || !strings.Contains(err.Error(), "Queue visibility timeout: 1 seconds is less than Function timeout: 6 seconds") {
		t.Fatalf("a function longer than its queue's visibility timeout: %v", err)
	}
	if _, err := s.Deploy(copyDir(t, "testdata/worker"), ""); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db := dynamoClient(s, "test", "test", "")
	q := sqsClient(s)
	tables, _ := db.ListTables(ctx, &dynamodb.ListTablesInput{})
	results := tables.TableNames[0]
	if code, body := post(t, s.GatewayURL()+"/jobs", "job-1"); code != 202 {
		t.Fatalf("POST /jobs: %d %s", code, body)
	}
	waitFor(t, "the worker's record of job-1", func() bool {
		out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(results), Key: map[string]dtypes.AttributeValue{"job": &dtypes.AttributeValueMemberS{Value: "job-1"}}})
		return err == nil && out.Item != nil
	})
	out, _ := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(results), Key: map[string]dtypes.AttributeValue{"job": &dtypes.AttributeValueMemberS{Value: "job-1"}}})
	if src := out.Item["source"].(*dtypes.AttributeValueMemberS).Value; src != "api" {
		t.Fatalf("the record: %v", out.Item)
	}
	jobs, err := q.ListQueues(ctx, &sqs.ListQueuesInput{QueueNamePrefix: aws.String("worker-dev-JobsQueue-")})
	if err != nil || len(jobs.QueueUrls) != 1 {
		t.Fatalf("the jobs queue: %v %v", jobs, err)
	}
	waitFor(t, "job-1's message to be deleted", func() bool {
		a, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(jobs.QueueUrls[0]),
			AttributeNames: []stypes.QueueAttributeName{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"}})
		return err == nil && a.Attributes["ApproximateNumberOfMessages"] == "0" && a.Attributes["ApproximateNumberOfMessagesNotVisible"] == "0"
	})
	if code, body := post(t, s.GatewayURL()+"/jobs", "poison"); code != 202 {
		t.Fatalf("POST poison: %d %s", code, body)
	}
	if dead := deadLetters(t, q, "worker-dev-dlq"); len(dead) != 1 || dead[0] != "poison" {
		t.Fatalf("dead letters %v", dead)
	}
}

// deadLetters waits for messages in the named queue and returns their
// bodies (each received once).
func deadLetters(t *testing.T, q *sqs.Client, name string) []string {
	t.Helper()
	ctx := context.Background()
	dlq, err := q.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	var dead []string
	waitFor(t, "a message in the dead-letter queue "+name, func() bool {
		r, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: dlq.QueueUrl, WaitTimeSeconds: 1})
		for _, m := range r.Messages {
			dead = append(dead, *m.Body)
		}
		return err == nil && len(dead) > 0
	})
	return dead
}
