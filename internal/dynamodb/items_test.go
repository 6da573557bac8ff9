package dynamodb_test

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

type order struct {
	PK     string            `dynamodbav:"pk"`
	SK     int               `dynamodbav:"sk"`
	Email  string            `dynamodbav:"email,omitempty"`
	Total  float64           `dynamodbav:"total"`
	Tags   []string          `dynamodbav:"tags,stringset,omitempty"`
	Lines  []map[string]any  `dynamodbav:"parts,omitempty"`
	Meta   map[string]string `dynamodbav:"meta,omitempty"`
	Note   string            `dynamodbav:"note"`
	Paid   bool              `dynamodbav:"paid"`
	Absent *string           `dynamodbav:"absent"`
}

// Items round-trip through the Go SDK's attributevalue: every type, empty
// strings in non-key attributes, numbers in canonical form; GetItem with a
// projection; PutItem's ALL_OLD; DeleteItem's condition.
func TestPutGetDelete(t *testing.T) {
	db, _ := serve(t, t.TempDir())
	ctx := context.Background()
	createTable(t, db, "orders")
	o := order{PK: "c#1", SK: 7, Email: "a@example.com", Total: 12.5, Tags: []string{"x", "y"},
		Lines: []map[string]any{{"sku": "s1", "qty": 2}}, Meta: map[string]string{"src": "web"}, Note: "", Paid: true}
	item, err := attributevalue.MarshalMap(o)
	if err != nil {
		t.Fatal(err)
	}
	item["raw"] = &types.AttributeValueMemberB{Value: []byte{0, 1, 2, 255}}
	item["big"] = &types.AttributeValueMemberN{Value: "001.2300"}
	if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("orders"), Item: item}); err != nil {
		t.Fatal(err)
	}
	got, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("orders"), Key: key("c#1", "7"), ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	var back order
	if err := attributevalue.UnmarshalMap(got.Item, &back); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(back) != fmt.Sprint(o) {
		t.Fatalf("got %+v, want %+v", back, o)
	}
	if b := got.Item["raw"].(*types.AttributeValueMemberB).Value; string(b) != "\x00\x01\x02\xff" {
		t.Fatalf("binary %v", b)
	}
	if v := got.Item["big"].(*types.AttributeValueMemberN).Value; v != "1.23" {
		t.Fatalf("number came back as %q, want 1.23", v)
	}
	if _, ok := got.Item["absent"].(*types.AttributeValueMemberNULL); !ok {
		t.Fatalf("NULL came back as %T", got.Item["absent"])
	}

	// projection: top-level, nested map and list element
	proj, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("orders"), Key: key("c#1", "7"),
		ProjectionExpression: aws.String("#t, meta.src, parts[0].sku, #n"), ExpressionAttributeNames: map[string]string{"#n": "note", "#t": "total"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(proj.Item) != 4 || proj.Item["meta"].(*types.AttributeValueMemberM).Value["src"].(*types.AttributeValueMemberS).Value != "web" ||
		len(proj.Item["parts"].(*types.AttributeValueMemberL).Value[0].(*types.AttributeValueMemberM).Value) != 1 {
		t.Fatalf("projection %v", proj.Item)
	}

	// ALL_OLD on replace; attribute_not_exists refuses a second create
	o.Total = 20
	item, _ = attributevalue.MarshalMap(o)
	put, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("orders"), Item: item, ReturnValues: types.ReturnValueAllOld})
	if err != nil || put.Attributes["total"].(*types.AttributeValueMemberN).Value != "12.5" {
		t.Fatalf("ALL_OLD %v %v", put, err)
	}
	_, err = db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("orders"), Item: item,
		ConditionExpression: aws.String("attribute_not_exists(pk)"), ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld})
	var ccf *types.ConditionalCheckFailedException
	if !errorsAs(err, &ccf) || ccf.Item["total"].(*types.AttributeValueMemberN).Value != "20" {
		t.Fatalf("conditional put: %v", err)
	}

	// delete with a failing, then a passing condition
	_, err = db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String("orders"), Key: key("c#1", "7"),
		ConditionExpression: aws.String("#t > :t"), ExpressionAttributeNames: map[string]string{"#t": "total"}, ExpressionAttributeValues: map[string]types.AttributeValue{":t": n("100")}})
	wantErr(t, err, "ConditionalCheckFailedException", "The conditional request failed")
	del, err := db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String("orders"), Key: key("c#1", "7"),
		ConditionExpression: aws.String("paid = :p"), ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberBOOL{Value: true}},
		ReturnValues: types.ReturnValueAllOld})
	if err != nil || del.Attributes["pk"] == nil {
		t.Fatalf("delete %v %v", del, err)
	}
	if got, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("orders"), Key: key("c#1", "7")}); err != nil || got.Item != nil {
		t.Fatalf("after delete: %v %v", got.Item, err)
	}
}

// UpdateItem's expression language, built with the SDK's expression
// package: SET with arithmetic, if_not_exists and list_append; REMOVE of
// an attribute and a list element; ADD to a number and a set; DELETE from
// a set; every ReturnValues.
func TestUpdateItem(t *testing.T) {
	db, _ := serve(t, t.TempDir())
	ctx := context.Background()
	createTable(t, db, "orders")
	update := func(u expression.UpdateBuilder, cond *expression.ConditionBuilder, ret types.ReturnValue) (map[string]types.AttributeValue, error) {
		b := expression.NewBuilder().WithUpdate(u)
		if cond != nil {
			b = b.WithCondition(*cond)
		}
		e, err := b.Build()
		if err != nil {
			t.Fatal(err)
		}
		out, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String("orders"), Key: key("u", "1"),
			UpdateExpression: e.Update(), ConditionExpression: e.Condition(), ExpressionAttributeNames: e.Names(),
			ExpressionAttributeValues: e.Values(), ReturnValues: ret})
		if err != nil {
			return nil, err
		}
		return out.Attributes, nil
	}
	// creates the item
	attrs, err := update(expression.Set(expression.Name("count"), expression.IfNotExists(expression.Name("count"), expression.Value(10))).
		Set(expression.Name("log"), expression.Value([]string{"a"})).
		Add(expression.Name("tags"), expression.Value(&types.AttributeValueMemberSS{Value: []string{"x", "y"}})).
		Set(expression.Name("profile"), expression.Value(map[string]any{"name": "Ann"})), nil, types.ReturnValueAllNew)
	if err != nil {
		t.Fatal(err)
	}
	if attrs["count"].(*types.AttributeValueMemberN).Value != "10" || attrs["pk"].(*types.AttributeValueMemberS).Value != "u" {
		t.Fatalf("ALL_NEW %v", attrs)
	}
	cond := expression.Name("count").GreaterThanEqual(expression.Value(10)).And(expression.Contains(expression.Name("tags"), "x"))
	attrs, err = update(expression.Set(expression.Name("count"), expression.Name("count").Plus(expression.Value(5))).
		Set(expression.Name("log"), expression.ListAppend(expression.Name("log"), expression.Value([]string{"b", "c"}))).
		Set(expression.Name("profile.city"), expression.Value("Oslo")).
		Delete(expression.Name("tags"), expression.Value(&types.AttributeValueMemberSS{Value: []string{"x"}})), &cond, types.ReturnValueUpdatedNew)
	if err != nil {
		t.Fatal(err)
	}
	if attrs["count"].(*types.AttributeValueMemberN).Value != "15" || len(attrs["log"].(*types.AttributeValueMemberL).Value) != 3 ||
		attrs["profile"].(*types.AttributeValueMemberM).Value["city"] == nil || attrs["profile"].(*types.AttributeValueMemberM).Value["name"] != nil ||
		len(attrs["tags"].(*types.AttributeValueMemberSS).Value) != 1 {
		t.Fatalf("UPDATED_NEW %v", attrs)
	}
	attrs, err = update(expression.Remove(expression.Name("log[0]")).Add(expression.Name("count"), expression.Value(-20)), nil, types.ReturnValueUpdatedOld)
	if err != nil {
		t.Fatal(err)
	}
	if attrs["count"].(*types.AttributeValueMemberN).Value != "15" || len(attrs["log"].(*types.AttributeValueMemberL).Value) != 1 {
		t.Fatalf("UPDATED_OLD %v", attrs)
	}
	got, _ := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("orders"), Key: key("u", "1")})
	if got.Item["count"].(*types.AttributeValueMemberN).Value != "-5" || len(got.Item["log"].(*types.AttributeValueMemberL).Value) != 2 {
		t.Fatalf("after update %v", got.Item)
	}
	// the condition fails: nothing changes
	never := expression.Name("count").GreaterThan(expression.Value(100))
	_, err = update(expression.Set(expression.Name("count"), expression.Value(0)), &never, types.ReturnValueNone)
	wantErr(t, err, "ConditionalCheckFailedException", "The conditional request failed")

	// errors as DynamoDB gives them
	for _, c := range []struct {
		expr   string
		names  map[string]string
		values map[string]types.AttributeValue
		msg    string
	}{
		{"SET pk = :v", nil, map[string]types.AttributeValue{":v": s("x")}, "Cannot update attribute pk. This attribute is part of the key"},
		{"SET status = :v", nil, map[string]types.AttributeValue{":v": s("x")}, "Attribute name is a reserved keyword; reserved keyword: status"},
		{"SET a = :v", nil, map[string]types.AttributeValue{":v": s("x"), ":w": s("y")}, "Value provided in ExpressionAttributeValues unused in expressions: keys: {:w}"},
		{"SET a = :nope", nil, map[string]types.AttributeValue{":v": s("x")}, "An expression attribute value used in expression is not defined; attribute value: :nope"},
		{"SET #a = :v", map[string]string{"#b": "b"}, map[string]types.AttributeValue{":v": s("x")}, "An expression attribute name used in the document path is not defined; attribute name: #a"},
		{"SET a = :v, a.b = :v", nil, map[string]types.AttributeValue{":v": s("x")}, "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a, b]"},
		{"SET a = :v SET b = :v", nil, map[string]types.AttributeValue{":v": s("x")}, `The "SET" section can only be used once in an update expression;`},
		{"SET a = :v +", nil, map[string]types.AttributeValue{":v": s("x")}, `Syntax error; token: "<EOF>"`},
		{"ADD a :v", nil, map[string]types.AttributeValue{":v": s("x")}, "Incorrect operand type for operator or function; operator: ADD, operand type: STRING"},
		{"SET profile.city = profile.city + :v", nil, map[string]types.AttributeValue{":v": n("1")}, "An operand in the update expression has an incorrect data type"},
		{"SET nosuch.x = :v", nil, map[string]types.AttributeValue{":v": n("1")}, "The document path provided in the update expression is invalid for update"},
		{"SET a = nosuch + :v", nil, map[string]types.AttributeValue{":v": n("1")}, "The provided expression refers to an attribute that does not exist in the item"},
		{"SET a = :v", nil, map[string]types.AttributeValue{":v": n("1e126")}, "Number overflow. Attempting to store a number with magnitude larger than supported range"},
		{"SET a = :v", nil, map[string]types.AttributeValue{":v": &types.AttributeValueMemberSS{Value: []string{}}}, "An string set  may not be empty"},
	} {
		_, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String("orders"), Key: key("u", "1"),
			UpdateExpression: aws.String(c.expr), ExpressionAttributeNames: c.names, ExpressionAttributeValues: c.values})
		wantErr(t, err, "ValidationException", c.msg)
	}
	if got2, _ := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("orders"), Key: key("u", "1")}); !reflect.DeepEqual(plain(t, got2.Item), plain(t, got.Item)) {
		t.Fatalf("a refused update changed the item: %v", got2.Item)
	}
}

// Keys are checked against the schema with DynamoDB's messages; items
// over 400 KB are refused; a missing table is ResourceNotFound.
func TestItemValidation(t *testing.T) {
	db, _ := serve(t, t.TempDir())
	ctx := context.Background()
	createTable(t, db, "orders")
	put := func(item map[string]types.AttributeValue) error {
		_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("orders"), Item: item})
		return err
	}
	wantErr(t, put(map[string]types.AttributeValue{"pk": s("a")}), "ValidationException", "One or more parameter values were invalid: Missing the key sk in the item")
	wantErr(t, put(map[string]types.AttributeValue{"pk": s("a"), "sk": s("1")}), "ValidationException", "Type mismatch for key sk expected: N actual: S")
	wantErr(t, put(map[string]types.AttributeValue{"pk": s(""), "sk": n("1")}), "ValidationException", "The AttributeValue for a key attribute cannot contain an empty string value. Key: pk")
	wantErr(t, put(map[string]types.AttributeValue{"pk": s("a"), "sk": n("1"), "email": n("1")}), "ValidationException", "Type mismatch for Index Key email Expected: S Actual: N IndexName: byEmail")
	wantErr(t, put(map[string]types.AttributeValue{"pk": s("a"), "sk": n("x")}), "ValidationException", "The parameter cannot be converted to a numeric value: x")
	wantErr(t, put(map[string]types.AttributeValue{"pk": s("a"), "sk": n("1"), "d": &types.AttributeValueMemberNS{Value: []string{"1", "1.0"}}}), "ValidationException", "Input collection contains duplicates")
	wantErr(t, put(map[string]types.AttributeValue{"pk": s("a"), "sk": n("1"), "big": s(strings.Repeat("x", 400*1024))}), "ValidationException", "Item size has exceeded the maximum allowed size")
	if err := put(map[string]types.AttributeValue{"pk": s("a"), "sk": n("1"), "big": s(strings.Repeat("x", 399*1024))}); err != nil {
		t.Fatalf("an item under 400 KB: %v", err)
	}
	_, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("orders"), Key: map[string]types.AttributeValue{"pk": s("a")}})
	wantErr(t, err, "ValidationException", "The provided key element does not match the schema")
	_, err = db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("orders"), Key: map[string]types.AttributeValue{"pk": s("a"), "sk": n("1"), "x": s("y")}})
	wantErr(t, err, "ValidationException", "The provided key element does not match the schema")
	_, err = db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("nope"), Key: key("a", "1")})
	wantErr(t, err, "ResourceNotFoundException", "Requested resource not found")
	// numbers are keys by value: 1e0 is the item put as 1
	got, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("orders"), Key: key("a", "1e0"), ProjectionExpression: aws.String("sk")})
	if err != nil || got.Item["sk"].(*types.AttributeValueMemberN).Value != "1" {
		t.Fatalf("number key by value: %v %v", got, err)
	}
	// capacity as DynamoDB counts it: 399 KB is 399 write units, 100 read units strongly consistent
	out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("orders"), Key: key("a", "1"), ConsistentRead: aws.Bool(true),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	if err != nil || *out.ConsumedCapacity.CapacityUnits != 100 {
		t.Fatalf("consumed %v %v", out.ConsumedCapacity, err)
	}
}

// The legacy parameters older code still sends: Expected,
// AttributeUpdates, AttributesToGet.
func TestLegacyParameters(t *testing.T) {
	db, _ := serve(t, t.TempDir())
	ctx := context.Background()
	createTable(t, db, "orders")
	if _, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String("orders"), Key: key("l", "1"),
		AttributeUpdates: map[string]types.AttributeValueUpdate{
			"n":    {Action: types.AttributeActionAdd, Value: n("2")},
			"name": {Action: types.AttributeActionPut, Value: s("x")},
		},
		Expected: map[string]types.ExpectedAttributeValue{"pk": {Exists: aws.Bool(false)}}}); err != nil {
		t.Fatal(err)
	}
	_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("orders"), Item: key("l", "1"),
		Expected: map[string]types.ExpectedAttributeValue{"n": {ComparisonOperator: types.ComparisonOperatorGt, AttributeValueList: []types.AttributeValue{n("5")}}}})
	wantErr(t, err, "ConditionalCheckFailedException", "The conditional request failed")
	got, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("orders"), Key: key("l", "1"), AttributesToGet: []string{"n"}})
	if err != nil || len(got.Item) != 1 || got.Item["n"].(*types.AttributeValueMemberN).Value != "2" {
		t.Fatalf("AttributesToGet %v %v", got.Item, err)
	}
	_, err = db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("orders"), Key: key("l", "1"), AttributesToGet: []string{"n"}, ProjectionExpression: aws.String("n")})
	wantErr(t, err, "ValidationException", "Can not use both expression and non-expression parameters in the same request")
	// KeyConditions and QueryFilter
	for i := 2; i <= 6; i++ {
		db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("orders"), Item: map[string]types.AttributeValue{"pk": s("l"), "sk": n(strconv.Itoa(i)), "odd": &types.AttributeValueMemberBOOL{Value: i%2 == 1}}})
	}
	q, err := db.Query(ctx, &dynamodb.QueryInput{TableName: aws.String("orders"),
		KeyConditions: map[string]types.Condition{
			"pk": {ComparisonOperator: types.ComparisonOperatorEq, AttributeValueList: []types.AttributeValue{s("l")}},
			"sk": {ComparisonOperator: types.ComparisonOperatorBetween, AttributeValueList: []types.AttributeValue{n("2"), n("5")}},
		},
		QueryFilter: map[string]types.Condition{"odd": {ComparisonOperator: types.ComparisonOperatorEq, AttributeValueList: []types.AttributeValue{&types.AttributeValueMemberBOOL{Value: true}}}}})
	if err != nil || q.Count != 2 || q.ScannedCount != 4 || ns(q.Items[0], "sk") != "3" || ns(q.Items[1], "sk") != "5" {
		t.Fatalf("KeyConditions with QueryFilter: %+v %v", q, err)
	}
}

// plain is an item as Go values, to compare items by value.
func plain(t *testing.T, it map[string]types.AttributeValue) map[string]any {
	t.Helper()
	var m map[string]any
	if err := attributevalue.UnmarshalMap(it, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
