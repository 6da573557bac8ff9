package dynamodb_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// PartiQL through the Go SDK: INSERT (a duplicate refused), SELECT with
// parameters, projections, a partition and a filter, paging by NextToken,
// UPDATE (SET, REMOVE, only an item that is there), DELETE, and
// BatchExecuteStatement's per-statement errors.
func TestPartiQL(t *testing.T) {
	db, _ := serve(t, t.TempDir())
	ctx := context.Background()
	createTable(t, db, "orders")
	exec := func(stmt string, params ...types.AttributeValue) (*dynamodb.ExecuteStatementOutput, error) {
		return db.ExecuteStatement(ctx, &dynamodb.ExecuteStatementInput{Statement: aws.String(stmt), Parameters: params})
	}
	for i := 1; i <= 5; i++ {
		if _, err := exec(`INSERT INTO "orders" VALUE {'pk': ?, 'sk': ?, 'status': 'open', 'tags': <<'a', 'b'>>, 'lines': [1, 2]}`, s("c1"), n(itoaT(i))); err != nil {
			t.Fatal(err)
		}
	}
	_, err := exec(`INSERT INTO orders VALUE {'pk': 'c1', 'sk': 1}`)
	wantErr(t, err, "DuplicateItemException", "Duplicate primary key exists in table")

	out, err := exec(`SELECT sk, status FROM orders WHERE pk = ? AND sk >= ?`, s("c1"), n("4"))
	if err != nil || len(out.Items) != 2 || len(out.Items[0]) != 2 || ns(out.Items[0], "sk") != "4" {
		t.Fatalf("select: %+v %v", out, err)
	}
	if _, err := exec(`UPDATE orders SET status = 'paid' SET note = ? REMOVE tags WHERE pk = 'c1' AND sk = 2`, s("thanks")); err != nil {
		t.Fatal(err)
	}
	_, err = exec(`UPDATE orders SET status = 'paid' WHERE pk = 'c1' AND sk = 99`)
	wantErr(t, err, "ConditionalCheckFailedException", "The conditional request failed")
	out, err = exec(`SELECT * FROM "orders" WHERE pk = 'c1' AND status = 'paid'`)
	if err != nil || len(out.Items) != 1 || ss(out.Items[0], "note") != "thanks" || out.Items[0]["tags"] != nil {
		t.Fatalf("select after update: %+v %v", out, err)
	}
	// paging: one item per page
	var got int
	var token *string
	for page := 0; page < 10; page++ {
		o, err := db.ExecuteStatement(ctx, &dynamodb.ExecuteStatementInput{Statement: aws.String(`SELECT * FROM orders WHERE pk = 'c1'`), Limit: aws.Int32(2), NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		got += len(o.Items)
		if token = o.NextToken; token == nil {
			break
		}
	}
	if got != 5 {
		t.Fatalf("paged select saw %d items", got)
	}
	if _, err := exec(`DELETE FROM orders WHERE pk = 'c1' AND sk = 5`); err != nil {
		t.Fatal(err)
	}
	_, err = exec(`DELETE FROM orders WHERE pk = 'c1'`)
	wantErr(t, err, "ValidationException", "Where clause does not contain a mandatory equality on all key attributes")
	_, err = exec(`SELEC * FROM orders`)
	wantErr(t, err, "ValidationException", "Statement wasn't well formed")
	_, err = exec(`SELECT * FROM orders WHERE pk = ?`)
	wantErr(t, err, "ValidationException", "Number of parameters in request and statement don't match.")

	for _, bad := range []string{`SELECT * FROM orders WHERE exists('a')`, `DELETE FROM orders WHERE pk = 'c1' AND sk = 1 AND ? IS MISSING`} {
		_, err = exec(bad, s("x"))
		if bad[0] == 'S' {
			_, err = exec(bad)
		}
		wantErr(t, err, "ValidationException", "Statement wasn't well formed")
	}
	_, err = db.ExecuteStatement(ctx, &dynamodb.ExecuteStatementInput{Statement: aws.String(`SELECT * FROM orders WHERE pk = 'c1'`), NextToken: aws.String("e30=")})
	wantErr(t, err, "ValidationException", "Invalid NextToken")

	b, err := db.BatchExecuteStatement(ctx, &dynamodb.BatchExecuteStatementInput{Statements: []types.BatchStatementRequest{
		{Statement: aws.String(`SELECT * FROM orders WHERE pk = 'c1' AND sk = 1`)},
		{Statement: aws.String(`INSERT INTO orders VALUE {'pk': 'c1', 'sk': 1}`)},
		{Statement: aws.String(`INSERT INTO orders VALUE {'pk': 'c2', 'sk': 1}`)},
	}})
	if err != nil || len(b.Responses) != 3 || b.Responses[0].Item == nil || b.Responses[1].Error == nil ||
		b.Responses[1].Error.Code != types.BatchStatementErrorCodeEnumDuplicateItem || b.Responses[2].Error != nil {
		t.Fatalf("batch: %+v %v", b, err)
	}
}

func itoaT(i int) string { return string(rune('0' + i)) }
