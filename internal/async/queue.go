// Package async is the durable queue of asynchronous invocations (Lambda
// Invoke with InvocationType Event): an event is kept in the store before
// its 202 is answered, and runs, is retried or is given up on as Lambda
// does it.
//
// Guarantees:
//   - Enqueue returns nil only once the event is durable (one store
//     Update): killed with -9 after that, a restarted server still runs it.
//   - Every event runs at least once: it is claimed in a transaction before
//     it runs and deleted only after it ran; claims of a server that
//     stopped (or was killed) are released when the next one starts.
//   - A throttled event (the function at its concurrency limit) waits and
//     runs later; it is never dropped for that, only for its age.
//   - A function error is retried the function's maximumRetryAttempts
//     (Lambda's default 2), after RetryDelays (Lambda's 1 and 2 minutes);
//     an event older than its maximumEventAge (Lambda's default 6 hours)
//     is given up on.
//   - An event's end and the records it sends to its destinations
//     (onSuccess, onFailure, the dead-letter target) are one transaction:
//     a record is sent exactly once, or not at all when the destination
//     refuses it (no such queue, no permission), which is logged.
//   - Every outcome is logged (the server's log and the function's own)
//     and counted (Stats).
package async

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/cloudlet/cloudlet/internal/lambda"
	"github.com/cloudlet/cloudlet/internal/store"
)

// Lambda's asynchronous invocation settings.
var (
	MaxRetries  = 2
	RetryDelays = []time.Duration{time.Minute, 2 * time.Minute}
	MaxAge      = 6 * time.Hour
	// ThrottleDelay is the shortest wait of a throttled event, ThrottleMax
	// the longest.
	ThrottleDelay, ThrottleMax = 100 * time.Millisecond, 5 * time.Minute
)

// Workers is how many events run at once.
const Workers = 16

// Queue is the durable queue of Event invocations.
type Queue struct {
	st    *store.Store
	inv   lambda.Invoker
	log   *slog.Logger
	dest  Deliverer
	fnLog FunctionLog

	mu     sync.Mutex
	wakeCh chan struct{}

	cmu sync.Mutex // guards cfg
	cfg configs

	counts sync.Map // function → *counters

	stop context.CancelFunc
	wg   sync.WaitGroup
}

// New returns the queue over st, running events through inv once Start is
// called.
func New(st *store.Store, inv lambda.Invoker, logger *slog.Logger) *Queue {
	if logger == nil {
		logger = slog.Default()
	}
	return &Queue{st: st, inv: inv, log: logger}
}

func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// SetDeliverer makes q send destination records through d. Call it
// before Start; without one, records are logged only.
func (q *Queue) SetDeliverer(d Deliverer) { q.dest = d }

// FunctionLog is where an event's outcomes are written besides the
// server's log: the function's own log (telemetry.Logs).
type FunctionLog interface {
	Append(function, text string)
}

// SetFunctionLog makes q write each outcome to l too. Call it before
// Start.
func (q *Queue) SetFunctionLog(l FunctionLog) { q.fnLog = l }

// Enqueue records an event for function; it is durable when Enqueue
// returns nil. id is the invocation's request ID ("": a new one), which
// the function sees on every attempt.
func (q *Queue) Enqueue(ctx context.Context, id, function string, payload []byte, traceID string) (string, error) {
	err := q.st.Update(ctx, func(tx *store.Tx) (err error) {
		id, err = EnqueueTx(tx, id, function, payload, traceID)
		return err
	})
	if err == nil {
		q.counters(function).received.Add(1)
		q.wake()
	}
	return id, err
}

// EnqueueTx records an event for function in tx, for a caller that must
// record it together with its own changes (a schedule's tick); the caller
// calls Wake once tx has committed. id "" makes a new one.
func EnqueueTx(tx *store.Tx, id, function string, payload []byte, traceID string) (string, error) {
	if id == "" {
		id = newID()
	}
	now := time.Now().UnixMilli()
	_, err := tx.Exec(`INSERT INTO async_events (id, function, payload, trace, received, attempts, next, claimed) VALUES (?, ?, ?, ?, ?, 0, ?, 0)`,
		id, function, payload, traceID, now, now)
	return id, err
}

// Wake tells the workers that events were queued, one for each function
// named (counted as received).
func (q *Queue) Wake(received ...string) {
	for _, fn := range received {
		q.counters(fn).received.Add(1)
	}
	q.wake()
}

func (q *Queue) signal() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.wakeCh == nil {
		q.wakeCh = make(chan struct{})
	}
	return q.wakeCh
}

func (q *Queue) wake() {
	q.mu.Lock()
	if q.wakeCh != nil {
		close(q.wakeCh)
		q.wakeCh = nil
	}
	q.mu.Unlock()
}

// Start releases the claims a previous server left and starts the
// workers.
func (q *Queue) Start() error {
	if err := q.st.Update(context.Background(), func(tx *store.Tx) error {
		_, err := tx.Exec(`UPDATE async_events SET claimed = 0 WHERE claimed = 1`)
		return err
	}); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	q.stop = cancel
	for i := 0; i < Workers; i++ {
		q.wg.Add(1)
		go func() {
			defer q.wg.Done()
			q.work(ctx)
		}()
	}
	return nil
}

// Close stops the workers; an event running is left claimed, and runs
// again after the next Start.
func (q *Queue) Close() {
	if q.stop != nil {
		q.stop()
	}
	q.wg.Wait()
}

type event struct {
	id, function, trace string
	payload             []byte
	received            time.Time
	attempts            int
}

// claim takes the next due event, if any; next is when one is due
// otherwise (zero: none waiting).
func (q *Queue) claim(ctx context.Context) (*event, time.Time, error) {
	var ev *event
	var next time.Time
	err := q.st.Update(ctx, func(tx *store.Tx) error {
		ev, next = nil, time.Time{}
		now := time.Now().UnixMilli()
		var e event
		var received int64
		err := tx.QueryRow(`SELECT id, function, payload, trace, received, attempts FROM async_events WHERE claimed = 0 AND next <= ? ORDER BY next LIMIT 1`, now).
			Scan(&e.id, &e.function, &e.payload, &e.trace, &received, &e.attempts)
		if err == nil {
			e.received = time.UnixMilli(received)
			ev = &e
			_, err = tx.Exec(`UPDATE async_events SET claimed = 1 WHERE id = ?`, e.id)
			return err
		}
		var at *int64
		if err := tx.QueryRow(`SELECT MIN(next) FROM async_events WHERE claimed = 0`).Scan(&at); err != nil {
			return err
		}
		if at != nil {
			next = time.UnixMilli(*at)
		}
		return nil
	})
	return ev, next, err
}

func (q *Queue) work(ctx context.Context) {
	for ctx.Err() == nil {
		woken := q.signal()
		ev, next, err := q.claim(ctx)
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, store.ErrClosed) {
				q.log.Error("async: claim an event", "err", err)
			}
			sleep(ctx, woken, time.Second)
			continue
		}
		if ev == nil {
			d := time.Minute
			if !next.IsZero() {
				d = time.Until(next)
			}
			sleep(ctx, woken, d)
			continue
		}
		q.run(ctx, ev)
	}
}

func sleep(ctx context.Context, woken <-chan struct{}, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-woken:
	case <-t.C:
	}
}
