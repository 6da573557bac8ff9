package server_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// A project in the shape of serverless/examples' SQS workers, with the
// serverless-lift queue construct: the producer (Python, boto3) sends to
// ${construct:jobs.queueUrl} — its role allows it, as Lift grants — the
// worker Lift adds processes each job, and a job that fails reaches the
// construct's dead-letter queue after maxRetries.
func TestLiftQueueConstruct(t *testing.T) {
	s := start(t)
	d, err := s.Deploy(copyDir(t, "testdata/lift"), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Warnings) != 0 {
		t.Errorf("warnings: %q", d.Warnings)
	}
	ctx := context.Background()
	db := dynamoClient(s, "test", "test", "")
	tables, _ := db.ListTables(ctx, &dynamodb.ListTablesInput{})
	results := tables.TableNames[0]
	if code, body := post(t, s.GatewayURL()+"/produce", "job-1"); code != 200 || !strings.Contains(body, "Message accepted!") {
		t.Fatalf("POST /produce: %d %s", code, body)
	}
	key := map[string]dtypes.AttributeValue{"job": &dtypes.AttributeValueMemberS{Value: "job-1"}}
	waitFor(t, "the worker's record of job-1", func() bool {
		out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(results), Key: key})
		return err == nil && out.Item != nil
	})
	out, _ := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(results), Key: key})
	if kind := out.Item["kind"].(*dtypes.AttributeValueMemberS).Value; kind != "job" {
		t.Fatalf("the record: %v", out.Item)
	}
	if code, body := post(t, s.GatewayURL()+"/produce", "poison"); code != 200 {
		t.Fatalf("POST poison: %d %s", code, body)
	}
	if dead := deadLetters(t, sqsClient(s), "lift-dev-jobs-dlq"); len(dead) != 1 || dead[0] != "poison" {
		t.Fatalf("dead letters %v", dead)
	}
}
