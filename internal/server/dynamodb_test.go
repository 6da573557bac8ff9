package server_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/cloudlet/cloudlet/internal/server"
)

func dynamoClient(s *server.Server, id, secret, token string) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(s.APIURL()),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: token}, nil
		})})
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// The DynamoDB control plane with the Go SDK: tables are created,
// described, listed page by page, refused twice, kept across a restart and
// deleted; bad requests get DynamoDB's validation messages; a role without
// dynamodb permissions is refused.
func TestDynamoDBTables(t *testing.T) {
	data := t.TempDir()
	s := startWith(t, server.Options{DataDir: data})
	ctx := context.Background()
	db := dynamoClient(s, "test", "test", "")
	in := &dynamodb.CreateTableInput{
		TableName:   aws.String("orders"),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("sk"), AttributeType: types.ScalarAttributeTypeN},
			{AttributeName: aws.String("email"), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String("sk"), KeyType: types.KeyTypeRange},
		},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName:  aws.String("byEmail"),
			KeySchema:  []types.KeySchemaElement{{AttributeName: aws.String("email"), KeyType: types.KeyTypeHash}},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		}},
		StreamSpecification: &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: types.StreamViewTypeNewAndOldImages},
	}
	out, err := db.CreateTable(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	d := out.TableDescription
	if *d.TableArn != "arn:aws:dynamodb:us-east-1:000000000000:table/orders" || d.TableStatus != types.TableStatusActive ||
		d.BillingModeSummary.BillingMode != types.BillingModePayPerRequest || *d.GlobalSecondaryIndexes[0].IndexArn != *d.TableArn+"/index/byEmail" ||
		!strings.HasPrefix(*d.LatestStreamArn, *d.TableArn+"/stream/") {
		t.Fatalf("created %+v", d)
	}
	if _, err := db.CreateTable(ctx, in); apiCode(err) != "ResourceInUseException" || !strings.Contains(err.Error(), "Table already exists: orders") {
		t.Fatalf("create twice: %v", err)
	}
	for _, name := range []string{"a-table", "b-table"} {
		if _, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{TableName: aws.String(name),
			AttributeDefinitions:  []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
			KeySchema:             []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
			ProvisionedThroughput: &types.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(5), WriteCapacityUnits: aws.Int64(5)},
		}); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	var start *string
	for pages := 0; pages < 10; pages++ {
		lt, err := db.ListTables(ctx, &dynamodb.ListTablesInput{Limit: aws.Int32(2), ExclusiveStartTableName: start})
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, lt.TableNames...)
		if start = lt.LastEvaluatedTableName; start == nil {
			break
		}
	}
	if strings.Join(names, ",") != "a-table,b-table,orders" {
		t.Fatalf("listed %v", names)
	}

	for _, c := range []struct {
		in   *dynamodb.CreateTableInput
		want string
	}{
		{&dynamodb.CreateTableInput{TableName: aws.String("no-throughput"),
			AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
			KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}}},
			"One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED"},
		{&dynamodb.CreateTableInput{TableName: aws.String("undefined-key"), BillingMode: types.BillingModePayPerRequest,
			AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
			KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}}},
			"One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [pk], AttributeDefinitions: [id]"},
		{&dynamodb.CreateTableInput{TableName: aws.String("x"), BillingMode: types.BillingModePayPerRequest,
			AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
			KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}}},
			"Value 'x' at 'tableName' failed to satisfy constraint: Member must have length greater than or equal to 3"},
	} {
		_, err := db.CreateTable(ctx, c.in)
		if apiCode(err) != "ValidationException" || !strings.Contains(err.Error(), c.want) {
			t.Errorf("CreateTable %s: %v, want %q", *c.in.TableName, err, c.want)
		}
	}

	// A role session with no dynamodb permission is refused, in DynamoDB's shape.
	if _, err := s.Deploy(copyDir(t, "testdata/iam"), ""); err != nil {
		t.Fatal(err)
	}
	as, err := sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(s.APIURL()),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, nil
		})}).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::000000000000:role/iam-dev-caller-us-east-1-lambdaRole"), RoleSessionName: aws.String("dynamo-test")})
	if err != nil {
		t.Fatal(err)
	}
	c := as.Credentials
	_, err = dynamoClient(s, *c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken).DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("orders")})
	if apiCode(err) != "AccessDeniedException" || !strings.Contains(err.Error(), "is not authorized to perform: dynamodb:DescribeTable on resource: arn:aws:dynamodb:us-east-1:000000000000:table/orders") {
		t.Fatalf("DescribeTable without permission: %v", err)
	}

	// Time to live: recorded with the table, described apart from it.
	if _, err := db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: aws.String("orders"),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{Enabled: aws.Bool(true), AttributeName: aws.String("expiresAt")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: aws.String("orders"),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{Enabled: aws.Bool(true), AttributeName: aws.String("expiresAt")}}); apiCode(err) != "ValidationException" ||
		!strings.Contains(err.Error(), "TimeToLive is already enabled") {
		t.Fatalf("enable TTL twice: %v", err)
	}
	if ep, err := db.DescribeEndpoints(ctx, &dynamodb.DescribeEndpointsInput{}); err != nil || len(ep.Endpoints) != 1 ||
		*ep.Endpoints[0].Address != strings.TrimPrefix(s.APIURL(), "http://") {
		t.Fatalf("DescribeEndpoints: %v %v", ep, err)
	}

	// Kept across a restart; then deleted.
	s.Close()
	s = startWith(t, server.Options{DataDir: data})
	db = dynamoClient(s, "test", "test", "")
	dt, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("orders")})
	if err != nil || *dt.Table.TableId != *d.TableId || len(dt.Table.KeySchema) != 2 {
		t.Fatalf("after a restart: %v %v", dt, err)
	}
	ttl, err := db.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String("orders")})
	if err != nil || ttl.TimeToLiveDescription.TimeToLiveStatus != types.TimeToLiveStatusEnabled || *ttl.TimeToLiveDescription.AttributeName != "expiresAt" {
		t.Fatalf("DescribeTimeToLive after a restart: %v %v", ttl, err)
	}
	ttl, err = db.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String("a-table")})
	if err != nil || ttl.TimeToLiveDescription.TimeToLiveStatus != types.TimeToLiveStatusDisabled {
		t.Fatalf("DescribeTimeToLive of a table without: %v %v", ttl, err)
	}
	del, err := db.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String("orders")})
	if err != nil || del.TableDescription.TableStatus != types.TableStatusDeleting {
		t.Fatalf("delete: %v %v", del, err)
	}
	if _, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("orders")}); apiCode(err) != "ResourceNotFoundException" ||
		!strings.Contains(err.Error(), "Requested resource not found: Table: orders not found") {
		t.Fatalf("describe a deleted table: %v", err)
	}
	if _, err := db.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String("orders")}); apiCode(err) != "ResourceNotFoundException" {
		t.Fatalf("delete twice: %v", err)
	}
}
