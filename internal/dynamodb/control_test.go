package dynamodb_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	stypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
)

// DescribeTable counts items and bytes; UpdateTable adds a global index
// filled from the items already there and removes it, switches billing
// and the stream; tags are set, listed and removed; DeleteTable takes the
// items with it.
func TestUpdateTableAndTags(t *testing.T) {
	db, _ := serve(t, t.TempDir())
	ctx := context.Background()
	createTable(t, db, "orders")
	fill(t, db, 1, 2) // 5 items, emails on -2, 0, 2
	d, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("orders")})
	if err != nil || *d.Table.ItemCount != 5 || *d.Table.TableSizeBytes == 0 || *d.Table.GlobalSecondaryIndexes[0].ItemCount != 3 {
		t.Fatalf("describe %+v %v", d.Table, err)
	}
	_, err = db.UpdateTable(ctx, &dynamodb.UpdateTableInput{TableName: aws.String("orders"),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("v"), AttributeType: types.ScalarAttributeTypeS}},
		GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{{Create: &types.CreateGlobalSecondaryIndexAction{
			IndexName: aws.String("byV"), KeySchema: []types.KeySchemaElement{{AttributeName: aws.String("v"), KeyType: types.KeyTypeHash}},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll}}}}})
	if err != nil {
		t.Fatal(err)
	}
	q, err := db.Query(ctx, &dynamodb.QueryInput{TableName: aws.String("orders"), IndexName: aws.String("byV"),
		KeyConditionExpression: aws.String("v = :v"), ExpressionAttributeValues: map[string]types.AttributeValue{":v": s("v-1")}})
	if err != nil || q.Count != 1 || ns(q.Items[0], "sk") != "-1" {
		t.Fatalf("new index %+v %v", q, err)
	}
	if _, err := db.UpdateTable(ctx, &dynamodb.UpdateTableInput{TableName: aws.String("orders"),
		GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{{Delete: &types.DeleteGlobalSecondaryIndexAction{IndexName: aws.String("byV")}}}}); err != nil {
		t.Fatal(err)
	}
	_, err = db.Query(ctx, &dynamodb.QueryInput{TableName: aws.String("orders"), IndexName: aws.String("byV"),
		KeyConditionExpression: aws.String("v = :v"), ExpressionAttributeValues: map[string]types.AttributeValue{":v": s("v-1")}})
	wantErr(t, err, "ValidationException", "The table does not have the specified index: byV")
	u, err := db.UpdateTable(ctx, &dynamodb.UpdateTableInput{TableName: aws.String("orders"), BillingMode: types.BillingModeProvisioned,
		ProvisionedThroughput: &types.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(5), WriteCapacityUnits: aws.Int64(7)},
		StreamSpecification:   &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: types.StreamViewTypeKeysOnly}})
	if err != nil || *u.TableDescription.ProvisionedThroughput.WriteCapacityUnits != 7 || u.TableDescription.LatestStreamArn == nil {
		t.Fatalf("update %+v %v", u, err)
	}
	_, err = db.UpdateTable(ctx, &dynamodb.UpdateTableInput{TableName: aws.String("orders")})
	wantErr(t, err, "ValidationException", "At least one of ProvisionedThroughput")
	// a refusal after a change undoes the change: no stream is switched off
	_, err = db.UpdateTable(ctx, &dynamodb.UpdateTableInput{TableName: aws.String("orders"),
		StreamSpecification:         &types.StreamSpecification{StreamEnabled: aws.Bool(false)},
		GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{{Delete: &types.DeleteGlobalSecondaryIndexAction{IndexName: aws.String("nope")}}}})
	wantErr(t, err, "ResourceNotFoundException", "Index: nope not found")
	if d, _ := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("orders")}); d.Table.StreamSpecification == nil || !*d.Table.StreamSpecification.StreamEnabled {
		t.Fatalf("a refused UpdateTable changed the stream: %+v", d.Table.StreamSpecification)
	}
	ds, err := streamsClient(db).DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: u.TableDescription.LatestStreamArn})
	if err != nil || ds.StreamDescription.StreamStatus != stypes.StreamStatusEnabled {
		t.Fatalf("a refused UpdateTable closed the stream: %+v %v", ds, err)
	}

	arn := d.Table.TableArn
	if _, err := db.TagResource(ctx, &dynamodb.TagResourceInput{ResourceArn: arn, Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("a")}, {Key: aws.String("env"), Value: aws.String("dev")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.UntagResource(ctx, &dynamodb.UntagResourceInput{ResourceArn: arn, TagKeys: []string{"env"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := db.ListTagsOfResource(ctx, &dynamodb.ListTagsOfResourceInput{ResourceArn: arn})
	if err != nil || len(tags.Tags) != 1 || *tags.Tags[0].Key != "team" {
		t.Fatalf("tags %+v %v", tags, err)
	}
	_, err = db.ListTagsOfResource(ctx, &dynamodb.ListTagsOfResourceInput{ResourceArn: aws.String("arn:aws:dynamodb:us-east-1:000000000000:table/nope")})
	wantErr(t, err, "ResourceNotFoundException", "not found")

	if _, err := db.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String("orders")}); err != nil {
		t.Fatal(err)
	}
	createTable(t, db, "orders")
	sc, err := db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("orders")})
	if err != nil || sc.Count != 0 {
		t.Fatalf("a recreated table has %d items (%v)", sc.Count, err)
	}
}
