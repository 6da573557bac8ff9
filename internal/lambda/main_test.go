package lambda

import (
	"os"
	"testing"
)

// Every test of the package checks the pools' invariants as it goes.
func TestMain(m *testing.M) {
	checking.Store(true)
	os.Exit(m.Run())
}

// The checks catch a broken invariant.
func TestInvariantChecksCatchBrokenCounts(t *testing.T) {
	a := &account{max: 2}
	s := slots{limit: 2, acct: a}
	if got := s.acquire(3); got != 2 || s.check() != nil {
		t.Fatalf("acquire 3 of 2: got %d, %v", got, s.check())
	}
	if got := s.acquire(1); got != 0 {
		t.Fatalf("acquire beyond the limit: %d", got)
	}
	s.started(2)
	s.release(1)
	if a.n.Load() != 1 || s.running != 1 || s.check() != nil {
		t.Fatalf("after release: %+v, account %d", s, a.n.Load())
	}
	s.starting = 2 // more starting than running
	if s.check() == nil {
		t.Fatal("starting > running not caught")
	}
	f := &function{slots: slots{limit: 1, acct: a, running: 1}, idle: []*instance{{}, {}}}
	if f.checkInvariantsLocked() == nil {
		t.Fatal("more idle instances than running ones not caught")
	}
}
