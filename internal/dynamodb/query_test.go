package dynamodb_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func ns(it map[string]types.AttributeValue, name string) string {
	if v, ok := it[name].(*types.AttributeValueMemberN); ok {
		return v.Value
	}
	return ""
}

func ss(it map[string]types.AttributeValue, name string) string {
	if v, ok := it[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// fill puts items pk=p{0..parts-1}, sk=-each..each with rank = -sk and an
// email on even sk.
func fill(t *testing.T, db *dynamodb.Client, parts, each int) {
	t.Helper()
	ctx := context.Background()
	var reqs []types.WriteRequest
	flush := func() {
		if len(reqs) == 0 {
			return
		}
		if _, err := db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{"orders": reqs}}); err != nil {
			t.Fatal(err)
		}
		reqs = nil
	}
	for p := 0; p < parts; p++ {
		for i := -each; i <= each; i++ {
			it := map[string]types.AttributeValue{"pk": s(fmt.Sprintf("p%d", p)), "sk": n(strconv.Itoa(i)), "rank": n(strconv.Itoa(-i)), "v": s(fmt.Sprintf("v%d", i))}
			if i%2 == 0 {
				it["email"] = s(fmt.Sprintf("e%d@x", i))
			}
			reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: it}})
			if len(reqs) == 25 {
				flush()
			}
		}
	}
	flush()
}

// Query: numeric range keys sort by value (negative ones too), every key
// condition, backwards, Limit with paging, filters, Select COUNT, and the
// secondary indexes with their projections.
func TestQuery(t *testing.T) {
	db, _ := serve(t, t.TempDir())
	ctx := context.Background()
	createTable(t, db, "orders")
	fill(t, db, 2, 10) // sk -10..10 in p0 and p1
	q := func(kc string, vals map[string]types.AttributeValue, mod func(*dynamodb.QueryInput)) []string {
		t.Helper()
		in := &dynamodb.QueryInput{TableName: aws.String("orders"), KeyConditionExpression: aws.String(kc), ExpressionAttributeValues: vals}
		if mod != nil {
			mod(in)
		}
		var got []string
		p := dynamodb.NewQueryPaginator(db, in)
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range out.Items {
				got = append(got, ns(it, "sk"))
			}
		}
		return got
	}
	p0 := map[string]types.AttributeValue{":p": s("p0")}
	with := func(k string, v types.AttributeValue) map[string]types.AttributeValue {
		m := map[string]types.AttributeValue{":p": s("p0"), k: v}
		return m
	}
	if got := fmt.Sprint(q("pk = :p", p0, nil)); got != "[-10 -9 -8 -7 -6 -5 -4 -3 -2 -1 0 1 2 3 4 5 6 7 8 9 10]" {
		t.Fatalf("all, in order: %s", got)
	}
	if got := fmt.Sprint(q("pk = :p AND sk BETWEEN :a AND :b", map[string]types.AttributeValue{":p": s("p0"), ":a": n("-2"), ":b": n("1.5")}, nil)); got != "[-2 -1 0 1]" {
		t.Fatalf("between: %s", got)
	}
	if got := fmt.Sprint(q("pk = :p AND sk < :a", with(":a", n("-8")), nil)); got != "[-10 -9]" {
		t.Fatalf("<: %s", got)
	}
	if got := fmt.Sprint(q("pk = :p AND sk >= :a", with(":a", n("9")), nil)); got != "[9 10]" {
		t.Fatalf(">=: %s", got)
	}
	if got := fmt.Sprint(q("pk = :p AND sk = :a", with(":a", n("3")), nil)); got != "[3]" {
		t.Fatalf("=: %s", got)
	}
	back := q("pk = :p AND sk > :a", with(":a", n("6")), func(in *dynamodb.QueryInput) { in.ScanIndexForward = aws.Bool(false); in.Limit = aws.Int32(1) })
	if fmt.Sprint(back) != "[10 9 8 7]" {
		t.Fatalf("backwards, one per page: %v", back)
	}
	filtered := q("pk = :p", with(":v", s("v1")), func(in *dynamodb.QueryInput) {
		in.FilterExpression = aws.String("begins_with(v, :v) OR sk IN (:p2)")
		in.ExpressionAttributeValues[":p2"] = n("-3")
	})
	if fmt.Sprint(filtered) != "[-3 1 10]" {
		t.Fatalf("filtered: %v", filtered)
	}
	cnt, err := db.Query(ctx, &dynamodb.QueryInput{TableName: aws.String("orders"), KeyConditionExpression: aws.String("pk = :p"),
		FilterExpression: aws.String("sk > :z"), ExpressionAttributeValues: with(":z", n("0")), Select: types.SelectCount})
	if err != nil || cnt.Count != 10 || cnt.ScannedCount != 21 || cnt.Items != nil {
		t.Fatalf("count %+v %v", cnt, err)
	}
	// the local index orders by rank (= -sk)
	if got := fmt.Sprint(q("pk = :p AND #r <= :r", map[string]types.AttributeValue{":p": s("p0"), ":r": n("-8")}, func(in *dynamodb.QueryInput) {
		in.IndexName = aws.String("byRank")
		in.ExpressionAttributeNames = map[string]string{"#r": "rank"}
	})); got != "[10 9 8]" {
		t.Fatalf("local index: %s", got)
	}
	// the global, keys-only index answers keys only
	gi, err := db.Query(ctx, &dynamodb.QueryInput{TableName: aws.String("orders"), IndexName: aws.String("byEmail"),
		KeyConditionExpression: aws.String("email = :e"), ExpressionAttributeValues: map[string]types.AttributeValue{":e": s("e4@x")}})
	if err != nil || gi.Count != 2 || len(gi.Items[0]) != 3 || gi.Items[0]["v"] != nil {
		t.Fatalf("global index %+v %v", gi, err)
	}
	// the SDK's key condition builder
	kc, _ := expression.NewBuilder().WithKeyCondition(expression.Key("pk").Equal(expression.Value("p1")).And(expression.Key("sk").Between(expression.Value(0), expression.Value(2)))).Build()
	out, err := db.Query(ctx, &dynamodb.QueryInput{TableName: aws.String("orders"), KeyConditionExpression: kc.KeyCondition(),
		ExpressionAttributeNames: kc.Names(), ExpressionAttributeValues: kc.Values()})
	if err != nil || out.Count != 3 || ss(out.Items[0], "pk") != "p1" {
		t.Fatalf("builder query %+v %v", out, err)
	}
	// errors
	for _, c := range []struct {
		kc   string
		vals map[string]types.AttributeValue
		msg  string
	}{
		{"sk = :a", map[string]types.AttributeValue{":a": n("1")}, "Query condition missed key schema element: pk"},
		{"pk > :p", p0, "Query key condition not supported"},
		{"pk = :p OR sk = :a", with(":a", n("1")), "Invalid operator used in KeyConditionExpression: OR"},
		{"pk = :p AND sk = :a", with(":a", s("1")), "Condition parameter type does not match schema type"},
		{"pk = :p AND v = :a", with(":a", s("1")), "Query condition missed key schema element"},
	} {
		_, err := db.Query(ctx, &dynamodb.QueryInput{TableName: aws.String("orders"), KeyConditionExpression: aws.String(c.kc), ExpressionAttributeValues: c.vals})
		wantErr(t, err, "ValidationException", c.msg)
	}
	_, err = db.Query(ctx, &dynamodb.QueryInput{TableName: aws.String("orders"), IndexName: aws.String("nope"), KeyConditionExpression: aws.String("pk = :p"), ExpressionAttributeValues: p0})
	wantErr(t, err, "ValidationException", "The table does not have the specified index: nope")
}

// Scan: every item once across pages and across parallel segments, with
// a filter; the legacy ScanFilter; the 1 MB page limit.
func TestScan(t *testing.T) {
	db, _ := serve(t, t.TempDir())
	ctx := context.Background()
	createTable(t, db, "orders")
	fill(t, db, 5, 5) // 55 items
	count := func(in *dynamodb.ScanInput) (items, pages int) {
		p := dynamodb.NewScanPaginator(db, in)
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			items += len(out.Items)
			pages++
		}
		return
	}
	if items, pages := count(&dynamodb.ScanInput{TableName: aws.String("orders"), Limit: aws.Int32(10)}); items != 55 || pages != 6 {
		t.Fatalf("paged scan: %d items in %d pages", items, pages)
	}
	total := 0
	for seg := int32(0); seg < 4; seg++ {
		items, _ := count(&dynamodb.ScanInput{TableName: aws.String("orders"), Segment: aws.Int32(seg), TotalSegments: aws.Int32(4), Limit: aws.Int32(7)})
		total += items
	}
	if total != 55 {
		t.Fatalf("segments saw %d items, want 55", total)
	}
	if items, _ := count(&dynamodb.ScanInput{TableName: aws.String("orders"), FilterExpression: aws.String("attribute_exists(email) AND sk > :z"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":z": n("0")}}); items != 10 {
		t.Fatalf("filtered scan: %d, want 10", items)
	}
	if items, _ := count(&dynamodb.ScanInput{TableName: aws.String("orders"), ScanFilter: map[string]types.Condition{
		"sk": {ComparisonOperator: types.ComparisonOperatorLt, AttributeValueList: []types.AttributeValue{n("-3")}}}}); items != 10 {
		t.Fatalf("ScanFilter: %d, want 10", items)
	}
	// 1 MB pages: 30 items of 100 KB come in several pages
	big := make([]byte, 100*1024)
	for i := 0; i < 30; i++ {
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("orders"), Item: map[string]types.AttributeValue{
			"pk": s("big"), "sk": n(strconv.Itoa(i)), "blob": &types.AttributeValueMemberB{Value: big}}}); err != nil {
			t.Fatal(err)
		}
	}
	first, err := db.Query(ctx, &dynamodb.QueryInput{TableName: aws.String("orders"), KeyConditionExpression: aws.String("pk = :p"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": s("big")}})
	if err != nil || first.Count >= 30 || first.Count < 9 || first.LastEvaluatedKey == nil {
		t.Fatalf("1 MB page: %d items, last %v, %v", first.Count, first.LastEvaluatedKey, err)
	}
}

// BatchGetItem and BatchWriteItem across two tables; duplicates and
// oversize batches are refused whole.
func TestBatch(t *testing.T) {
	db, _ := serve(t, t.TempDir())
	ctx := context.Background()
	createTable(t, db, "orders")
	createTable(t, db, "archive")
	_, err := db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{
		"orders":  {{PutRequest: &types.PutRequest{Item: key("a", "1")}}, {PutRequest: &types.PutRequest{Item: key("a", "2")}}},
		"archive": {{PutRequest: &types.PutRequest{Item: key("z", "9")}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
		"orders":  {Keys: []map[string]types.AttributeValue{key("a", "1"), key("a", "2"), key("a", "3")}},
		"archive": {Keys: []map[string]types.AttributeValue{key("z", "9")}, ProjectionExpression: aws.String("pk")},
	}})
	if err != nil || len(got.Responses["orders"]) != 2 || len(got.Responses["archive"]) != 1 || len(got.Responses["archive"][0]) != 1 || len(got.UnprocessedKeys) != 0 {
		t.Fatalf("batch get %+v %v", got, err)
	}
	_, err = db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{
		"orders": {{PutRequest: &types.PutRequest{Item: key("b", "1")}}, {DeleteRequest: &types.DeleteRequest{Key: key("b", "1")}}}}})
	wantErr(t, err, "ValidationException", "Provided list of item keys contains duplicates")
	var many []types.WriteRequest
	for i := 0; i < 26; i++ {
		many = append(many, types.WriteRequest{PutRequest: &types.PutRequest{Item: key("c", strconv.Itoa(i))}})
	}
	_, err = db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{"orders": many}})
	wantErr(t, err, "ValidationException", "Member must have length less than or equal to 25")
	if out, _ := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("orders"), Key: key("c", "0")}); out.Item != nil {
		t.Fatal("a refused batch wrote an item")
	}
	// deletes
	if _, err := db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{
		"orders": {{DeleteRequest: &types.DeleteRequest{Key: key("a", "1")}}}}}); err != nil {
		t.Fatal(err)
	}
	if out, _ := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("orders"), Key: key("a", "1")}); out.Item != nil {
		t.Fatal("batch delete left the item")
	}
}

// TransactWriteItems is all or nothing, says why it was cancelled item by
// item, refuses two operations on one item, and is idempotent by
// ClientRequestToken; TransactGetItems reads several items at once.
func TestTransactions(t *testing.T) {
	db, _ := serve(t, t.TempDir())
	ctx := context.Background()
	createTable(t, db, "orders")
	if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("orders"), Item: map[string]types.AttributeValue{"pk": s("acct"), "sk": n("1"), "bal": n("10")}}); err != nil {
		t.Fatal(err)
	}
	tx := func(amount string, token *string) error {
		_, err := db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{ClientRequestToken: token, TransactItems: []types.TransactWriteItem{
			{Update: &types.Update{TableName: aws.String("orders"), Key: key("acct", "1"), UpdateExpression: aws.String("SET bal = bal - :a"),
				ConditionExpression: aws.String("bal >= :a"), ExpressionAttributeValues: map[string]types.AttributeValue{":a": n(amount)},
				ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld}},
			{Put: &types.Put{TableName: aws.String("orders"), Item: map[string]types.AttributeValue{"pk": s("log"), "sk": n(amount)}}},
			{ConditionCheck: &types.ConditionCheck{TableName: aws.String("orders"), Key: key("acct", "1"), ConditionExpression: aws.String("attribute_exists(pk)")}},
		}})
		return err
	}
	wantErr(t, tx("1", nil), "ValidationException", "Transaction request cannot include multiple operations on one item")
	// without the check: two items
	tx2 := func(amount string, token *string) error {
		_, err := db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{ClientRequestToken: token, TransactItems: []types.TransactWriteItem{
			{Update: &types.Update{TableName: aws.String("orders"), Key: key("acct", "1"), UpdateExpression: aws.String("SET bal = bal - :a"),
				ConditionExpression: aws.String("bal >= :a"), ExpressionAttributeValues: map[string]types.AttributeValue{":a": n(amount)},
				ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld}},
			{Put: &types.Put{TableName: aws.String("orders"), Item: map[string]types.AttributeValue{"pk": s("log"), "sk": n(amount)}}},
		}})
		return err
	}
	if err := tx2("4", aws.String("t-1")); err != nil {
		t.Fatal(err)
	}
	if err := tx2("4", aws.String("t-1")); err != nil { // the same token: done once
		t.Fatal(err)
	}
	wantErr(t, tx2("5", aws.String("t-1")), "IdempotentParameterMismatchException", "")
	err := tx2("7", nil)
	var tce *types.TransactionCanceledException
	if !errorsAs(err, &tce) || len(tce.CancellationReasons) != 2 || *tce.CancellationReasons[0].Code != "ConditionalCheckFailed" ||
		*tce.CancellationReasons[1].Code != "None" || ns(tce.CancellationReasons[0].Item, "bal") != "6" {
		t.Fatalf("cancelled: %v", err)
	}
	wantErr(t, err, "TransactionCanceledException", "Transaction cancelled, please refer cancellation reasons for specific reasons [ConditionalCheckFailed, None]")
	got, err := db.TransactGetItems(ctx, &dynamodb.TransactGetItemsInput{TransactItems: []types.TransactGetItem{
		{Get: &types.Get{TableName: aws.String("orders"), Key: key("acct", "1")}},
		{Get: &types.Get{TableName: aws.String("orders"), Key: key("log", "7")}},
		{Get: &types.Get{TableName: aws.String("orders"), Key: key("log", "4")}},
	}})
	if err != nil || ns(got.Responses[0].Item, "bal") != "6" || got.Responses[1].Item != nil || got.Responses[2].Item == nil {
		t.Fatalf("transact get %+v %v", got, err)
	}
}
