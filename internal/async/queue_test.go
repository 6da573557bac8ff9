package async_test

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/cloudlet/cloudlet/internal/async"
	"github.com/cloudlet/cloudlet/internal/lambda"
	"github.com/cloudlet/cloudlet/internal/store"
)

// fn stands in for the registry: it answers each call as behave says and
// counts the calls per payload.
type fn struct {
	mu     sync.Mutex
	calls  map[string]int
	ids    map[string]map[string]bool // payload → request IDs seen
	behave func(payload string, call int) (*lambda.Result, error)
}

func (f *fn) Invoke(ctx context.Context, req *lambda.Request) (*lambda.Result, error) {
	f.mu.Lock()
	f.calls[string(req.Payload)]++
	if f.ids == nil {
		f.ids = map[string]map[string]bool{}
	}
	if f.ids[string(req.Payload)] == nil {
		f.ids[string(req.Payload)] = map[string]bool{}
	}
	f.ids[string(req.Payload)][req.RequestID] = true
	n := f.calls[string(req.Payload)]
	f.mu.Unlock()
	return f.behave(string(req.Payload), n)
}

func (f *fn) count(p string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[p]
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func pending(t *testing.T, st *store.Store) int {
	var n int
	st.View(context.Background(), func(tx *store.Tx) error {
		return tx.QueryRow(`SELECT COUNT(*) FROM async_events`).Scan(&n)
	})
	return n
}

func TestMain(m *testing.M) {
	if dir := os.Getenv("ASYNC_TEST_CHILD"); dir != "" {
		crashChild(dir)
		return
	}
	async.RetryDelays = []time.Duration{time.Millisecond, 2 * time.Millisecond}
	async.ThrottleDelay, async.ThrottleMax = time.Millisecond, 10*time.Millisecond
	m.Run()
}

// A throttled event waits and runs (never dropped); a failing one runs
// 1 + MaxRetries times and is given up on; one that succeeds runs once;
// events left by a stopped queue run after the next start.
func TestRetriesAndThrottles(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	f := &fn{calls: map[string]int{}, behave: func(p string, call int) (*lambda.Result, error) {
		switch {
		case p == "busy" && call <= 5:
			return nil, lambda.ErrThrottled
		case p == "broken":
			return &lambda.Result{FunctionError: "Unhandled", ErrorType: "Error"}, nil
		}
		return &lambda.Result{Payload: []byte("null")}, nil
	}}
	q := async.New(st, f, nil)
	ctx := context.Background()
	for _, p := range []string{"ok", "busy", "broken"} {
		if _, err := q.Enqueue(ctx, "", "f", []byte(p), ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Start(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "every event done", func() bool { return pending(t, st) == 0 })
	if f.count("ok") != 1 || f.count("busy") != 6 || f.count("broken") != 1+async.MaxRetries {
		t.Fatalf("calls: ok %d, busy %d, broken %d", f.count("ok"), f.count("busy"), f.count("broken"))
	}
	f.mu.Lock()
	if ids := f.ids["broken"]; len(ids) != 1 || ids[""] {
		t.Errorf("the retries of one event saw request IDs %v, want one", ids)
	}
	f.mu.Unlock()
	q.Close()
	// queued while stopped: runs at the next start
	q.Enqueue(ctx, "", "f", []byte("later"), "")
	if f.count("later") != 0 {
		t.Fatal("ran while stopped")
	}
	q2 := async.New(st, f, nil)
	if err := q2.Start(); err != nil {
		t.Fatal(err)
	}
	defer q2.Close()
	eventually(t, "the event queued while stopped", func() bool { return f.count("later") == 1 && pending(t, st) == 0 })
}
