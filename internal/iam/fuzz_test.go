package iam

import (
	"regexp"
	"strings"
	"testing"
)

// FuzzGlob checks glob against a regular expression built from the same
// pattern.
func FuzzGlob(f *testing.F) {
	for _, s := range [][2]string{{"a*b", "axb"}, {"?", "é"}, {"*a*a*b", "aaaa"}, {"table/*", "table/x"}, {"", ""}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, s string) {
		if len(pattern) > 64 || len(s) > 256 {
			return
		}
		var re strings.Builder
		re.WriteString(`(?s)^`)
		for _, r := range pattern {
			switch r {
			case '*':
				re.WriteString(`.*`)
			case '?':
				re.WriteString(`.`)
			default:
				re.WriteString(regexp.QuoteMeta(string(r)))
			}
		}
		re.WriteString(`$`)
		want := regexp.MustCompile(re.String()).MatchString(s)
		if !strings.ContainsRune(pattern, 0xFFFD) && !strings.ContainsRune(s, 0xFFFD) && validUTF8(pattern) && validUTF8(s) {
			if got := glob(pattern, s); got != want {
				t.Fatalf("glob(%q, %q) = %v, regexp says %v", pattern, s, got, want)
			}
		} else {
			glob(pattern, s) // must not panic
		}
		if !matchARN("*", s) {
			t.Fatal("* did not match")
		}
		matchARN(pattern, s)
	})
}

func validUTF8(s string) bool { return strings.ToValidUTF8(s, "\x00invalid") == s }

// FuzzParsePolicy feeds arbitrary documents to the parser and evaluates
// what parses: no panics, and a Deny never turns into an allow.
func FuzzParsePolicy(f *testing.F) {
	for _, s := range []string{
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:Get*","Resource":"arn:aws:s3:::b/*"}]}`,
		`{"Statement":{"Effect":"Deny","NotAction":["iam:*"],"NotResource":"*","Condition":{"ForAnyValue:StringLike":{"dynamodb:LeadingKeys":["u-*"]},"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}}`,
		`{"Statement":{"Effect":"Allow","Principal":{"AWS":["000000000000"]},"Action":"lambda:InvokeFunction","Condition":{"DateLessThan":{"aws:CurrentTime":"2030-01-01"},"NumericLessThan":{"s3:max-keys":5},"Null":{"s3:prefix":true}}}}`,
	} {
		f.Add(s, "s3:GetObject", "arn:aws:s3:::b/k")
	}
	f.Fuzz(func(t *testing.T, doc, action, resource string) {
		p, err := ParsePolicy("fuzz", []byte(doc))
		if err != nil {
			return
		}
		req := &Request{Principal: role(), Action: action, Resource: resource}
		req.Context.SourceIP = "10.1.2.3"
		req.Context.Set("s3:prefix", "u-1")
		req.Context.SetMulti("dynamodb:leadingkeys", []string{"u-1", "v"})
		d := Evaluate(req, []*Policy{p}, p)
		if d.Allowed && d.Statement.Effect != Allow || d.Explicit && d.Statement.Effect != Deny {
			t.Fatalf("decision %+v from a statement of the other effect", d)
		}
		for _, st := range p.Statements {
			if st.Effect == Deny && st.matches(req, false) && d.Allowed {
				t.Fatal("a matching Deny did not win")
			}
		}
	})
}

// FuzzCondition checks each operator against its negation: for a key that
// is present with one value, exactly one of the pair holds.
func FuzzCondition(f *testing.F) {
	f.Add("String", "abc", "a*c")
	f.Add("Numeric", "10", "9.5")
	f.Add("Date", "2026-12-01T00:00:00Z", "1700000000")
	f.Add("Arn", "arn:aws:s3:::b/k", "arn:aws:s3:::b/*")
	f.Add("Ip", "10.1.2.3", "10.0.0.0/8")
	pairs := map[string][][2]string{
		"String":  {{"StringEquals", "StringNotEquals"}, {"StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"}, {"StringLike", "StringNotLike"}},
		"Numeric": {{"NumericEquals", "NumericNotEquals"}},
		"Date":    {{"DateEquals", "DateNotEquals"}},
		"Arn":     {{"ArnEquals", "ArnNotEquals"}, {"ArnLike", "ArnNotLike"}},
		"Ip":      {{"IpAddress", "NotIpAddress"}},
	}
	f.Fuzz(func(t *testing.T, family, requestValue, policyValue string) {
		for _, pair := range pairs[family] {
			var holds [2]bool
			for i, op := range pair {
				conds, err := parseConditions(map[string]any{op: map[string]any{"k:v": policyValue}})
				if err != nil {
					return // a value the operator cannot compare: refused at parse time
				}
				var ctx Context
				ctx.Set("k:v", requestValue)
				holds[i] = conds[0].eval(&ctx)
			}
			if holds[0] == holds[1] {
				// Values that do not parse (a number that is not one) match
				// neither way for Numeric and Date; every other pair is exact.
				if family == "Numeric" || family == "Date" || family == "Ip" {
					continue
				}
				t.Fatalf("%s and %s both %v for %q against %q", pair[0], pair[1], holds[0], requestValue, policyValue)
			}
		}
	})
}
