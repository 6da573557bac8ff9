package dynamodb_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	ddb "github.com/cloudlet/cloudlet/internal/dynamodb"
)

func spec(name, key string, extra map[string]any) ddb.TableSpec {
	p := map[string]any{
		"BillingMode":          "PAY_PER_REQUEST",
		"AttributeDefinitions": []any{map[string]any{"AttributeName": key, "AttributeType": "S"}},
		"KeySchema":            []any{map[string]any{"AttributeName": key, "KeyType": "HASH"}},
	}
	for k, v := range extra {
		p[k] = v
	}
	return ddb.TableSpec{Name: name, Properties: p, Origin: "serverless.yml:9: resources.Resources.T"}
}

// Apply creates the declared tables, applies again without change, adds
// and drops global indexes, turns the stream and TTL on, and refuses a
// key change that would drop items (leaving everything as it was).
func TestApply(t *testing.T) {
	db, svc := serve(t, t.TempDir())
	ctx := context.Background()
	if err := svc.Apply(ctx, []ddb.TableSpec{spec("users", "id", nil), spec("audit", "id", map[string]any{
		"BillingMode": nil, "ProvisionedThroughput": map[string]any{"ReadCapacityUnits": "2", "WriteCapacityUnits": 3}})}); err != nil {
		t.Fatal(err)
	}
	d, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("audit")})
	if err != nil || *d.Table.ProvisionedThroughput.ReadCapacityUnits != 2 {
		t.Fatalf("audit %+v %v", d, err)
	}
	db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("users"), Item: map[string]types.AttributeValue{"id": s("u1"), "email": s("a@x"), "exp": n(strconv.FormatInt(time.Now().Add(-time.Hour).Unix(), 10))}})
	first, _ := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("users")})
	more := spec("users", "id", map[string]any{
		"AttributeDefinitions": []any{map[string]any{"AttributeName": "id", "AttributeType": "S"}, map[string]any{"AttributeName": "email", "AttributeType": "S"}},
		"GlobalSecondaryIndexes": []any{map[string]any{"IndexName": "byEmail", "KeySchema": []any{map[string]any{"AttributeName": "email", "KeyType": "HASH"}},
			"Projection": map[string]any{"ProjectionType": "ALL"}}},
		"StreamSpecification":     map[string]any{"StreamViewType": "NEW_IMAGE"},
		"TimeToLiveSpecification": map[string]any{"AttributeName": "exp", "Enabled": true},
	})
	for i := 0; i < 2; i++ { // the second time changes nothing
		if err := svc.Apply(ctx, []ddb.TableSpec{more}); err != nil {
			t.Fatal(err)
		}
	}
	again, _ := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("users")})
	if *again.Table.TableId != *first.Table.TableId || *again.Table.ItemCount != 1 || len(again.Table.GlobalSecondaryIndexes) != 1 || again.Table.LatestStreamArn == nil {
		t.Fatalf("updated table %+v", again.Table)
	}
	q, err := db.Query(ctx, &dynamodb.QueryInput{TableName: aws.String("users"), IndexName: aws.String("byEmail"),
		KeyConditionExpression: aws.String("email = :e"), ExpressionAttributeValues: map[string]types.AttributeValue{":e": s("a@x")}})
	if err != nil || q.Count != 1 {
		t.Fatalf("index filled from the items there: %+v %v", q, err)
	}
	if n, err := svc.Sweep(ctx); err != nil || n != 1 {
		t.Fatalf("TTL from the spec: swept %d, %v", n, err)
	}
	db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("users"), Item: map[string]types.AttributeValue{"id": s("u2")}})
	// a new key with items there: refused, nothing changes (audit neither)
	err = svc.Apply(ctx, []ddb.TableSpec{spec("audit", "pk", nil), spec("users", "pk", nil)})
	if err == nil || !strings.Contains(err.Error(), "serverless.yml:9: resources.Resources.T: table users: its key schema would change from [id (S, HASH)] to [pk (S, HASH)]") ||
		!strings.Contains(err.Error(), "would drop its 1 items; delete the table first") {
		t.Fatalf("key change: %v", err)
	}
	if d, _ := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("audit")}); *d.Table.KeySchema[0].AttributeName != "id" {
		t.Fatal("a refused Apply changed another table")
	}
	// an empty table may change its key
	if err := svc.Apply(ctx, []ddb.TableSpec{spec("audit", "pk", nil)}); err != nil {
		t.Fatal(err)
	}
	// a bad spec says where it is
	bad := spec("bad", "id", map[string]any{"KeySchema": []any{map[string]any{"AttributeName": "nope", "KeyType": "HASH"}}})
	if err := svc.Apply(ctx, []ddb.TableSpec{bad}); err == nil || !strings.Contains(err.Error(), "serverless.yml:9: resources.Resources.T: One or more parameter values were invalid") {
		t.Fatalf("bad spec: %v", err)
	}
}
