package manifest

import (
	"reflect"
	"strings"
	"testing"
)

const tablesDoc = `service: users
provider:
  name: aws
  runtime: nodejs20.x
  environment:
    USERS_TABLE: !Ref UsersTable
    AUDIT_TABLE: ${self:service}-audit
    USERS_ARN: !GetAtt UsersTable.Arn
    JOINED: !Join ['/', [!Ref UsersTable, x]]
    SUBBED: !Sub '${UsersTable}-${AWS::Region}'
functions:
  audit:
    handler: h.audit
    events:
      - stream:
          type: dynamodb
          arn: !GetAtt UsersTable.StreamArn
          batchSize: 10
          startingPosition: LATEST
          maximumRetryAttempts: 2
          bisectBatchOnFunctionError: true
          functionResponseType: ReportBatchItemFailures
          filterPatterns:
            - eventName: [INSERT]
          destinations:
            onFailure: arn:aws:lambda:us-east-1:000000000000:function:users-dev-dlq
      - stream: arn:aws:dynamodb:us-east-1:000000000000:table/other/stream/2026-01-01T00:00:00.000
resources:
  Resources:
    UsersTable:
      Type: AWS::DynamoDB::Table
      Properties:
        BillingMode: PAY_PER_REQUEST
        AttributeDefinitions:
          - {AttributeName: id, AttributeType: S}
        KeySchema:
          - {AttributeName: id, KeyType: HASH}
        StreamSpecification:
          StreamViewType: NEW_AND_OLD_IMAGES
    AuditTable:
      Type: AWS::DynamoDB::Table
      Properties:
        TableName: ${self:service}-audit
        ProvisionedThroughput: {ReadCapacityUnits: '1', WriteCapacityUnits: 1}
        AttributeDefinitions:
          - {AttributeName: id, AttributeType: S}
        KeySchema:
          - {AttributeName: id, KeyType: HASH}
    Bucket:
      Type: AWS::S3::Bucket
`

// Tables come from resources.Resources with CloudFormation's generated
// name when TableName is not set; Ref, Fn::GetAtt, Fn::Join and Fn::Sub
// resolve in environment variables; stream events name their table.
func TestTablesAndStreams(t *testing.T) {
	p := mustParse(t, tablesDoc, Options{})
	if len(p.Tables) != 2 {
		t.Fatalf("tables %+v", p.Tables)
	}
	users, audit := p.Tables[0], p.Tables[1]
	if !strings.HasPrefix(users.Name, "users-dev-UsersTable-") || len(users.Name) != len("users-dev-UsersTable-")+12 || audit.Name != "users-audit" {
		t.Fatalf("names %q, %q", users.Name, audit.Name)
	}
	if users.Properties["BillingMode"] != "PAY_PER_REQUEST" || users.Line != 30 {
		t.Fatalf("users %+v", users)
	}
	env := p.Functions[0].Environment
	want := map[string]string{
		"USERS_TABLE": users.Name, "AUDIT_TABLE": "users-audit", "USERS_ARN": "arn:aws:dynamodb:us-east-1:000000000000:table/" + users.Name,
		"JOINED": users.Name + "/x", "SUBBED": users.Name + "-us-east-1",
	}
	if !reflect.DeepEqual(env, want) {
		t.Fatalf("environment %v, want %v", env, want)
	}
	evs := p.Functions[0].Events
	if len(evs) != 2 {
		t.Fatalf("events %+v", evs)
	}
	s := evs[0].Stream
	if s.Table != users.Name || s.BatchSize != 10 || s.StartingPosition != "LATEST" || s.MaximumRetryAttempts != 2 || !s.BisectBatchOnFunctionError ||
		!s.ReportBatchItemFailures || !reflect.DeepEqual(s.FilterPatterns, []string{`{"eventName":["INSERT"]}`}) ||
		s.OnFailure != "arn:aws:lambda:us-east-1:000000000000:function:users-dev-dlq" || !s.Enabled {
		t.Fatalf("stream event %+v", s)
	}
	if s2 := evs[1].Stream; s2.Table != "other" || s2.BatchSize != 100 || s2.StartingPosition != "TRIM_HORIZON" || s2.MaximumRetryAttempts != -1 {
		t.Fatalf("short stream event %+v", s2)
	}
	if len(p.Buckets) != 1 || p.Buckets[0].LogicalID != "Bucket" || p.Buckets[0].Name == "" {
		t.Fatalf("buckets %+v", p.Buckets)
	}
	// a stream event that is not on a DynamoDB stream
	_, err := parse(t, "", strings.Replace(tablesDoc, "arn:aws:dynamodb:us-east-1:000000000000:table/other/stream/2026-01-01T00:00:00.000", "arn:aws:dynamodb:us-east-1:000000000000:table/other", 1), Options{})
	if err == nil || !strings.Contains(err.Error(), "is not a DynamoDB stream ARN") {
		t.Fatalf("bad stream ARN: %v", err)
	}
}

const queuesDoc = `service: jobs
provider:
  name: aws
  runtime: nodejs20.x
  environment:
    JOBS_URL: !Ref JobsQueue
functions:
  work:
    handler: h.work
    events:
      - sqs:
          arn: !GetAtt JobsQueue.Arn
          batchSize: 50
          maximumBatchingWindow: 2
          maximumConcurrency: 3
          functionResponseType: ReportBatchItemFailures
      - sqs: arn:aws:sqs:us-east-1:000000000000:other
resources:
  Resources:
    JobsQueue:
      Type: AWS::SQS::Queue
      Properties:
        VisibilityTimeout: 60
        RedrivePolicy:
          deadLetterTargetArn: !GetAtt DLQ.Arn
          maxReceiveCount: 3
    DLQ:
      Type: AWS::SQS::Queue
      Properties:
        QueueName: jobs-dlq
`

// Queues come from resources.Resources; Ref of a queue is its URL on the
// server deployed to; sqs events name their queue.
func TestQueuesAndSQSEvents(t *testing.T) {
	p := mustParse(t, queuesDoc, Options{APIURL: "http://127.0.0.1:4566"})
	if len(p.Queues) != 2 || !strings.HasPrefix(p.Queues[0].Name, "jobs-dev-JobsQueue-") || p.Queues[1].Name != "jobs-dlq" {
		t.Fatalf("queues %+v", p.Queues)
	}
	rp := p.Queues[0].Properties["RedrivePolicy"].(map[string]any)
	if rp["deadLetterTargetArn"] != "arn:aws:sqs:us-east-1:000000000000:jobs-dlq" {
		t.Fatalf("redrive policy %v", rp)
	}
	if got := p.Functions[0].Environment["JOBS_URL"]; got != "http://127.0.0.1:4566/000000000000/"+p.Queues[0].Name {
		t.Fatalf("JOBS_URL %q", got)
	}
	e := p.Functions[0].Events
	if len(e) != 2 || e[0].SQS.Queue != p.Queues[0].Name || e[0].SQS.BatchSize != 50 || e[0].SQS.MaximumBatchingWindow != 2 ||
		e[0].SQS.MaximumConcurrency != 3 || !e[0].SQS.ReportBatchItemFailures || e[1].SQS.Queue != "other" || e[1].SQS.BatchSize != 10 {
		t.Fatalf("events %+v %+v", e[0].SQS, e[1].SQS)
	}
	_, err := parse(t, "", strings.Replace(queuesDoc, "maximumBatchingWindow: 2", "maximumBatchingWindow: 0", 1), Options{})
	if err == nil || !strings.Contains(err.Error(), "a batchSize over 10 needs a maximumBatchingWindow") {
		t.Fatalf("batch without window: %v", err)
	}
}

// An AWS::S3::Bucket keeps its properties, evaluated, for the deploy to
// apply; those it does not apply are named in a warning.
func TestBucketProperties(t *testing.T) {
	p := mustParse(t, `service: site
provider:
  name: aws
  runtime: nodejs20.x
functions:
  f:
    handler: h.f
resources:
  Resources:
    Assets:
      Type: AWS::S3::Bucket
      Properties:
        BucketName: !Sub '${AWS::StackName}-assets'
        CorsConfiguration:
          CorsRules:
            - AllowedOrigins: ['*']
              AllowedMethods: [GET]
        VersioningConfiguration:
          Status: Enabled
        PublicAccessBlockConfiguration:
          BlockPublicAcls: true
        # what Cloudlet does not apply is not evaluated: a logical id the
        # Framework makes, an import
        NotificationConfiguration:
          LambdaConfigurations:
            - Event: s3:ObjectCreated:*
              Function: !GetAtt ResizeLambdaFunction.Arn
        Tags:
          - Key: team
            Value: !ImportValue shared-team
`, Options{})
	if len(p.Buckets) != 1 || p.Buckets[0].Name != "site-dev-assets" {
		t.Fatalf("buckets %+v", p.Buckets)
	}
	props := p.Buckets[0].Properties
	rules, _ := props["CorsConfiguration"].(map[string]any)["CorsRules"].([]any)
	if len(rules) != 1 || props["VersioningConfiguration"].(map[string]any)["Status"] != "Enabled" {
		t.Fatalf("properties %+v", props)
	}
	if len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], "NotificationConfiguration, PublicAccessBlockConfiguration, Tags have no effect") {
		t.Fatalf("warnings %q", p.Warnings)
	}
}
