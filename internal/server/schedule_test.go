package server_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Schedule events reach their function through the durable queue: a
// schedule fired now gives it EventBridge's Scheduled Event naming its
// rule, another its own input.
func TestScheduleEvents(t *testing.T) {
	s := start(t)
	if _, err := s.Deploy(copyDir(t, "testdata/cron"), ""); err != nil {
		t.Fatal(err)
	}
	for _, rule := range []string{"cron-dev-tick-rule-1", "cron-dev-tick-rule-2"} {
		if ok, err := s.FireSchedule(rule); !ok || err != nil {
			t.Fatalf("fire %s: %v %v", rule, ok, err)
		}
	}
	if ok, _ := s.FireSchedule("nope"); ok {
		t.Fatal("fired a schedule that does not exist")
	}
	db := dynamoClient(s, "test", "test", "")
	ctx := context.Background()
	get := func(kind string) map[string]types.AttributeValue {
		out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("cron-ticks"), Key: map[string]types.AttributeValue{"kind": &types.AttributeValueMemberS{Value: kind}}})
		if err != nil {
			return nil
		}
		return out.Item
	}
	waitFor(t, "both schedules' events", func() bool { return get("Scheduled Event") != nil && get("report") != nil })
	ev := get("Scheduled Event")
	if ev["rule"].(*types.AttributeValueMemberS).Value != "arn:aws:events:us-east-1:000000000000:rule/cron-dev-tick-rule-1" ||
		ev["source"].(*types.AttributeValueMemberS).Value != "aws.events" {
		t.Fatalf("the Scheduled Event: %v", ev)
	}
}
