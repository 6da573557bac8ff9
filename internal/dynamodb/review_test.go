package dynamodb

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/cloudlet/cloudlet/internal/store"
)

// A stream's sequence numbers go on after its records are trimmed: a
// reader's position is never reused for other changes.
func TestStreamSequenceSurvivesTrim(t *testing.T) {
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := New(st, "us-east-1", "000000000000", nil)
	ctx := context.Background()
	if err := s.Apply(ctx, []TableSpec{{Name: "things", Origin: "test", Properties: map[string]any{
		"BillingMode": "PAY_PER_REQUEST", "AttributeDefinitions": []any{map[string]any{"AttributeName": "id", "AttributeType": "S"}},
		"KeySchema": []any{map[string]any{"AttributeName": "id", "KeyType": "HASH"}}, "StreamSpecification": map[string]any{"StreamViewType": "KEYS_ONLY"},
	}}}); err != nil {
		t.Fatal(err)
	}
	tb, _ := s.table(ctx, "things")
	put := func(id string) {
		w := &writeOp{kind: wPut, t: tb, hk: []byte(id), rk: []byte{}, key: Item{"id": {T: kS, S: id}}, item: Item{"id": {T: kS, S: id}}}
		if err := s.update(ctx, func(tx *store.Tx) error { _, err := s.applyTx(tx, w); return err }); err != nil {
			t.Fatal(err)
		}
	}
	put("a")
	put("b")
	arn := tb.d.LatestStreamArn
	if err := s.update(ctx, func(tx *store.Tx) error { return trimStreamsTx(tx, time.Now().Add(2*Retention)) }); err != nil {
		t.Fatal(err)
	}
	if end, _ := s.StreamEnd(ctx, arn); end != 3 {
		t.Fatalf("after the trim the next sequence number is %d, want 3", end)
	}
	put("c")
	recs, _, err := s.ReadStream(ctx, arn, 0, 10)
	if err != nil || len(recs) != 1 || recs[0].Seq != 3 {
		t.Fatalf("after the trim: %+v %v", recs, err)
	}
}

// Paths REMOVEd from one list come out by their old indexes, whatever
// else the clause removes between them; a projection of two parts of one
// list element keeps them in one element.
func TestRemoveOrderAndProjection(t *testing.T) {
	it := item(t, product)
	actions, err := parseUpdate("REMOVE RelatedItems[0], Description, RelatedItems[2]", newExprContext(nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := apply(it, actions); err != nil {
		t.Fatal(err)
	}
	if l := it["RelatedItems"].L; len(l) != 1 || l[0].S != "472" {
		b, _ := json.Marshal(it["RelatedItems"])
		t.Fatalf("RelatedItems after the REMOVE: %s", b)
	}
	doc := item(t, `{"a": {"L": [{"M": {"b": {"N": "1"}, "c": {"N": "2"}, "d": {"N": "3"}}}, {"N": "9"}]}}`)
	paths, err := parseProjection("a[0].b, a[0].c", newExprContext(nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(project(doc, paths)); string(b) != `{"a":{"L":[{"M":{"b":{"N":"1"},"c":{"N":"2"}}}]}}` {
		t.Fatalf("projection %s", b)
	}
}

// A legacy condition with a null value is refused, not dereferenced.
func TestLegacyNullValue(t *testing.T) {
	_, err := legacyCond(map[string]expectedAttr{"pk": {ComparisonOperator: "EQ", AttributeValueList: []*Value{nil}}}, "AND", "KeyConditions")
	if err == nil || !strings.Contains(err.Error(), "Supplied AttributeValue is empty") {
		t.Fatalf("null value: %v", err)
	}
}
