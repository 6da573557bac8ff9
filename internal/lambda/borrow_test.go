package lambda

import (
	"context"
	"strconv"
	"testing"
	"time"
)

// borrowedSleep starts a call that sleeps on f's one idle instance and
// returns once a caller has taken that instance from the idle stack.
func borrowedSleep(t *testing.T, r *Registry, name string, ms int) <-chan *Result {
	t.Helper()
	f, ok := r.lookup(name)
	if !ok {
		t.Fatalf("no function %s", name)
	}
	done := make(chan *Result, 1)
	go func() {
		res, err := r.Invoke(context.Background(), &Request{Function: name, Payload: []byte(`{"mode":"sleep","ms":` + strconv.Itoa(ms) + `}`)})
		if err != nil {
			t.Errorf("invoke: %v", err)
		}
		done <- res
	}()
	waitFor(t, "the idle instance to be taken", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return len(f.idle) == 0
	})
	return done
}

// An idle instance taken by a caller keeps serving when its idle timer fires
// during the call, and idles out afterwards (its goroutine is not left
// waiting for the caller).
func TestIdleTimerFiringDuringABorrowedCall(t *testing.T) {
	r := newRegistry(t, Options{IdleTimeout: 100 * time.Millisecond})
	if err := r.Deploy([]FunctionSpec{nodeSpec(t, "f")}); err != nil {
		t.Fatal(err)
	}
	first := decode(t, invoke(t, r, "f", `{}`))
	res := <-borrowedSleep(t, r, "f", 400)
	if res == nil || res.FunctionError != "" {
		t.Fatalf("borrowed call: %+v", res)
	}
	again := decode(t, invoke(t, r, "f", `{}`))
	if again["pid"] != first["pid"] {
		t.Fatalf("the warm instance was replaced: pid %v then %v", first["pid"], again["pid"])
	}
	waitFor(t, "scale to zero after the borrowed call", func() bool { return r.Instances() == 0 })
}

// A deploy during a borrowed call lets the call finish on the old version,
// whose instance then exits.
func TestDeployDuringABorrowedCall(t *testing.T) {
	r := newRegistry(t, Options{})
	if err := r.Deploy([]FunctionSpec{nodeSpec(t, "f")}); err != nil {
		t.Fatal(err)
	}
	invoke(t, r, "f", `{}`)
	done := borrowedSleep(t, r, "f", 300)
	if err := r.Deploy([]FunctionSpec{nodeSpec(t, "f")}); err != nil {
		t.Fatal(err)
	}
	if res := <-done; res == nil || res.FunctionError != "" {
		t.Fatalf("borrowed call: %+v", res)
	}
	waitFor(t, "the old version's instance to exit", func() bool { return r.Instances() == 0 })
	invoke(t, r, "f", `{}`) // the new version serves
}
