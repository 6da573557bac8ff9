package lambda

import (
	"fmt"
	"sync/atomic"
)

// account counts the execution slots of every function against the
// account's concurrency limit. Its count never exceeds max.
type account struct {
	n   atomic.Int64
	max int64
}

// take reserves up to n places, as many as are free; it returns how many.
func (a *account) take(n int) int {
	for {
		cur := a.n.Load()
		free := a.max - cur
		if free <= 0 {
			return 0
		}
		got := min(int64(n), free)
		if a.n.CompareAndSwap(cur, cur+got) {
			return int(got)
		}
	}
}

func (a *account) give(n int) { a.n.Add(-int64(n)) }

// slots counts one function's instances (execution slots: a process that
// runs several invocations at once holds several) against its own limit and
// the account's. Every method is called with the function's mu held.
//
// Invariants (checkLocked):
//   - 0 ≤ starting ≤ running ≤ limit;
//   - every running slot holds a place of the account, taken in acquire and
//     given back in release, at the moment the slot stops counting as
//     running: a replacement asked for right after (a provisioned instance
//     that died) finds the place free;
//   - the account's count is between 0 and its max.
type slots struct {
	running  int // started and not yet gone, starting included
	starting int // being initialised
	limit    int // the function's (reservedConcurrency, else the account's)
	acct     *account
}

// acquire reserves up to n slots, as many as both limits leave room for,
// as starting; it returns how many (0: none).
func (s *slots) acquire(n int) int {
	n = min(n, s.limit-s.running)
	if n <= 0 {
		return 0
	}
	got := s.acct.take(n)
	s.running += got
	s.starting += got
	return got
}

// started moves n slots from starting to running (initialised, or failed:
// then release follows).
func (s *slots) started(n int) { s.starting -= n }

// release ends n running slots and gives their places back to the account.
func (s *slots) release(n int) {
	s.running -= n
	s.acct.give(n)
}

// check reports the first broken invariant, or nil.
func (s *slots) check() error {
	if s.starting < 0 || s.starting > s.running || s.running > s.limit {
		return fmt.Errorf("slots: starting %d, running %d, limit %d", s.starting, s.running, s.limit)
	}
	if n := s.acct.n.Load(); n < 0 || n > s.acct.max {
		return fmt.Errorf("slots: the account holds %d of %d", n, s.acct.max)
	}
	return nil
}

// checkInvariantsLocked reports the first broken invariant of f's pool:
// its slots', and that idle instances are running ones not starting, and
// that queued calls are marked so.
func (f *function) checkInvariantsLocked() error {
	if err := f.slots.check(); err != nil {
		return fmt.Errorf("%s: %w", f.cfg.Name, err)
	}
	if idle := len(f.idle) + len(f.idleProv); idle > f.slots.running-f.slots.starting {
		return fmt.Errorf("%s: %d idle instances of %d running, %d starting", f.cfg.Name, idle, f.slots.running, f.slots.starting)
	}
	for _, c := range f.queue {
		if !c.queued {
			return fmt.Errorf("%s: a call in the queue is not marked queued", f.cfg.Name)
		}
	}
	return nil
}

// checking turns on the invariant checks at every change of a pool; the
// package's tests set it, so that every test, under -race, checks them.
var checking atomic.Bool

// checkedLocked panics when checking is on and an invariant is broken.
func (f *function) checkedLocked() {
	if checking.Load() {
		if err := f.checkInvariantsLocked(); err != nil {
			panic(err)
		}
	}
}
