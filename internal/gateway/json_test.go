package gateway

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

var jsonStrings = []string{
	"", "plain", `quote " and \ backslash`, "ctl \x00\x01\x1f \b\f\n\r\t", "é✓😀", "bad \xff utf8 \xc3",
	"\u2028\u2029", "<&>", "/",
}

func TestAppendString(t *testing.T) {
	for _, s := range jsonStrings {
		checkAppendString(t, s)
	}
}

func checkAppendString(t *testing.T, s string) {
	t.Helper()
	enc := appendString(nil, s)
	var got string
	if err := json.Unmarshal(enc, &got); err != nil {
		t.Fatalf("appendString(%q) = %s: %v", s, enc, err)
	}
	// encoding/json replaces each invalid byte (not each run) with U+FFFD.
	std, _ := json.Marshal(s)
	var want string
	if err := json.Unmarshal(std, &want); err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("appendString(%q) decodes to %q, want %q", s, got, want)
	}
	if utf8.ValidString(s) {
		if enc2 := appendStringUTF8(nil, []byte(s)); string(enc2) != string(enc) {
			t.Fatalf("appendStringUTF8(%q) = %s, appendString = %s", s, enc2, enc)
		}
	}
	lower := appendLowerString(nil, s)
	if err := json.Unmarshal(lower, &got); err != nil || got != asciiLower(want) {
		t.Fatalf("appendLowerString(%q) = %s (%q, %v)", s, lower, got, err)
	}
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		b[i] = lower(c)
	}
	return string(b)
}

var quoted = []string{
	`""`, `"plain"`, `"\" \\ \/ \b \f \n \r \t"`, `"\u00e9\u00E9"`, `"\ud83d\ude00"`, `"lone \ud83d here"`,
	`"lone low \ude00"`, `"high then not low \ud83d\u0041"`, `"high at end \ud83d"`, "\"raw \xff byte\"",
	`"é✓😀"`, `"\u0000"`,
}

func TestAppendUnquoted(t *testing.T) {
	for _, q := range quoted {
		checkUnquoted(t, []byte(q))
	}
	// Invalid input (the scanner is only given valid JSON) must not panic.
	for _, q := range []string{`"\"`, `"\u12"`, `"\uzzzz"`, `"\`} {
		_ = appendUnquoted(nil, []byte(q+`"`))
	}
	if _, ok := hex4([]byte("12"), 0); ok {
		t.Error("hex4 of a short input")
	}
}

func checkUnquoted(t *testing.T, q []byte) {
	t.Helper()
	var want string
	if err := json.Unmarshal(q, &want); err != nil {
		return // not a JSON string
	}
	if got := string(appendUnquoted(nil, q)); got != want {
		t.Fatalf("appendUnquoted(%s) = %q, want %q", q, got, want)
	}
	if !keyIs(q, want) {
		t.Fatalf("keyIs(%s, %q) = false", q, want)
	}
}

func TestScanner(t *testing.T) {
	doc := []byte(` { "a" : [1, {"b": "}]\"["}, null] , "c":true,"d" : -1.5e3 ,"e":{}, "f":"x" } `)
	var got []string
	members(doc, skipSpace(doc, 0), func(k, v []byte) bool {
		got = append(got, string(k)+"="+string(v))
		return true
	})
	want := []string{`"a"=[1, {"b": "}]\"["}, null]`, `"c"=true`, `"d"=-1.5e3`, `"e"={}`, `"f"="x"`}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("members:\n got %q\nwant %q", got, want)
	}
	var elems []string
	elements([]byte(`[ 1 , "a,b" ,[2,3], {"x":[]} ]`), 0, func(v []byte) bool {
		elems = append(elems, string(v))
		return len(elems) < 3
	})
	if strings.Join(elems, "|") != `1|"a,b"|[2,3]` {
		t.Errorf("elements: %q", elems)
	}
	// Truncated input (never given in practice) ends the scan without panic.
	for _, d := range []string{`"abc`, `[1,2`, `tru`, `{"a":`} {
		_ = skipValue([]byte(d), 0)
	}
}

func TestHeaderName(t *testing.T) {
	for raw, want := range map[string]string{
		`"content-type"`: "Content-Type", `"X-AMZ-DATE"`: "X-Amz-Date", `"x_y"`: "X_y", `"a\u002db"`: "A-B",
		`""`: "", `"bad name"`: "", `"é"`: "",
	} {
		got, ok := headerName([]byte(raw))
		if got != want || ok != (want != "") {
			t.Errorf("headerName(%s) = %q, %v; want %q", raw, got, ok, want)
		}
	}
}

func TestParseStatus(t *testing.T) {
	for raw, want := range map[string]int{"200": 200, "599": 599, "1e2": 0, "600": 0, "199": 0, "20": 0, "2000": 0} {
		got, ok := parseStatus([]byte(raw))
		if ok != (want != 0) || (ok && got != want) {
			t.Errorf("parseStatus(%s) = %d, %v", raw, got, ok)
		}
	}
}

// FuzzJSONString holds the hand-written JSON string encoder and decoder
// against encoding/json.
func FuzzJSONString(f *testing.F) {
	for _, s := range jsonStrings {
		f.Add(s)
	}
	for _, q := range quoted {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkAppendString(t, s)
		checkUnquoted(t, []byte(s))
	})
}

// FuzzParseReply: any function response yields a reply or a reason, never a
// panic, and agrees with encoding/json on what a valid response holds.
func FuzzParseReply(f *testing.F) {
	for _, s := range []string{
		`{"statusCode":200,"headers":{"a":"b"},"multiValueHeaders":{"c":["d",1]},"body":"x","isBase64Encoded":false}`,
		`{"statusCode":201,"cookies":["a=1"],"body":"aGk=","isBase64Encoded":true}`,
		`"str"`, `[1]`, `{"body":{}}`, `{"statusCode":"200"}`, ``, `{`, `nul`, `{"statusCode":200,"headers":{"a":[1]}}`,
	} {
		f.Add([]byte(s), true)
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, d []byte, v2 bool) {
		s := new(scratch)
		rep, bad := parseReply(d, v2, s)
		if bad != "" {
			return
		}
		if !json.Valid(d) {
			t.Fatalf("accepted invalid JSON %q", d)
		}
		if rep.status < 200 || rep.status > 599 {
			t.Fatalf("status %d", rep.status)
		}
		var obj map[string]any
		if json.Unmarshal(d, &obj) != nil || obj["statusCode"] == nil {
			if !v2 {
				t.Fatalf("1.0 accepted %q without a statusCode object", d)
			}
			return
		}
		// Into a map, encoding/json takes keys as spelled, the last of
		// duplicates winning, as the scanner does.
		if b, ok := obj["body"].(string); ok && obj["isBase64Encoded"] != true && string(rep.body) != b {
			t.Fatalf("body %q, encoding/json says %q", rep.body, b)
		}
	})
}
