package iam

import "testing"

func TestSuggest(t *testing.T) {
	fn := "arn:aws:lambda:us-east-1:000000000000:function:"
	allow, deny := Decision{Allowed: true}, Decision{}
	entries := []Entry{
		{Action: "lambda:InvokeFunction", Resource: fn + "a", Decision: allow},
		{Action: "lambda:InvokeFunction", Resource: fn + "a", Decision: allow},
		{Action: "lambda:GetFunction", Resource: fn + "b", Decision: deny},
		{Action: "lambda:GetFunctionConfiguration", Resource: fn + "b", Decision: deny},
		{Action: "lambda:ListFunctions", Resource: "*", Decision: deny},
	}
	got := YAML(Suggest(entries))
	want := `# not allowed yet:
- Effect: Allow
  Action:
    - lambda:ListFunctions
  Resource:
    - '*'
# not allowed yet:
- Effect: Allow
  Action:
    - lambda:GetFunction
    - lambda:GetFunctionConfiguration
  Resource:
    - arn:aws:lambda:us-east-1:000000000000:function:b
- Effect: Allow
  Action:
    - lambda:InvokeFunction
  Resource:
    - arn:aws:lambda:us-east-1:000000000000:function:a
`
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	// What the suggestion allows is exactly what was done.
	var sts []*Statement
	for _, s := range Suggest(entries) {
		doc := map[string]any{"Effect": "Allow", "Action": toAny(s.Actions), "Resource": toAny(s.Resources)}
		st, err := ParseStatement(doc, "suggested")
		if err != nil {
			t.Fatal(err)
		}
		sts = append(sts, st)
	}
	p := &Policy{Statements: sts}
	for _, e := range entries {
		req := &Request{Principal: role(), Action: e.Action, Resource: e.Resource}
		if d := Evaluate(req, []*Policy{p}, nil); !d.Allowed {
			t.Errorf("the suggestion does not allow %s on %s", e.Action, e.Resource)
		}
	}
	req := &Request{Principal: role(), Action: "lambda:InvokeFunction", Resource: fn + "b"}
	if d := Evaluate(req, []*Policy{p}, nil); d.Allowed {
		t.Error("the suggestion allows more than was done")
	}
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
