package iam

import "testing"

// BenchmarkAuthorize is one function's Lambda call decided against a role
// of a few statements, as the Lambda API asks for it (make bench reports
// it beside an empty baseline).
func BenchmarkAuthorize(b *testing.B) {
	keys := NewKeys("test", "test")
	p, err := ParsePolicy("role", []byte(`{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["dynamodb:GetItem","dynamodb:Query"],"Resource":["arn:aws:dynamodb:us-east-1:000000000000:table/orders","arn:aws:dynamodb:us-east-1:000000000000:table/orders/index/*"]},
		{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::uploads/*"},
		{"Effect":"Deny","Action":"lambda:DeleteFunction","Resource":"*"},
		{"Effect":"Allow","Action":"lambda:InvokeFunction","Resource":"arn:aws:lambda:us-east-1:000000000000:function:svc-dev-*"}]}`))
	if err != nil {
		b.Fatal(err)
	}
	role := &Role{Name: "r", ARN: "arn:aws:iam::000000000000:role/r", RoleID: RoleID("r"), Policies: []*Policy{p}}
	keys.Commit([]*Role{role}, map[string]string{"svc-dev-a": "r"})
	key, _, _ := keys.IssueFunction("svc-dev-a")
	a := NewAuthorizer(keys, Enforce)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req := Request{Action: "lambda:InvokeFunction", Resource: "arn:aws:lambda:us-east-1:000000000000:function:svc-dev-b"}
		req.Context.SourceIP = "127.0.0.1"
		req.Context.RequestedRegion = "us-east-1"
		if out := a.Authorize(&key, &req, nil); !out.Allowed {
			b.Fatal("denied")
		}
	}
}
