package awsapi

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCheckPayload(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"a":1}`, ""},
		{`  [1, 2] `, ""},
		{`"s"`, ""},
		{`null`, ""},
		{`abc`, "Unrecognized token 'abc': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')\n" +
			` at [Source: (byte[])"abc"; line: 1, column: 4]`},
		{`{"a":tru}`, "Unrecognized token 'tru': was expecting"},
		{`{a:1}`, "Unexpected character ('a' (code 97)): was expecting double-quote to start field name\n at [Source: (byte[])\"{a:1}\"; line: 1, column: 2]"},
		{`{"a":1 "b":2}`, "Unexpected character ('\"' (code 34)): was expecting comma to separate Object entries"},
		{"[1,\n-]", "Unexpected character (']' (code 93)): expected a valid value"},
		{`{"a":1`, "Unexpected end-of-input"},
		{`{"a":1} x`, "Unexpected character ('x' (code 120)): expected end-of-input after the root-level value"},
		{"\"\xc3(\"", "Invalid UTF-8 middle byte 0x28"},
		{`{} {}`, "Unexpected character ('{' (code 123)): expected end-of-input after the root-level value"},
		{"\"\xa7\"", "Invalid UTF-8 start byte 0xa7"},
		{" ", "Unexpected end-of-input"},
	} {
		got := checkPayload([]byte(tc.in))
		if (tc.want == "") != (got == "") || !strings.HasPrefix(got, tc.want) {
			t.Errorf("%q: got %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FunctionName in every form Lambda takes names a function of this
// server only: another region's, account's, partition's or service's ARN,
// or one with extra parts, names nothing (so no policy is checked against
// an ARN that is not the function's).
func TestParseFunction(t *testing.T) {
	l := &LambdaService{region: "us-east-1", account: "000000000000"}
	for _, tc := range []struct{ in, query, fn, q, err string }{
		{"f", "", "f", "", ""},
		{"f:$LATEST", "", "f", "$LATEST", ""},
		{"f", "$LATEST", "f", "$LATEST", ""},
		{"f:1", "2", "", "", "InvalidParameterValueException"},
		{"000000000000:function:f", "", "f", "", ""},
		{"000000000000:function:f:live", "", "f", "live", ""},
		{"arn:aws:lambda:us-east-1:000000000000:function:f", "", "f", "", ""},
		{"arn:aws:lambda:us-east-1:000000000000:function:f:7", "", "f", "7", ""},
		{"arn:aws:lambda:eu-west-1:000000000000:function:f", "", "", "", "ResourceNotFoundException"},
		{"arn:aws:lambda:us-east-1:999999999999:function:f", "", "", "", "ResourceNotFoundException"},
		{"arn:aws-cn:lambda:us-east-1:000000000000:function:f", "", "", "", "ResourceNotFoundException"},
		{"arn:aws:s3:us-east-1:000000000000:function:f", "", "", "", "ResourceNotFoundException"},
		{"arn:aws:lambda:us-east-1:000000000000:function:f:x:prod", "", "", "", "ResourceNotFoundException"},
		{"999999999999:function:f", "", "", "", "ResourceNotFoundException"},
		{"f:1:2", "", "", "", "ResourceNotFoundException"},
		{"f:", "", "", "", "ResourceNotFoundException"},
		{"bad name", "", "", "", "ResourceNotFoundException"},
	} {
		fn, q, e := l.parseFunction(tc.in, tc.query)
		code := ""
		if e != nil {
			code = e.Code
		}
		if fn != tc.fn || q != tc.q || code != tc.err {
			t.Errorf("%q ?Qualifier=%q: got %q %q %s, want %q %q %s", tc.in, tc.query, fn, q, code, tc.fn, tc.q, tc.err)
		}
	}
}

func FuzzCheckPayload(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `abc`, `{a:1}`, "\"\xc3(\"", `[1,`, `{} {}`, "\n\n  x"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		got := checkPayload(p)
		valid := utf8.Valid(p) && json.Valid(p)
		if valid != (got == "") {
			t.Fatalf("checkPayload(%q) = %q, but valid JSON = %v", p, got, valid)
		}
	})
}
