package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmw "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	stypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
)

type record struct {
	Version        string `json:"version"`
	RequestContext struct {
		RequestID              string `json:"requestId"`
		FunctionArn            string `json:"functionArn"`
		Condition              string `json:"condition"`
		ApproximateInvokeCount int    `json:"approximateInvokeCount"`
	} `json:"requestContext"`
	RequestPayload  map[string]any `json:"requestPayload"`
	ResponseContext struct {
		StatusCode    int    `json:"statusCode"`
		FunctionError string `json:"functionError"`
	} `json:"responseContext"`
	ResponsePayload map[string]any `json:"responsePayload"`
}

// Event invocations end at their destinations, declared in serverless.yml:
// a success's record reaches another function (onSuccess), a failure's,
// after maximumRetryAttempts 0, a queue (onFailure) and the event itself
// the dead-letter queue (onError), all as Lambda writes them; a
// destination the function's role may not send to gets nothing, and the
// refusal shows in the function's log and the metrics.
func TestAsyncDestinations(t *testing.T) {
	s := start(t)
	if _, err := s.Deploy(copyDir(t, "testdata/destinations"), ""); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	lc, q := lambdaClient(s, "test"), sqsClient(s)
	url := func(name string) *string {
		out, err := q.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		return out.QueueUrl
	}
	event := func(fn, payload string) string {
		t.Helper()
		out, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(fn), InvocationType: ltypes.InvocationTypeEvent, Payload: []byte(payload)})
		if err != nil || out.StatusCode != 202 {
			t.Fatalf("Event invoke: %v %v", out, err)
		}
		id, _ := awsmw.GetRequestIDMetadata(out.ResultMetadata)
		return id
	}
	receive := func(queue string) stypes.Message {
		t.Helper()
		var got []stypes.Message
		waitFor(t, "a message in "+queue, func() bool {
			out, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: url(queue), WaitTimeSeconds: 1, MessageAttributeNames: []string{"All"}})
			got = out.Messages
			return err == nil && len(got) > 0
		})
		return got[0]
	}

	okID := event("destinations-dev-work", `{"id":"a"}`)
	var rec record
	m := receive("succeeded")
	if err := json.Unmarshal([]byte(*m.Body), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Version != "1.0" || rec.RequestContext.Condition != "Success" || rec.RequestContext.RequestID != okID ||
		rec.RequestContext.FunctionArn != "arn:aws:lambda:us-east-1:000000000000:function:destinations-dev-work:$LATEST" ||
		rec.RequestPayload["id"] != "a" || rec.ResponsePayload["ok"] != "a" || rec.ResponsePayload["requestId"] != okID ||
		rec.ResponseContext.StatusCode != 200 {
		t.Fatalf("success record (202's request ID %s): %s", okID, *m.Body)
	}

	failID := event("destinations-dev-work", `{"id":"b","fail":true}`)
	m = receive("failed")
	rec = record{}
	json.Unmarshal([]byte(*m.Body), &rec)
	if rec.RequestContext.Condition != "RetriesExhausted" || rec.RequestContext.ApproximateInvokeCount != 1 || rec.RequestContext.RequestID != failID ||
		rec.ResponseContext.FunctionError != "Unhandled" || !strings.Contains(rec.ResponsePayload["errorMessage"].(string), "asked to fail: b") {
		t.Fatalf("failure record: %s", *m.Body)
	}
	m = receive("dead")
	if *m.Body != `{"id":"b","fail":true}` || *m.MessageAttributes["RequestID"].StringValue != failID ||
		!strings.Contains(*m.MessageAttributes["ErrorMessage"].StringValue, "asked to fail: b") {
		t.Fatalf("dead letter: %s %v", *m.Body, m.MessageAttributes)
	}

	// the settings through the API, as serverless.yml declared them
	cfg, err := lc.GetFunctionEventInvokeConfig(ctx, &lambda.GetFunctionEventInvokeConfigInput{FunctionName: aws.String("destinations-dev-work")})
	if err != nil || aws.ToInt32(cfg.MaximumRetryAttempts) != 0 || cfg.MaximumRetryAttempts == nil ||
		aws.ToString(cfg.DestinationConfig.OnFailure.Destination) != "arn:aws:sqs:us-east-1:000000000000:failed" ||
		aws.ToString(cfg.DestinationConfig.OnSuccess.Destination) != "arn:aws:lambda:us-east-1:000000000000:function:destinations-dev-after" {
		t.Fatalf("GetFunctionEventInvokeConfig: %+v %v", cfg, err)
	}

	event("destinations-dev-stray", `{"id":"c","fail":true}`)
	waitFor(t, "the refusal in stray's log", func() bool {
		lines, _ := s.Logs().Since("destinations-dev-stray", 0)
		for _, l := range lines {
			if strings.Contains(l.Text, "ASYNC RequestId:") && strings.Contains(l.Text, "RetriesExhausted") && strings.Contains(l.Text, "onFailure") {
				return true
			}
		}
		return false
	})
	attrs, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: url("other"), AttributeNames: []stypes.QueueAttributeName{"ApproximateNumberOfMessages"}})
	if err != nil || attrs.Attributes["ApproximateNumberOfMessages"] != "0" {
		t.Fatalf("the queue stray's role may not send to holds %v (%v)", attrs.Attributes, err)
	}
	// the queue's Policy may grant what the role lacks: then the record goes
	if _, err := q.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: url("other"), Attributes: map[string]string{
		"Policy": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:role/destinations-dev-us-east-1-lambdaRole"},"Action":"sqs:SendMessage"}]}`}}); err != nil {
		t.Fatal(err)
	}
	strayID := event("destinations-dev-stray", `{"id":"d","fail":true}`)
	m = receive("other")
	rec = record{}
	json.Unmarshal([]byte(*m.Body), &rec)
	if rec.RequestContext.RequestID != strayID || rec.RequestContext.Condition != "RetriesExhausted" {
		t.Fatalf("the record the queue's Policy lets in: %s", *m.Body)
	}
	resp, err := http.Get(s.APIURL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`cloudlet_async_destination_records_total{function="destinations-dev-stray",outcome="refused"} 1`,
		`cloudlet_async_events_total{function="destinations-dev-work",outcome="dropped_retries_exhausted"} 1`,
		`cloudlet_async_events_total{function="destinations-dev-work",outcome="received"} 2`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// The EventInvokeConfig operations with the Go SDK: Put replaces, Update
// merges, Get and List answer, Delete removes; out-of-range values get
// Lambda's validation errors.
func TestEventInvokeConfigAPI(t *testing.T) {
	s := start(t)
	if _, err := s.Deploy(copyDir(t, "testdata/destinations"), ""); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	lc := lambdaClient(s, "test")
	fn := aws.String("destinations-dev-after")
	_, err := lc.GetFunctionEventInvokeConfig(ctx, &lambda.GetFunctionEventInvokeConfigInput{FunctionName: fn})
	var nf *ltypes.ResourceNotFoundException
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), "doesn't have an EventInvokeConfig") {
		t.Fatalf("Get of none: %v", err)
	}
	put, err := lc.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{FunctionName: fn,
		MaximumRetryAttempts: aws.Int32(1), MaximumEventAgeInSeconds: aws.Int32(3600)})
	if err != nil || aws.ToInt32(put.MaximumEventAgeInSeconds) != 3600 || put.LastModified == nil ||
		aws.ToString(put.FunctionArn) != "arn:aws:lambda:us-east-1:000000000000:function:destinations-dev-after:$LATEST" {
		t.Fatalf("Put: %+v %v", put, err)
	}
	upd, err := lc.UpdateFunctionEventInvokeConfig(ctx, &lambda.UpdateFunctionEventInvokeConfigInput{FunctionName: fn,
		DestinationConfig: &ltypes.DestinationConfig{OnFailure: &ltypes.OnFailure{Destination: aws.String("arn:aws:sqs:us-east-1:000000000000:failed")}}})
	if err != nil || aws.ToInt32(upd.MaximumRetryAttempts) != 1 || aws.ToString(upd.DestinationConfig.OnFailure.Destination) == "" {
		t.Fatalf("Update: %+v %v", upd, err)
	}
	list, err := lc.ListFunctionEventInvokeConfigs(ctx, &lambda.ListFunctionEventInvokeConfigsInput{FunctionName: fn})
	if err != nil || len(list.FunctionEventInvokeConfigs) != 1 || aws.ToInt32(list.FunctionEventInvokeConfigs[0].MaximumEventAgeInSeconds) != 3600 {
		t.Fatalf("List: %+v %v", list, err)
	}
	_, err = lc.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{FunctionName: fn, MaximumRetryAttempts: aws.Int32(5)})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationException" ||
		!strings.Contains(ae.ErrorMessage(), "Value '5' at 'maximumRetryAttempts' failed to satisfy constraint: Member must have value less than or equal to 2") {
		t.Fatalf("Put of 5 retries: %v", err)
	}
	if _, err := lc.DeleteFunctionEventInvokeConfig(ctx, &lambda.DeleteFunctionEventInvokeConfigInput{FunctionName: fn}); err != nil {
		t.Fatal(err)
	}
	if _, err := lc.GetFunctionEventInvokeConfig(ctx, &lambda.GetFunctionEventInvokeConfigInput{FunctionName: fn}); !errors.As(err, &nf) {
		t.Fatalf("Get after Delete: %v", err)
	}
	_, err = lc.GetFunctionEventInvokeConfig(ctx, &lambda.GetFunctionEventInvokeConfigInput{FunctionName: aws.String("nope")})
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), "Function not found") {
		t.Fatalf("Get of an unknown function: %v", err)
	}
}
