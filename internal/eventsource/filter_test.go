package eventsource

import (
	"testing"
)

const insert = `{"eventName":"INSERT","eventSource":"aws:dynamodb","dynamodb":{"Keys":{"id":{"S":"u1"}},
"NewImage":{"id":{"S":"u1"},"status":{"S":"ACTIVE"},"qty":{"N":"12"},"email":{"S":"Ann@Example.com"},"tags":{"SS":["a","b"]}}}}`

// Filter patterns from the Lambda Developer Guide's event filtering
// examples, against a DynamoDB record.
func TestFilterPatterns(t *testing.T) {
	for _, c := range []struct {
		pattern string
		want    bool
	}{
		{`{"eventName": ["INSERT"]}`, true},
		{`{"eventName": ["MODIFY", "REMOVE"]}`, false},
		{`{"dynamodb": {"NewImage": {"status": {"S": ["ACTIVE"]}}}}`, true},
		{`{"dynamodb": {"NewImage": {"status": {"S": [{"anything-but": ["ACTIVE", "PENDING"]}]}}}}`, false},
		{`{"dynamodb": {"NewImage": {"status": {"S": [{"prefix": "ACT"}]}}}}`, true},
		{`{"dynamodb": {"NewImage": {"email": {"S": [{"suffix": "example.com"}]}}}}`, false},
		{`{"dynamodb": {"NewImage": {"email": {"S": [{"equals-ignore-case": "ann@example.com"}]}}}}`, true},
		{`{"dynamodb": {"NewImage": {"qty": {"N": [{"numeric": [">", 10, "<=", 12]}]}}}}`, true},
		{`{"dynamodb": {"NewImage": {"qty": {"N": [{"numeric": ["<", 10]}]}}}}`, false},
		{`{"dynamodb": {"NewImage": {"missing": [{"exists": false}]}}}`, true},
		{`{"dynamodb": {"NewImage": {"status": [{"exists": true}]}}}`, true},
		{`{"dynamodb": {"OldImage": {"status": [{"exists": true}]}}}`, false},
		{`{"dynamodb": {"NewImage": {"tags": {"SS": ["b"]}}}}`, true},                               // an array field matches by any element
		{`{"eventName": ["INSERT"], "dynamodb": {"NewImage": {"status": {"S": ["GONE"]}}}}`, false}, // every field must match
	} {
		f, err := ParseFilter(c.pattern)
		if err != nil {
			t.Fatalf("%s: %v", c.pattern, err)
		}
		if got := f.Match([]byte(insert)); got != c.want {
			t.Errorf("%s matched %v, want %v", c.pattern, got, c.want)
		}
	}
	for _, bad := range []string{`[]`, `{"a": 1}`, `{"a": []}`, `{"a": [{"numeric": [">"]}]}`, `{"a": [{"nope": 1}]}`, `not json`, `{"a": [{"exists": 1}]}`} {
		if _, err := ParseFilter(bad); err == nil {
			t.Errorf("%s parsed", bad)
		}
	}
}

// Parsing never panics, and what parses matches any JSON without
// panicking.
func FuzzParseFilter(f *testing.F) {
	f.Add(`{"eventName": ["INSERT"]}`, insert)
	f.Add(`{"dynamodb": {"NewImage": {"qty": {"N": [{"numeric": [">", 10]}]}}}}`, insert)
	f.Add(`{"a": [{"anything-but": {"prefix": "x"}}]}`, `{"a": ["xy", 1, null]}`)
	f.Fuzz(func(t *testing.T, pattern, record string) {
		flt, err := ParseFilter(pattern)
		if err != nil {
			return
		}
		flt.Match([]byte(record))
		flt.Match([]byte(insert))
	})
}
