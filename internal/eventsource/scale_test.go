package eventsource_test

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudlet/cloudlet/internal/eventsource"
	"github.com/cloudlet/cloudlet/internal/lambda"
	"github.com/cloudlet/cloudlet/internal/sqs"
	"github.com/cloudlet/cloudlet/internal/store"
)

// backlog stands in for the SQS service: a queue holding n messages.
type backlog struct {
	mu   sync.Mutex
	left int
	seq  int
	ch   chan struct{}
}

func (b *backlog) Receive(ctx context.Context, name string, max int) ([]sqs.Received, bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []sqs.Received
	for ; max > 0 && b.left > 0; max-- {
		b.left--
		b.seq++
		id := strconv.Itoa(b.seq)
		out = append(out, sqs.Received{ID: id, Receipt: id, Body: id})
	}
	return out, true, nil
}

func (b *backlog) Delete(ctx context.Context, name string, receipts []string) error { return nil }
func (b *backlog) Arrived() <-chan struct{}                                         { return b.ch }
func (b *backlog) ARN(name string) string                                           { return "arn:aws:sqs:us-east-1:000000000000:" + name }
func (b *backlog) Region() string                                                   { return "us-east-1" }

// busy stands in for a function whose invocations take a while; it
// records the most at once.
type busy struct {
	now, peak atomic.Int32
	calls     atomic.Int64
}

func (f *busy) Invoke(ctx context.Context, req *lambda.Request) (*lambda.Result, error) {
	n := f.now.Add(1)
	for {
		p := f.peak.Load()
		if n <= p || f.peak.CompareAndSwap(p, n) {
			break
		}
	}
	f.calls.Add(1)
	time.Sleep(5 * time.Millisecond) // the function's work
	f.now.Add(-1)
	return &lambda.Result{Payload: []byte("null")}, nil
}

// A backlog makes a queue mapping's pollers grow past the first ones, up
// to the mapping's Concurrency and never beyond it.
func TestQueuePollersScaleWithTheBacklog(t *testing.T) {
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	restore := eventsource.SetScaleEvery(5 * time.Millisecond)
	defer restore()
	idleExit := eventsource.PollerIdleExit
	eventsource.PollerIdleExit = 50 * time.Millisecond
	defer func() { eventsource.PollerIdleExit = idleExit }()
	q := &backlog{left: 1 << 30, ch: make(chan struct{})}
	f := &busy{}
	r := eventsource.NewRunner(st, nil, q, f, func(fn string) string { return fn }, nil)
	defer r.Close()
	r.Set([]eventsource.Mapping{{ID: "m", Function: "f", Queue: "jobs", BatchSize: 1, Concurrency: 7, Enabled: true}})
	deadline := time.Now().Add(30 * time.Second)
	for f.peak.Load() < 7 {
		if time.Now().After(deadline) {
			t.Fatalf("the pollers never reached the mapping's concurrency: peak %d after %d invocations", f.peak.Load(), f.calls.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
	// keep the backlog a while longer: still never beyond 7
	for n := f.calls.Load(); f.calls.Load() < n+200; {
		time.Sleep(5 * time.Millisecond)
	}
	if p := f.peak.Load(); p != 7 {
		t.Fatalf("peak %d invocations at once, want 7 (the mapping's concurrency)", p)
	}
	// the backlog gone, the pollers beyond the first ones stop
	q.mu.Lock()
	q.left = 0
	q.mu.Unlock()
	deadline = time.Now().Add(30 * time.Second)
	for r.QueuePollers("m") != eventsource.StartPollers {
		if time.Now().After(deadline) {
			t.Fatalf("%d pollers still run on an empty queue, want %d", r.QueuePollers("m"), eventsource.StartPollers)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
