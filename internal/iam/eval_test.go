package iam

import (
	"strings"
	"testing"
	"time"
)

func mustPolicy(t *testing.T, doc string) *Policy {
	t.Helper()
	p, err := ParsePolicy("test", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

const acct = "000000000000"

func role() *Principal {
	return &Principal{ARN: "arn:aws:sts::" + acct + ":assumed-role/app-role/fn", Account: acct, UserID: "AROAEXAMPLE:fn",
		RoleARN: "arn:aws:iam::" + acct + ":role/app-role", RoleName: "app-role", Session: "fn"}
}

// The matrix follows AWS's policy evaluation logic and the examples of
// the IAM User Guide (policy elements, condition operators, multi-valued
// keys). Each row is one request against one identity policy.
func TestEvaluateMatrix(t *testing.T) {
	fn := "arn:aws:lambda:us-east-1:" + acct + ":function:"
	table := "arn:aws:dynamodb:us-east-1:" + acct + ":table/Users"
	cases := []struct {
		name     string
		policy   string
		action   string
		resource string
		ctx      func(*Context)
		want     string // allow, deny (explicit), implicit
	}{
		{"allow exact", `{"Effect":"Allow","Action":"lambda:InvokeFunction","Resource":"` + fn + `a"}`, "lambda:InvokeFunction", fn + "a", nil, "allow"},
		{"other resource is implicitly denied", `{"Effect":"Allow","Action":"lambda:InvokeFunction","Resource":"` + fn + `a"}`, "lambda:InvokeFunction", fn + "b", nil, "implicit"},
		{"other action is implicitly denied", `{"Effect":"Allow","Action":"lambda:InvokeFunction","Resource":"*"}`, "lambda:GetFunctionConfiguration", fn + "a", nil, "implicit"},
		{"actions are case-insensitive", `{"Effect":"Allow","Action":"LAMBDA:invokefunction","Resource":"*"}`, "lambda:InvokeFunction", fn + "a", nil, "allow"},
		{"action wildcard", `{"Effect":"Allow","Action":"dynamodb:Get*","Resource":"*"}`, "dynamodb:GetItem", table, nil, "allow"},
		{"action wildcard does not match others", `{"Effect":"Allow","Action":"dynamodb:Get*","Resource":"*"}`, "dynamodb:PutItem", table, nil, "implicit"},
		{"action ? wildcard", `{"Effect":"Allow","Action":"s3:?etObject","Resource":"*"}`, "s3:GetObject", "arn:aws:s3:::b/k", nil, "allow"},
		{"service wildcard", `{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/*"}`, "s3:PutObject", "arn:aws:s3:::b/k/x", nil, "allow"},
		{"resources are case-sensitive", `{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::B/*"}`, "s3:PutObject", "arn:aws:s3:::b/k", nil, "implicit"},
		{"explicit deny beats allow", `[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"lambda:*","Resource":"` + fn + `secret"}]`, "lambda:InvokeFunction", fn + "secret", nil, "deny"},
		{"deny elsewhere leaves the allow", `[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"lambda:*","Resource":"` + fn + `secret"}]`, "lambda:InvokeFunction", fn + "public", nil, "allow"},
		{"NotAction allows the rest", `{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}`, "lambda:InvokeFunction", fn + "a", nil, "allow"},
		{"NotAction excludes", `{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}`, "iam:CreateUser", "arn:aws:iam::" + acct + ":user/x", nil, "implicit"},
		{"Deny with NotAction denies the rest", `[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","NotAction":["dynamodb:GetItem"],"Resource":"*"}]`, "dynamodb:PutItem", table, nil, "deny"},
		{"NotResource allows the rest", `{"Effect":"Allow","Action":"s3:*","NotResource":"arn:aws:s3:::private/*"}`, "s3:GetObject", "arn:aws:s3:::public/k", nil, "allow"},
		{"NotResource excludes", `{"Effect":"Allow","Action":"s3:*","NotResource":"arn:aws:s3:::private/*"}`, "s3:GetObject", "arn:aws:s3:::private/k", nil, "implicit"},
		{"wildcard does not span ARN parts", `{"Effect":"Allow","Action":"*","Resource":"arn:aws:dynamodb:*:table/Users"}`, "dynamodb:GetItem", table, nil, "implicit"},
		{"a short pattern ends in the rest", `{"Effect":"Allow","Action":"*","Resource":"arn:aws:dynamodb:*"}`, "dynamodb:GetItem", table, nil, "allow"},
		{"region wildcard", `{"Effect":"Allow","Action":"*","Resource":"arn:aws:dynamodb:*:*:table/Users"}`, "dynamodb:GetItem", table, nil, "allow"},
		{"account must match", `{"Effect":"Allow","Action":"*","Resource":"arn:aws:dynamodb:us-east-1:111111111111:table/Users"}`, "dynamodb:GetItem", table, nil, "implicit"},
		{"index under a table wildcard", `{"Effect":"Allow","Action":"dynamodb:Query","Resource":"` + table + `/index/*"}`, "dynamodb:Query", table + "/index/byEmail", nil, "allow"},
		{"table ARN does not cover its indexes", `{"Effect":"Allow","Action":"dynamodb:Query","Resource":"` + table + `"}`, "dynamodb:Query", table + "/index/byEmail", nil, "implicit"},
		{"StringEquals", `{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"us-east-1"}}}`, "s3:GetObject", "arn:aws:s3:::b/k", func(c *Context) { c.RequestedRegion = "us-east-1" }, "allow"},
		{"StringEquals other value", `{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":["eu-west-1","eu-central-1"]}}}`, "s3:GetObject", "arn:aws:s3:::b/k", func(c *Context) { c.RequestedRegion = "us-east-1" }, "implicit"},
		{"StringEquals missing key is false", `{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"s3:prefix":"home/"}}}`, "s3:ListBucket", "arn:aws:s3:::b", nil, "implicit"},
		{"StringNotEquals missing key is true", `{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringNotEquals":{"s3:prefix":"home/"}}}`, "s3:ListBucket", "arn:aws:s3:::b", nil, "allow"},
		{"StringNotEquals matches none", `{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringNotEquals":{"s3:prefix":["a/","b/"]}}}`, "s3:ListBucket", "arn:aws:s3:::b", func(c *Context) { c.Set("s3:prefix", "b/") }, "implicit"},
		{"StringEqualsIgnoreCase", `{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEqualsIgnoreCase":{"s3:prefix":"HOME/"}}}`, "s3:ListBucket", "arn:aws:s3:::b", func(c *Context) { c.Set("s3:prefix", "home/") }, "allow"},
		{"StringLike", `{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringLike":{"s3:prefix":["home/*",""]}}}`, "s3:ListBucket", "arn:aws:s3:::b", func(c *Context) { c.Set("s3:prefix", "home/ann/") }, "allow"},
		{"StringNotLike", `{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringNotLike":{"s3:prefix":"home/*"}}}`, "s3:ListBucket", "arn:aws:s3:::b", func(c *Context) { c.Set("s3:prefix", "etc/") }, "deny"},
		{"condition keys are case-insensitive", `{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"AWS:REQUESTEDREGION":"us-east-1"}}}`, "s3:GetObject", "arn:aws:s3:::b/k", func(c *Context) { c.RequestedRegion = "us-east-1" }, "allow"},
		{"IfExists holds when missing", `{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEqualsIfExists":{"dynamodb:select":"SPECIFIC_ATTRIBUTES"}}}`, "dynamodb:GetItem", table, nil, "allow"},
		{"IfExists checks when present", `{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEqualsIfExists":{"dynamodb:select":"SPECIFIC_ATTRIBUTES"}}}`, "dynamodb:GetItem", table, func(c *Context) { c.Set("dynamodb:select", "ALL_ATTRIBUTES") }, "implicit"},
		{"several operators are ANDed", `{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"us-east-1"},"Bool":{"aws:SecureTransport":"true"}}}`, "s3:GetObject", "arn:aws:s3:::b/k", func(c *Context) { c.RequestedRegion = "us-east-1" }, "implicit"},
		{"Bool", `{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}`, "s3:GetObject", "arn:aws:s3:::b/k", nil, "deny"},
		{"Bool written as a YAML/JSON boolean", `{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":false}}}`, "s3:GetObject", "arn:aws:s3:::b/k", nil, "deny"},
		{"NumericLessThanEquals", `{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NumericLessThanEquals":{"s3:max-keys":"10"}}}`, "s3:ListBucket", "arn:aws:s3:::b", func(c *Context) { c.Set("s3:max-keys", "10") }, "allow"},
		{"NumericLessThan", `{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NumericLessThan":{"s3:max-keys":10}}}`, "s3:ListBucket", "arn:aws:s3:::b", func(c *Context) { c.Set("s3:max-keys", "10") }, "implicit"},
		{"NumericGreaterThan", `{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NumericGreaterThan":{"s3:max-keys":"5"}}}`, "s3:ListBucket", "arn:aws:s3:::b", func(c *Context) { c.Set("s3:max-keys", "6") }, "allow"},
		{"NumericNotEquals", `{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NumericNotEquals":{"s3:max-keys":["5","6"]}}}`, "s3:ListBucket", "arn:aws:s3:::b", func(c *Context) { c.Set("s3:max-keys", "6") }, "implicit"},
		{"DateLessThan", `{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"2027-01-01T00:00:00Z"}}}`, "s3:GetObject", "arn:aws:s3:::b/k", func(c *Context) { c.Time = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC) }, "allow"},
		{"DateGreaterThan", `{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2027-01-01T00:00:00Z"}}}`, "s3:GetObject", "arn:aws:s3:::b/k", func(c *Context) { c.Time = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC) }, "implicit"},
		{"DateGreaterThanEquals epoch", `{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"DateGreaterThanEquals":{"aws:EpochTime":"1700000000"}}}`, "s3:GetObject", "arn:aws:s3:::b/k", func(c *Context) { c.Time = time.Unix(1700000000, 0) }, "allow"},
		{"IpAddress CIDR", `{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":["203.0.113.0/24","127.0.0.0/8"]}}}`, "s3:GetObject", "arn:aws:s3:::b/k", func(c *Context) { c.SourceIP = "127.0.0.1" }, "allow"},
		{"IpAddress outside", `{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}}`, "s3:GetObject", "arn:aws:s3:::b/k", func(c *Context) { c.SourceIP = "127.0.0.1" }, "implicit"},
		{"NotIpAddress IPv6", `{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":"2001:db8::/32"}}}`, "s3:GetObject", "arn:aws:s3:::b/k", func(c *Context) { c.SourceIP = "::1" }, "deny"},
		{"ArnLike PrincipalArn", `{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/app-*"}}}`, "s3:GetObject", "arn:aws:s3:::b/k", nil, "allow"},
		{"ArnEquals PrincipalArn is the role", `{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::000000000000:role/app-role"}}}`, "s3:GetObject", "arn:aws:s3:::b/k", nil, "allow"},
		{"ArnNotLike", `{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/app-*"}}}`, "s3:GetObject", "arn:aws:s3:::b/k", nil, "implicit"},
		{"Null true: key absent", `{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Null":{"s3:prefix":"true"}}}`, "s3:ListBucket", "arn:aws:s3:::b", nil, "allow"},
		{"Null false: key present", `{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Null":{"s3:prefix":"false"}}}`, "s3:ListBucket", "arn:aws:s3:::b", nil, "implicit"},
		{"ForAllValues every value allowed", `{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"ForAllValues:StringEquals":{"dynamodb:Attributes":["id","name","email"]}}}`, "dynamodb:GetItem", table, func(c *Context) { c.SetMulti("dynamodb:attributes", []string{"id", "name"}) }, "allow"},
		{"ForAllValues one value outside", `{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"ForAllValues:StringEquals":{"dynamodb:Attributes":["id","name"]}}}`, "dynamodb:GetItem", table, func(c *Context) { c.SetMulti("dynamodb:attributes", []string{"id", "salary"}) }, "implicit"},
		{"ForAllValues missing key holds", `{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"ForAllValues:StringEquals":{"dynamodb:Attributes":["id"]}}}`, "dynamodb:GetItem", table, nil, "allow"},
		{"ForAnyValue one matches", `{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"ForAnyValue:StringLike":{"dynamodb:LeadingKeys":["user-*"]}}}`, "dynamodb:GetItem", table, func(c *Context) { c.SetMulti("dynamodb:leadingkeys", []string{"x", "user-1"}) }, "allow"},
		{"ForAnyValue missing key fails", `{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"ForAnyValue:StringLike":{"dynamodb:LeadingKeys":["user-*"]}}}`, "dynamodb:GetItem", table, nil, "implicit"},
		{"Deny ForAnyValue", `[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"ForAnyValue:StringEquals":{"dynamodb:Attributes":["salary"]}}}]`, "dynamodb:GetItem", table, func(c *Context) { c.SetMulti("dynamodb:attributes", []string{"id", "salary"}) }, "deny"},
		{"ForAnyValue IfExists holds when missing", `[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"ForAnyValue:StringEqualsIfExists":{"dynamodb:Attributes":["salary"]}}}]`, "dynamodb:GetItem", table, nil, "deny"},
		{"no statements match: implicit deny", `{"Effect":"Deny","Action":"s3:*","Resource":"*"}`, "lambda:InvokeFunction", fn + "a", nil, "implicit"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := c.policy
			if !strings.HasPrefix(doc, "[") {
				doc = "[" + doc + "]"
			}
			p := mustPolicy(t, `{"Version":"2012-10-17","Statement":`+doc+`}`)
			req := &Request{Principal: role(), Action: c.action, Resource: c.resource}
			if c.ctx != nil {
				c.ctx(&req.Context)
			}
			d := Evaluate(req, []*Policy{p}, nil)
			got := "implicit"
			switch {
			case d.Allowed:
				got = "allow"
			case d.Explicit:
				got = "deny"
			}
			if got != c.want {
				t.Fatalf("%s on %s: %s, want %s", c.action, c.resource, got, c.want)
			}
			if (got == "implicit") != (d.Statement == nil) {
				t.Fatalf("deciding statement %+v for %s", d.Statement, got)
			}
		})
	}
}

// A resource policy allows on its own within the account; an explicit deny
// in either policy wins.
func TestEvaluateResourcePolicy(t *testing.T) {
	fnARN := "arn:aws:lambda:us-east-1:" + acct + ":function:target"
	resource := mustPolicy(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:role/app-role"},"Action":"lambda:InvokeFunction","Resource":"`+fnARN+`"}]}`)
	req := &Request{Principal: role(), Action: "lambda:InvokeFunction", Resource: fnARN}
	if d := Evaluate(req, nil, resource); !d.Allowed || !d.InResource {
		t.Fatalf("resource policy naming the role did not allow: %+v", d)
	}
	other := &Principal{ARN: "arn:aws:sts::" + acct + ":assumed-role/other/fn2", Account: acct, RoleARN: "arn:aws:iam::" + acct + ":role/other"}
	if d := Evaluate(&Request{Principal: other, Action: "lambda:InvokeFunction", Resource: fnARN}, nil, resource); d.Allowed {
		t.Fatal("resource policy allowed a principal it does not name")
	}
	deny := mustPolicy(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"lambda:*","Resource":"*"}]}`)
	req = &Request{Principal: role(), Action: "lambda:InvokeFunction", Resource: fnARN}
	if d := Evaluate(req, []*Policy{deny}, resource); d.Allowed || !d.Explicit || d.InResource {
		t.Fatalf("identity deny did not beat the resource allow: %+v", d)
	}
	// Naming the account delegates to the account's own policies: a role
	// session still needs an identity Allow.
	account := mustPolicy(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"000000000000"},"Action":"lambda:*"}]}`)
	if d := Evaluate(&Request{Principal: other, Action: "lambda:GetFunction", Resource: fnARN}, nil, account); d.Allowed {
		t.Fatal("a resource policy naming the account granted a role session without its own Allow")
	}
	allowInvoke := mustPolicy(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:InvokeFunction","Resource":"*"}]}`)
	if d := Evaluate(&Request{Principal: other, Action: "lambda:InvokeFunction", Resource: fnARN}, []*Policy{allowInvoke}, account); !d.Allowed {
		t.Fatal("the session's own Allow did not allow beside the account's grant")
	}
}

func TestParseErrors(t *testing.T) {
	for doc, want := range map[string]string{
		`{"Statement":{"Effect":"Permit","Action":"s3:*","Resource":"*"}}`:                                                        "Effect must be Allow or Deny",
		`{"Statement":{"Effect":"Allow","Resource":"*"}}`:                                                                         "Action or NotAction is required",
		`{"Statement":{"Effect":"Allow","Action":"s3:*","NotAction":"s3:Get*","Resource":"*"}}`:                                   "both Action and NotAction",
		`{"Statement":{"Effect":"Allow","Action":"GetItem","Resource":"*"}}`:                                                      "is not an action",
		`{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"my-bucket"}}`:                                                 "is not an ARN",
		`{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEqualz":{"a:b":"c"}}}}`:                "unknown condition operator",
		`{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"nope"}}}}`:       "not an IP address",
		`{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"NumericEquals":{"s3:max-keys":"ten"}}}}`:     "not a number",
		`{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"soon"}}}}`: "not a date",
		`{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Extra":1}}`:                                               "unknown element",
		`{"Version":"2020-01-01","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}`:                                  "Version must be",
		`{"Statement":[]}`: "has no Statement",
		`[]`:               "must be a JSON object",
	} {
		_, err := ParsePolicy("p", []byte(doc))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", doc, err, want)
		}
	}
}

func TestGlob(t *testing.T) {
	for _, c := range []struct {
		p, s string
		want bool
	}{
		{"*", "", true}, {"a*", "a", true}, {"a*b", "axxb", true}, {"a*b", "axxc", false},
		{"?", "é", true}, {"a?c", "abc", true}, {"a?c", "ac", false}, {"*a*a*a*a*b", strings.Repeat("a", 60), false},
		{"", "", true}, {"", "a", false}, {"table/*", "table/x/y", true},
	} {
		if got := glob(c.p, c.s); got != c.want {
			t.Errorf("glob(%q, %q) = %v", c.p, c.s, got)
		}
	}
}

// A service principal is allowed by a resource policy that names it
// (with aws:SourceArn and aws:SourceAccount as S3 sets them), never by a
// role's statement or without a policy.
func TestServiceAllowed(t *testing.T) {
	doc := `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:000000000000:q",
		 "Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:s3:::uploads-*"},"StringEquals":{"aws:SourceAccount":"000000000000"}}},
		{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:role/r"},"Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:000000000000:other"}]}`
	p, err := ParsePolicy("test", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		service, source, resource string
		rp                        *Policy
		want                      bool
	}{
		{"s3.amazonaws.com", "arn:aws:s3:::uploads-a", "arn:aws:sqs:us-east-1:000000000000:q", p, true},
		{"s3.amazonaws.com", "arn:aws:s3:::photos", "arn:aws:sqs:us-east-1:000000000000:q", p, false},
		{"sns.amazonaws.com", "arn:aws:s3:::uploads-a", "arn:aws:sqs:us-east-1:000000000000:q", p, false},
		{"s3.amazonaws.com", "arn:aws:s3:::uploads-a", "arn:aws:sqs:us-east-1:000000000000:other", p, false},
		{"s3.amazonaws.com", "arn:aws:s3:::uploads-a", "arn:aws:sqs:us-east-1:000000000000:q", nil, false},
	} {
		if got := ServiceAllowed(c.service, "000000000000", c.source, "sqs:SendMessage", c.resource, c.rp); got != c.want {
			t.Errorf("%s for %s on %s: %v, want %v", c.service, c.source, c.resource, got, c.want)
		}
	}
}
