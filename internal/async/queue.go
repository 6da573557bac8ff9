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
//   - A function error is retried MaxRetries times (Lambda's default 2),
//     after RetryDelays (Lambda's 1 and 2 minutes); an event older than
//     MaxAge (Lambda's 6 hours) is given up on. Each outcome is logged.
//
// Not yet: per-function maximumRetryAttempts and maximumEventAge
// (PutFunctionEventInvokeConfig), destinations (onSuccess, onFailure).
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
	st  *store.Store
	inv lambda.Invoker
	log *slog.Logger

	mu     sync.Mutex
	wakeCh chan struct{}

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

// Enqueue records an event for function; it is durable when Enqueue
// returns nil.
func (q *Queue) Enqueue(ctx context.Context, function string, payload []byte, traceID string) (string, error) {
	var id string
	err := q.st.Update(ctx, func(tx *store.Tx) (err error) {
		id, err = EnqueueTx(tx, function, payload, traceID)
		return err
	})
	if err == nil {
		q.wake()
	}
	return id, err
}

// EnqueueTx records an event for function in tx, for a caller that must
// record it together with its own changes (a schedule's tick); the caller
// calls Wake once tx has committed.
func EnqueueTx(tx *store.Tx, function string, payload []byte, traceID string) (string, error) {
	id := newID()
	now := time.Now().UnixMilli()
	_, err := tx.Exec(`INSERT INTO async_events (id, function, payload, trace, received, attempts, next, claimed) VALUES (?, ?, ?, ?, ?, 0, ?, 0)`,
		id, function, payload, traceID, now, now)
	return id, err
}

// Wake tells the workers that events were queued.
func (q *Queue) Wake() { q.wake() }

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

// run invokes one event and records its outcome.
func (q *Queue) run(ctx context.Context, ev *event) {
	log := q.log.With("function", ev.function, "event_id", ev.id)
	res, err := q.inv.Invoke(ctx, &lambda.Request{Function: ev.function, Payload: ev.payload, TraceID: ev.trace})
	if ctx.Err() != nil {
		return // stopping: the claim is released at the next start
	}
	age := time.Since(ev.received)
	var next time.Duration
	attempts := ev.attempts
	switch {
	case err == nil && res.FunctionError == "":
		log.Debug("async: event done", "invocation_id", res.RequestID)
		q.finish(ev, 0, 0)
		return
	case errors.Is(err, lambda.ErrFunctionNotFound):
		log.Warn("async: event dropped: the function no longer exists")
		q.finish(ev, 0, 0)
		return
	case errors.Is(err, lambda.ErrThrottled) || errors.Is(err, lambda.ErrStopped): // wait, without counting an attempt
		// The longer it has waited, the longer the next wait: a quarter of
		// its age, between ThrottleDelay and ThrottleMax.
		delay := min(max(age/4, ThrottleDelay), ThrottleMax)
		next = delay
		log.Info("async: event throttled; it waits and runs later", "err", err, "retry_in", delay)
	default: // the function failed (or could not be invoked)
		attempts++
		kind := ""
		if err != nil {
			kind = err.Error()
		} else {
			kind = res.ErrorType
		}
		if attempts > MaxRetries {
			log.Warn("async: event dropped after its retries", "attempts", attempts, "error", kind)
			q.finish(ev, 0, 0)
			return
		}
		next = RetryDelays[min(attempts-1, len(RetryDelays)-1)]
		log.Info("async: the function failed; the event is retried", "attempt", attempts, "error", kind, "retry_in", next)
	}
	if age+next > MaxAge {
		log.Warn("async: event dropped: older than the maximum event age", "age", age.Round(time.Second))
		q.finish(ev, 0, 0)
		return
	}
	q.finish(ev, next, attempts)
}

// finish deletes the event (next 0), or releases it to run again after
// next.
func (q *Queue) finish(ev *event, next time.Duration, attempts int) {
	// Recording the outcome is retried: an event left claimed would not
	// run again before the next start.
	var err error
	for try := 0; try < 10; try++ {
		if err = q.record(ev, next, attempts); err == nil || errors.Is(err, store.ErrClosed) {
			break
		}
		time.Sleep(time.Duration(try+1) * 100 * time.Millisecond)
	}
	if err != nil && !errors.Is(err, store.ErrClosed) {
		q.log.Error("async: record an event's outcome", "event_id", ev.id, "err", err)
	}
	q.wake()
}

func (q *Queue) record(ev *event, next time.Duration, attempts int) error {
	return q.st.Update(context.Background(), func(tx *store.Tx) error {
		if next == 0 {
			_, err := tx.Exec(`DELETE FROM async_events WHERE id = ?`, ev.id)
			return err
		}
		_, err := tx.Exec(`UPDATE async_events SET claimed = 0, attempts = ?, next = ? WHERE id = ?`,
			attempts, time.Now().Add(next).UnixMilli(), ev.id)
		return err
	})
}
