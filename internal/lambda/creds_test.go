package lambda

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Every instance gets credentials of its own, revoked when it is gone.
func TestInstancesGetTheirOwnCredentials(t *testing.T) {
	var issued, released atomic.Int32
	r := newRegistry(t, Options{IdleTimeout: 100 * time.Millisecond,
		Credentials: func(fn string) (InstanceCredentials, func()) {
			n := strconv.Itoa(int(issued.Add(1)))
			return InstanceCredentials{KeyID: "ASIA" + n, Secret: "s" + n, Token: "t" + n}, func() { released.Add(1) }
		}})
	if err := r.Deploy([]FunctionSpec{nodeSpec(t, "f")}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := r.Invoke(context.Background(), &Request{Function: "f", Payload: []byte(`{"mode":"sleep","ms":300}`)}); err != nil {
				t.Error(err)
			}
		}()
	}
	waitFor(t, "two instances", func() bool { return r.Instances() == 2 })
	wg.Wait()
	if issued.Load() != 2 {
		t.Fatalf("issued %d credentials for 2 instances", issued.Load())
	}
	waitFor(t, "scale to zero", func() bool { return r.Instances() == 0 })
	waitFor(t, "credentials released", func() bool { return released.Load() == 2 })
}

// An instance that fails to initialise gives its credentials back.
func TestFailedStartReleasesCredentials(t *testing.T) {
	var issued, released atomic.Int32
	r := newRegistry(t, Options{Credentials: func(fn string) (InstanceCredentials, func()) {
		issued.Add(1)
		return InstanceCredentials{KeyID: "ASIAX", Secret: "s", Token: "t"}, func() { released.Add(1) }
	}})
	s := nodeSpec(t, "f")
	s.Handler = "handler.missing"
	if err := r.Deploy([]FunctionSpec{s}); err != nil {
		t.Fatal(err)
	}
	if res := invoke(t, r, "f", `{}`); res.ErrorType != "Runtime.HandlerNotFound" {
		t.Fatalf("result = %+v", res)
	}
	waitFor(t, "every issued credential released", func() bool { return issued.Load() > 0 && released.Load() == issued.Load() })
}
