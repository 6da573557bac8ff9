package dynamodb

import (
	"bytes"
	"encoding/json"
	"testing"
)

var fuzzValues = `{":v": {"N": "1"}, ":s": {"S": "a"}, ":l": {"L": [{"N": "1"}]}, ":ss": {"SS": ["a"]}, ":m": {"M": {"x": {"N": "2"}}}}`

// Condition, filter and key condition parsing never panics, and whatever
// parses evaluates against any item without panicking.
func FuzzParseCondition(f *testing.F) {
	for _, s := range []string{"a = :v", "attribute_exists(#n.b[2])", "a BETWEEN :v AND :v OR NOT (b IN (:s, :v))",
		"size(a) > :v AND begins_with(b, :s) AND contains(c, :s)", "attribute_type(a, :s)", "((a <> :v))", "a[0][1].b.c <= :v"} {
		f.Add(s)
	}
	var vals map[string]*Value
	json.Unmarshal([]byte(fuzzValues), &vals)
	it := Item{}
	json.Unmarshal([]byte(product), &it)
	f.Fuzz(func(t *testing.T, src string) {
		x := newExprContext(map[string]string{"#n": "Pictures"}, vals)
		c, err := parseCondition("ConditionExpression", src, x)
		if err != nil {
			if _, ok := err.(*valueError); !ok {
				t.Fatalf("%q: an error of type %T", src, err)
			}
			return
		}
		c.holds(it)
		c.holds(nil)
		if kr, err := keyCondition(c, keySchema{hash: "a", hashT: kN, rng: "b", rngT: kS}); err == nil && kr.hk == nil {
			t.Fatalf("%q: a key condition without a hash key", src)
		}
	})
}

// Update parsing never panics, and applying what parses never panics and
// leaves an item that encodes and decodes to itself.
func FuzzParseUpdate(f *testing.F) {
	for _, s := range []string{"SET a = :v", "SET a = a + :v, b = list_append(:l, b) REMOVE c[1] ADD d :ss DELETE e :ss",
		"SET a.b[0] = if_not_exists(a.b[0], :v)", "REMOVE RelatedItems[1], RelatedItems[2]", "ADD Price :v"} {
		f.Add(s)
	}
	var vals map[string]*Value
	json.Unmarshal([]byte(fuzzValues), &vals)
	f.Fuzz(func(t *testing.T, src string) {
		actions, err := parseUpdate(src, newExprContext(nil, vals))
		if err != nil {
			return
		}
		it := Item{}
		json.Unmarshal([]byte(product), &it)
		if apply(it, actions) != nil {
			return
		}
		b := appendItem(nil, it)
		back, err := decodeItem(b)
		if err != nil {
			t.Fatalf("%q: the updated item does not decode: %v: %s", src, err, b)
		}
		if !bytes.Equal(appendItem(nil, back), b) {
			t.Fatalf("%q: the updated item does not round-trip", src)
		}
	})
}

// Projection parsing never panics, and projecting keeps only what exists.
func FuzzParseProjection(f *testing.F) {
	for _, s := range []string{"a, b.c, d[0]", "#n.FrontView", "ProductReviews.FiveStar[1], Id"} {
		f.Add(s)
	}
	it := Item{}
	json.Unmarshal([]byte(product), &it)
	f.Fuzz(func(t *testing.T, src string) {
		paths, err := parseProjection(src, newExprContext(map[string]string{"#n": "Pictures"}, nil))
		if err != nil {
			return
		}
		project(it, paths)
	})
}

// AttributeValues: whatever decodes encodes to JSON that decodes to the
// same encoding; numbers' key bytes order as the numbers do.
func FuzzValue(f *testing.F) {
	for _, s := range []string{`{"S":"a"}`, `{"N":"-1.5e3"}`, `{"B":"AAE="}`, `{"SS":["a","b"]}`, `{"NS":["1","2"]}`,
		`{"M":{"a":{"L":[{"NULL":true},{"BOOL":false}]}}}`, `{"BS":["AA=="]}`, `{}`, `{"N":"1e126"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var v Value
		if err := json.Unmarshal(b, &v); err != nil || checkValue(&v) != nil {
			return
		}
		enc := appendValue(nil, &v)
		var back Value
		if err := json.Unmarshal(enc, &back); err != nil {
			t.Fatalf("%s: re-encoded %s does not decode: %v", b, enc, err)
		}
		if !bytes.Equal(appendValue(nil, &back), enc) || !equal(&v, &back) {
			t.Fatalf("%s: does not round-trip through %s", b, enc)
		}
		v.size()
	})
}

// Number key bytes compare as the numbers do.
func FuzzNumberKey(f *testing.F) {
	f.Add("1", "2")
	f.Add("-1.5", "-1.25")
	f.Add("1e125", "-1e-130")
	f.Add("0", "-0.0")
	f.Fuzz(func(t *testing.T, a, b string) {
		_, ca, err1 := parseNumber(a)
		_, cb, err2 := parseNumber(b)
		if err1 != nil || err2 != nil {
			return
		}
		want, _ := compare(&Value{T: kN, S: ca}, &Value{T: kN, S: cb})
		if got := bytes.Compare(numberKey(ca), numberKey(cb)); got != want {
			t.Fatalf("%s vs %s: key bytes compare %d, numbers %d", a, b, got, want)
		}
	})
}

// PartiQL parsing never panics, and whatever parses evaluates its WHERE
// against any item without panicking.
func FuzzParsePartiQL(f *testing.F) {
	for _, s := range []string{`SELECT * FROM "t" WHERE pk = ? AND sk BETWEEN 1 AND 5`, `INSERT INTO t VALUE {'a': 1, 'b': [true, null, <<'x'>>]}`,
		`UPDATE t SET a = ? REMOVE b[1] WHERE pk = 'x' AND attribute_type(c, 'S')`, `DELETE FROM t WHERE pk = 'x' AND c IS NOT MISSING`,
		`SELECT a.b, c[0] FROM t.idx WHERE a IN ['x', 'y'] OR NOT begins_with(b, 'p')`} {
		f.Add(s)
	}
	it := Item{}
	json.Unmarshal([]byte(product), &it)
	f.Fuzz(func(t *testing.T, src string) {
		st, err := parsePartiQL(src, []*Value{{T: kS, S: "x"}})
		if err != nil {
			return
		}
		if st.where != nil {
			st.where.holds(it)
			keyFromWhere(st.where, keySchema{hash: "pk", hashT: kS})
		}
	})
}
