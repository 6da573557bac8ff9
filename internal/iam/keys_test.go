package iam

import (
	"testing"
	"time"
)

func TestSessionsLiveAndDieWithTheirFunction(t *testing.T) {
	k := NewKeys("test", "secret")
	if s, ok := k.Secret("test"); !ok || s != "secret" || k.SessionToken("test") != "" {
		t.Fatal("admin key")
	}
	a := &Role{Name: "a", ARN: "arn:aws:iam::000000000000:role/a", RoleID: RoleID("a")}
	b := &Role{Name: "b", ARN: "arn:aws:iam::000000000000:role/b", RoleID: RoleID("b")}
	k.Commit([]*Role{a, b}, map[string]string{"f": "a", "g": "a", "h": "b"})
	kf, release, ok := k.IssueFunction("f")
	kg, _, _ := k.IssueFunction("g")
	kh, _, _ := k.IssueFunction("h")
	if !ok || kf.ID == kg.ID || len(kf.ID) != 20 || kf.ID[:4] != "ASIA" || len(kf.Token) < 100 {
		t.Fatalf("issued %+v", kf)
	}
	if kf.Principal.ARN != "arn:aws:sts::000000000000:assumed-role/a/f" || kf.Principal.UserID != a.RoleID+":f" {
		t.Fatalf("principal %+v", kf.Principal)
	}
	if RoleID("a") != a.RoleID || RoleID("a") == RoleID("b") {
		t.Fatal("role IDs must be stable and distinct")
	}
	if _, _, ok := k.IssueFunction("nope"); ok {
		t.Fatal("credentials for an unknown function")
	}
	// g removed, h moved to role a, f stays: only f's key survives.
	a2 := &Role{Name: "a", ARN: a.ARN, RoleID: a.RoleID, Policies: []*Policy{{Name: "new"}}}
	k.Commit([]*Role{a2}, map[string]string{"f": "a", "h": "a"})
	if _, ok := k.Lookup(kf.ID); !ok {
		t.Fatal("a kept function lost its key")
	}
	for _, id := range []string{kg.ID, kh.ID} {
		if _, ok := k.Lookup(id); ok {
			t.Fatalf("key %s outlived its function or role", id)
		}
	}
	if ps, ok := k.Policies(kf.Principal); !ok || len(ps) != 1 || ps[0].Name != "new" {
		t.Fatal("a kept session does not see its role's new policies")
	}
	release()
	if _, ok := k.Lookup(kf.ID); ok {
		t.Fatal("release did not revoke")
	}
	// Expiry.
	ks := k.AssumeRole(a2, "s", time.Hour)
	if k.Expired(ks.ID) {
		t.Fatal("a fresh session is expired")
	}
	k.now = func() time.Time { return time.Now().Add(61 * time.Minute) }
	if !k.Expired(ks.ID) || k.Expired("test") {
		t.Fatal("expiry")
	}
}
