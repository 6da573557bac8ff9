package dynamodb_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	stypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
)

func streamsClient(db *dynamodb.Client) *dynamodbstreams.Client {
	o := db.Options()
	return dynamodbstreams.New(dynamodbstreams.Options{Region: o.Region, BaseEndpoint: o.BaseEndpoint, Credentials: o.Credentials})
}

// Every write is in the stream, in order, with the images its view type
// keeps; the Streams API lists, describes and reads it with every
// iterator type; a refused write leaves no record.
func TestStreams(t *testing.T) {
	db, _ := serve(t, t.TempDir())
	ctx := context.Background()
	_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{TableName: aws.String("users"), BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
		StreamSpecification:  &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: types.StreamViewTypeNewAndOldImages}})
	if err != nil {
		t.Fatal(err)
	}
	id := map[string]types.AttributeValue{"id": s("u1")}
	db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("users"), Item: map[string]types.AttributeValue{"id": s("u1"), "n": n("1")}})
	db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String("users"), Key: id, UpdateExpression: aws.String("SET n = n + :one"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": n("1")}})
	_, err = db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("users"), Item: id, ConditionExpression: aws.String("attribute_not_exists(id)")})
	wantErr(t, err, "ConditionalCheckFailedException", "")
	db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String("users"), Key: id})
	db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String("users"), Key: id}) // nothing there: no record

	st := streamsClient(db)
	ls, err := st.ListStreams(ctx, &dynamodbstreams.ListStreamsInput{TableName: aws.String("users")})
	if err != nil || len(ls.Streams) != 1 {
		t.Fatalf("list streams %+v %v", ls, err)
	}
	arn := ls.Streams[0].StreamArn
	ds, err := st.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: arn})
	if err != nil || ds.StreamDescription.StreamStatus != stypes.StreamStatusEnabled || len(ds.StreamDescription.Shards) != 1 {
		t.Fatalf("describe %+v %v", ds, err)
	}
	shard := ds.StreamDescription.Shards[0].ShardId
	read := func(typ stypes.ShardIteratorType, seq *string) []stypes.Record {
		it, err := st.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{StreamArn: arn, ShardId: shard, ShardIteratorType: typ, SequenceNumber: seq})
		if err != nil {
			t.Fatal(err)
		}
		out, err := st.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: it.ShardIterator})
		if err != nil {
			t.Fatal(err)
		}
		return out.Records
	}
	recs := read(stypes.ShardIteratorTypeTrimHorizon, nil)
	if len(recs) != 3 || recs[0].EventName != stypes.OperationTypeInsert || recs[1].EventName != stypes.OperationTypeModify || recs[2].EventName != stypes.OperationTypeRemove {
		t.Fatalf("records %+v", recs)
	}
	mod := recs[1].Dynamodb
	if mod.OldImage["n"].(*stypes.AttributeValueMemberN).Value != "1" || mod.NewImage["n"].(*stypes.AttributeValueMemberN).Value != "2" ||
		mod.Keys["id"].(*stypes.AttributeValueMemberS).Value != "u1" || *recs[1].EventSource != "aws:dynamodb" {
		t.Fatalf("modify record %+v", mod)
	}
	if recs[2].Dynamodb.NewImage != nil || recs[2].Dynamodb.OldImage == nil {
		t.Fatalf("remove record %+v", recs[2].Dynamodb)
	}
	if got := read(stypes.ShardIteratorTypeAfterSequenceNumber, recs[1].Dynamodb.SequenceNumber); len(got) != 1 || got[0].EventName != stypes.OperationTypeRemove {
		t.Fatalf("after sequence number: %+v", got)
	}
	if got := read(stypes.ShardIteratorTypeAtSequenceNumber, recs[1].Dynamodb.SequenceNumber); len(got) != 2 {
		t.Fatalf("at sequence number: %+v", got)
	}
	if got := read(stypes.ShardIteratorTypeLatest, nil); len(got) != 0 {
		t.Fatalf("latest: %+v", got)
	}
}

// TTL deletes expired items in the background with a REMOVE record by
// the DynamoDB service, and leaves items whose time has not come.
func TestTTLExpiry(t *testing.T) {
	db, svc := serve(t, t.TempDir())
	ctx := context.Background()
	_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{TableName: aws.String("sessions"), BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
		StreamSpecification:  &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: types.StreamViewTypeKeysOnly}})
	if err != nil {
		t.Fatal(err)
	}
	past := strconv.FormatInt(time.Now().Add(-time.Hour).Unix(), 10)
	future := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
	db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("sessions"), Item: map[string]types.AttributeValue{"id": s("old"), "exp": n(past)}})
	if _, err := db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: aws.String("sessions"),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{Enabled: aws.Bool(true), AttributeName: aws.String("exp")}}); err != nil {
		t.Fatal(err)
	}
	db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("sessions"), Item: map[string]types.AttributeValue{"id": s("old2"), "exp": n(past + ".5")}})
	db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("sessions"), Item: map[string]types.AttributeValue{"id": s("new"), "exp": n(future)}})
	db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("sessions"), Item: map[string]types.AttributeValue{"id": s("str"), "exp": s(past)}})
	if n, err := svc.Sweep(ctx); err != nil || n != 2 {
		sc, _ := db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("sessions")})
		t.Fatalf("sweep deleted %d (%v), want 2; left %v", n, err, sc.Items)
	}
	sc, _ := db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("sessions")})
	left := map[string]bool{}
	for _, it := range sc.Items {
		left[ss(it, "id")] = true
	}
	if len(left) != 2 || !left["new"] || !left["str"] {
		t.Fatalf("after the sweep: %v", left)
	}
	sc2 := streamsClient(db)
	ls, _ := sc2.ListStreams(ctx, &dynamodbstreams.ListStreamsInput{TableName: aws.String("sessions")})
	ds, _ := sc2.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: ls.Streams[0].StreamArn})
	it, _ := sc2.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{StreamArn: ls.Streams[0].StreamArn, ShardId: ds.StreamDescription.Shards[0].ShardId, ShardIteratorType: stypes.ShardIteratorTypeTrimHorizon})
	out, err := sc2.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: it.ShardIterator})
	if err != nil {
		t.Fatal(err)
	}
	removes := 0
	for _, r := range out.Records {
		if r.EventName == stypes.OperationTypeRemove {
			removes++
			if r.UserIdentity == nil || *r.UserIdentity.PrincipalId != "dynamodb.amazonaws.com" || *r.UserIdentity.Type != "Service" {
				t.Fatalf("a TTL removal by %+v", r.UserIdentity)
			}
		}
	}
	if removes != 2 {
		t.Fatalf("%d REMOVE records, want 2", removes)
	}
}
