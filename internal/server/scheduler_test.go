package server_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	schtypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/cloudlet/cloudlet/internal/server"
)

func schedulerClient(s *server.Server) *scheduler.Client {
	return scheduler.New(scheduler.Options{Region: "us-east-1", BaseEndpoint: aws.String(s.APIURL()),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, nil
		})})
}

// The EventBridge Scheduler API with the Go SDK: a one-time at()
// schedule invokes its function with its Input, as its role allows, and
// deletes itself after (ActionAfterCompletion DELETE); one whose role may
// not invoke its target never runs it, and the denial is audited;
// Get, List, Update and Delete answer as Scheduler does.
func TestSchedulerAPI(t *testing.T) {
	s := start(t)
	if _, err := s.Deploy(copyDir(t, "testdata/destinations"), ""); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c := schedulerClient(s)
	role := aws.String("arn:aws:iam::000000000000:role/destinations-dev-us-east-1-lambdaRole")
	soon := time.Now().UTC().Add(2 * time.Second).Format("2006-01-02T15:04:05")
	out, err := c.CreateSchedule(ctx, &scheduler.CreateScheduleInput{
		Name: aws.String("once"), ScheduleExpression: aws.String("at(" + soon + ")"),
		FlexibleTimeWindow:    &schtypes.FlexibleTimeWindow{Mode: schtypes.FlexibleTimeWindowModeOff},
		ActionAfterCompletion: schtypes.ActionAfterCompletionDelete,
		Target: &schtypes.Target{Arn: aws.String("arn:aws:lambda:us-east-1:000000000000:function:destinations-dev-after"), RoleArn: role,
			Input: aws.String(`{"from":"scheduler"}`)},
	})
	if err != nil || aws.ToString(out.ScheduleArn) != "arn:aws:scheduler:us-east-1:000000000000:schedule/default/once" {
		t.Fatalf("CreateSchedule: %v %v", out, err)
	}
	_, err = c.CreateSchedule(ctx, &scheduler.CreateScheduleInput{
		Name: aws.String("once"), ScheduleExpression: aws.String("rate(1 minute)"),
		FlexibleTimeWindow: &schtypes.FlexibleTimeWindow{Mode: schtypes.FlexibleTimeWindowModeOff},
		Target:             &schtypes.Target{Arn: aws.String("arn:aws:lambda:us-east-1:000000000000:function:destinations-dev-after"), RoleArn: role},
	})
	var conflict *schtypes.ConflictException
	if !errors.As(err, &conflict) {
		t.Fatalf("a second schedule of the same name: %v", err)
	}
	// the role allows destinations-dev-after only: a schedule of work is refused at its tick
	if _, err := c.CreateSchedule(ctx, &scheduler.CreateScheduleInput{
		Name: aws.String("denied"), ScheduleExpression: aws.String("at(" + soon + ")"),
		FlexibleTimeWindow: &schtypes.FlexibleTimeWindow{Mode: schtypes.FlexibleTimeWindowModeOff},
		Target:             &schtypes.Target{Arn: aws.String("arn:aws:lambda:us-east-1:000000000000:function:destinations-dev-work"), RoleArn: role},
	}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String("denied")})
	if err != nil || got.State != schtypes.ScheduleStateEnabled || aws.ToString(got.Target.RoleArn) != *role || got.CreationDate == nil {
		t.Fatalf("GetSchedule: %+v %v", got, err)
	}
	_, err = c.CreateSchedule(ctx, &scheduler.CreateScheduleInput{
		Name: aws.String("bad"), ScheduleExpression: aws.String("cron(0 12 * * *)"),
		FlexibleTimeWindow: &schtypes.FlexibleTimeWindow{Mode: schtypes.FlexibleTimeWindowModeOff},
		Target:             &schtypes.Target{Arn: aws.String("arn:aws:lambda:us-east-1:000000000000:function:destinations-dev-after"), RoleArn: role},
	})
	var invalid *schtypes.ValidationException
	if !errors.As(err, &invalid) || !strings.Contains(err.Error(), "Invalid Schedule Expression") {
		t.Fatalf("a five-field cron: %v", err)
	}

	// the function after forwards what it gets to the succeeded queue
	q := sqsClient(s)
	url, _ := q.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("succeeded")})
	var body string
	waitFor(t, "the schedule's invocation", func() bool {
		r, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: url.QueueUrl, WaitTimeSeconds: 1})
		if err == nil && len(r.Messages) > 0 {
			body = *r.Messages[0].Body
			return true
		}
		return false
	})
	if body != `{"from":"scheduler"}` {
		t.Fatalf("the function got %s", body)
	}
	waitFor(t, "the one-time schedule to delete itself", func() bool {
		_, err := c.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String("once")})
		var nf *schtypes.ResourceNotFoundException
		return errors.As(err, &nf)
	})
	waitFor(t, "the denial of the other schedule's tick", func() bool {
		for _, d := range s.IAMReport("").Decisions {
			if strings.HasSuffix(d.Principal, "/scheduler") && d.Action == "lambda:InvokeFunction" && !d.Allowed &&
				strings.HasSuffix(d.Resource, ":function:destinations-dev-work") {
				return true
			}
		}
		return false
	})
	lines, _ := s.Logs().Since("destinations-dev-work", 0)
	for _, l := range lines {
		if strings.HasPrefix(l.Text, "START") {
			t.Fatalf("the function the schedule's role may not invoke ran: %s", l.Text)
		}
	}

	if _, err := c.UpdateSchedule(ctx, &scheduler.UpdateScheduleInput{
		Name: aws.String("denied"), ScheduleExpression: aws.String("rate(5 minutes)"), State: schtypes.ScheduleStateDisabled,
		FlexibleTimeWindow: &schtypes.FlexibleTimeWindow{Mode: schtypes.FlexibleTimeWindowModeOff},
		Target:             &schtypes.Target{Arn: aws.String("arn:aws:lambda:us-east-1:000000000000:function:destinations-dev-work"), RoleArn: role},
	}); err != nil {
		t.Fatal(err)
	}
	list, err := c.ListSchedules(ctx, &scheduler.ListSchedulesInput{})
	if err != nil || len(list.Schedules) != 1 || aws.ToString(list.Schedules[0].Name) != "denied" || list.Schedules[0].State != schtypes.ScheduleStateDisabled {
		t.Fatalf("ListSchedules: %+v %v", list, err)
	}
	if _, err := c.DeleteSchedule(ctx, &scheduler.DeleteScheduleInput{Name: aws.String("denied")}); err != nil {
		t.Fatal(err)
	}
	var nf *schtypes.ResourceNotFoundException
	if _, err := c.DeleteSchedule(ctx, &scheduler.DeleteScheduleInput{Name: aws.String("denied")}); !errors.As(err, &nf) {
		t.Fatalf("a second delete: %v", err)
	}
}
