package iam

import "testing"

func TestKeys(t *testing.T) {
	k := NewKeys("test", "secret")
	if s, ok := k.Secret("test"); !ok || s != "secret" {
		t.Fatalf("admin secret = %q, %v", s, ok)
	}
	a := k.Issue("function:f")
	if a.Admin || a.ID == "test" || len(a.ID) != 20 || len(a.Secret) != 40 {
		t.Fatalf("issued key %+v", a)
	}
	if b := k.Issue("function:f"); b != a {
		t.Fatalf("second Issue gave a different key: %+v vs %+v", b, a)
	}
	if c := k.Issue("function:g"); c.ID == a.ID || c.Secret == a.Secret {
		t.Fatalf("two functions share a key")
	}
	if s, ok := k.Secret(a.ID); !ok || s != a.Secret {
		t.Fatalf("issued key not found")
	}
	if _, ok := k.Secret("nope"); ok {
		t.Fatal("unknown key found")
	}
}
