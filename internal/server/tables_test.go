package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/cloudlet/cloudlet/internal/server"
)

func post(t *testing.T, url, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// auditCount is how many audit records the stream function wrote, by
// event name.
func auditCount(t *testing.T, db *dynamodb.Client) map[string]int {
	t.Helper()
	out, err := db.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String("users-dev-audit")})
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, it := range out.Items {
		n[it["event"].(*types.AttributeValueMemberS).Value]++
	}
	return n
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The seed's pattern with real tables: the deploy creates the tables of
// resources.Resources, the functions find them through !Ref in their
// environment and use them through the DocumentClient and boto3 that
// Lambda ships (no endpoint in their code), under their roles; the stream
// function audits each change once, also across a restart.
func TestTablesFromServerlessYml(t *testing.T) {
	data := t.TempDir()
	dir := copyDir(t, "testdata/users")
	s := startWith(t, server.Options{DataDir: data})
	if _, err := s.Deploy(dir, ""); err != nil {
		t.Fatal(err)
	}
	db := dynamoClient(s, "test", "test", "")
	ctx := context.Background()
	tables, err := db.ListTables(ctx, &dynamodb.ListTablesInput{})
	if err != nil || len(tables.TableNames) != 2 || !strings.HasPrefix(tables.TableNames[0], "users-dev-UsersTable-") || tables.TableNames[1] != "users-dev-audit" {
		t.Fatalf("tables %v %v", tables, err)
	}
	users := tables.TableNames[0]
	cfg, err := lambdaClient(s, "test").GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("users-dev-create")})
	if err != nil || cfg.Environment.Variables["USERS_TABLE"] != users {
		t.Fatalf("USERS_TABLE %v %v", cfg, err)
	}

	if code, body := post(t, s.GatewayURL()+"/users", `{"id":"u1","name":"Ann","email":"ann@example.com"}`); code != 201 {
		t.Fatalf("POST /users: %d %s", code, body)
	}
	if code, body := post(t, s.GatewayURL()+"/users", `{"id":"u1","name":"Again"}`); code != 409 {
		t.Fatalf("POST /users again: %d %s", code, body)
	}
	if code, body, _ := get(t, s.GatewayURL()+"/users/u1"); code != 200 || !strings.Contains(body, `"name":"Ann"`) {
		t.Fatalf("GET /users/u1: %d %s", code, body)
	}
	if code, body, _ := get(t, s.GatewayURL()+"/users/ann@example.com"); code != 200 || !strings.Contains(body, `"id":"u1"`) {
		t.Fatalf("GET by email: %d %s", code, body)
	}
	if code, _, _ := get(t, s.GatewayURL()+"/users/nobody"); code != 404 {
		t.Fatalf("GET /users/nobody: %d", code)
	}
	out, err := lambdaClient(s, "test").Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("users-dev-pyget"), Payload: []byte(`{"id":"u1"}`)})
	var py struct{ Name string }
	if err != nil || out.FunctionError != nil || json.Unmarshal(out.Payload, &py) != nil || py.Name != "Ann" {
		t.Fatalf("boto3: %s %v", out.Payload, err)
	}
	waitFor(t, "the audit record", func() bool { return auditCount(t, db)["INSERT"] == 1 })
	rec, _ := db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("users-dev-audit")})
	if src := rec.Items[0]["source"].(*types.AttributeValueMemberS).Value; !strings.HasPrefix(src, "arn:aws:dynamodb:us-east-1:000000000000:table/"+users+"/stream/") {
		t.Fatalf("eventSourceARN %q", src)
	}

	// a restart: the item is there, the audit is not repeated, and a new
	// change is audited
	s.Close()
	s = startWith(t, server.Options{DataDir: data})
	if code, body, _ := get(t, s.GatewayURL()+"/users/u1"); code != 200 || !strings.Contains(body, `"name":"Ann"`) {
		t.Fatalf("GET /users/u1 after the restart: %d %s", code, body)
	}
	db = dynamoClient(s, "test", "test", "")
	if code, body := post(t, s.GatewayURL()+"/users", `{"id":"u2","name":"Bo"}`); code != 201 {
		t.Fatalf("POST /users after the restart: %d %s", code, body)
	}
	waitFor(t, "the second audit record", func() bool { return auditCount(t, db)["INSERT"] == 2 })
	if n := auditCount(t, db); n["INSERT"] != 2 || len(n) != 1 {
		t.Fatalf("audit after the restart %v", n)
	}
}

// DynamoDB's condition keys reach the policies: dynamodb:LeadingKeys
// keeps a role to its tenant's items, dynamodb:Attributes refuses a write
// of an attribute.
func TestDynamoDBConditionKeys(t *testing.T) {
	s := start(t)
	if _, err := s.Deploy(copyDir(t, "testdata/tenants"), ""); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	as, err := sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(s.APIURL()),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, nil
		})}).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::000000000000:role/tenants-dev-us-east-1-lambdaRole"), RoleSessionName: aws.String("tenant-test")})
	if err != nil {
		t.Fatal(err)
	}
	c := as.Credentials
	db := dynamoClient(s, *c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)
	item := func(tenant string, extra ...string) map[string]types.AttributeValue {
		it := map[string]types.AttributeValue{"tenant": &types.AttributeValueMemberS{Value: tenant}, "id": &types.AttributeValueMemberS{Value: "1"}}
		for _, e := range extra {
			it[e] = &types.AttributeValueMemberS{Value: "x"}
		}
		return it
	}
	if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("tenants"), Item: item("tenant-a", "name")}); err != nil {
		t.Fatalf("own tenant: %v", err)
	}
	_, err = db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("tenants"), Item: item("tenant-b")})
	if apiCode(err) != "AccessDeniedException" || !strings.Contains(err.Error(), "dynamodb:PutItem on resource: arn:aws:dynamodb:us-east-1:000000000000:table/tenants") {
		t.Fatalf("another tenant: %v", err)
	}
	_, err = db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("tenants"), Item: item("tenant-a", "secret")})
	if apiCode(err) != "AccessDeniedException" || !strings.Contains(err.Error(), "explicit deny") {
		t.Fatalf("the secret attribute: %v", err)
	}
	if out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("tenants"), Key: item("tenant-a")}); err != nil || out.Item["name"] == nil {
		t.Fatalf("get own: %v %v", out, err)
	}
	_, err = db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("tenants"), Key: item("tenant-b")})
	if apiCode(err) != "AccessDeniedException" {
		t.Fatalf("get another: %v", err)
	}
	q := func(tenant string) error {
		_, err := db.Query(ctx, &dynamodb.QueryInput{TableName: aws.String("tenants"), KeyConditionExpression: aws.String("tenant = :t"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberS{Value: tenant}}})
		return err
	}
	if err := q("tenant-a"); err != nil {
		t.Fatalf("query own: %v", err)
	}
	if err := q("tenant-b"); apiCode(err) != "AccessDeniedException" {
		t.Fatalf("query another: %v", err)
	}
	if _, err := db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("tenants")}); apiCode(err) != "AccessDeniedException" {
		t.Fatalf("scan: %v", err)
	}
	// a local index has the table's partition key: the same limits
	qi := func(tenant string) error {
		_, err := db.Query(ctx, &dynamodb.QueryInput{TableName: aws.String("tenants"), IndexName: aws.String("byName"),
			KeyConditionExpression:    aws.String("tenant = :t"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberS{Value: tenant}}})
		return err
	}
	if err := qi("tenant-a"); err != nil {
		t.Fatalf("index query own: %v", err)
	}
	if err := qi("tenant-b"); apiCode(err) != "AccessDeniedException" {
		t.Fatalf("index query another: %v", err)
	}
	// PartiQL: the same keys
	pq := func(stmt string) error {
		_, err := db.ExecuteStatement(ctx, &dynamodb.ExecuteStatementInput{Statement: aws.String(stmt)})
		return err
	}
	if err := pq(`SELECT * FROM tenants WHERE tenant = 'tenant-a'`); err != nil {
		t.Fatalf("PartiQL own: %v", err)
	}
	if err := pq(`SELECT * FROM tenants WHERE tenant = 'tenant-b'`); apiCode(err) != "AccessDeniedException" {
		t.Fatalf("PartiQL another: %v", err)
	}
	if err := pq(`UPDATE tenants SET secret = 'x' WHERE tenant = 'tenant-a' AND id = '1'`); apiCode(err) != "AccessDeniedException" {
		t.Fatalf("PartiQL update of the secret attribute: %v", err)
	}
	if err := pq(`UPDATE tenants SET name = 'y' WHERE tenant = 'tenant-a' AND id = '1'`); err != nil {
		t.Fatalf("PartiQL update of another attribute: %v", err)
	}
}
