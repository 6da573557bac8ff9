package async

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cloudlet/cloudlet/internal/lambda"
	"github.com/cloudlet/cloudlet/internal/store"
)

// Deliverer sends destination records: to a queue, or as an Event
// invocation of another function.
type Deliverer interface {
	// DeliverTx sends body to the destination arn in tx, on behalf of
	// function (whose execution role must allow it). after, when not nil,
	// is called once tx has committed. An error wrapping ErrRefused means
	// the destination refused the record and nothing was written: the
	// event ends without it. Any other error fails tx.
	DeliverTx(tx *store.Tx, function, arn string, body []byte, attrs []Attribute) (after func(), err error)
}

// Attribute is a message attribute of a record sent to a queue.
type Attribute struct{ Name, DataType, Value string }

// ErrRefused is wrapped by a Deliverer's errors for records a destination
// will never take.
var ErrRefused = errors.New("the destination refused the record")

// Conditions of a destination record, as Lambda writes them.
const (
	Success          = "Success"
	RetriesExhausted = "RetriesExhausted"
	EventAgeExceeded = "EventAgeExceeded"
)

// record is Lambda's destination record.
type record struct {
	Version        string `json:"version"`
	Timestamp      string `json:"timestamp"`
	RequestContext struct {
		RequestID              string `json:"requestId"`
		FunctionArn            string `json:"functionArn"`
		Condition              string `json:"condition"`
		ApproximateInvokeCount int    `json:"approximateInvokeCount"`
	} `json:"requestContext"`
	RequestPayload  json.RawMessage  `json:"requestPayload"`
	ResponseContext *responseContext `json:"responseContext,omitempty"`
	ResponsePayload json.RawMessage  `json:"responsePayload,omitempty"`
}

type responseContext struct {
	StatusCode      int    `json:"statusCode"`
	ExecutedVersion string `json:"executedVersion"`
	FunctionError   string `json:"functionError,omitempty"`
}

// asJSON is b when it is JSON, else b as a JSON string.
func asJSON(b []byte) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("null")
	}
	if json.Valid(b) {
		return b
	}
	s, _ := json.Marshal(string(b))
	return s
}

func (q *Queue) functionARN(name string) string {
	if a, ok := q.inv.(interface{ ARN(string) string }); ok {
		return a.ARN(name)
	}
	return "arn:aws:lambda:us-east-1:000000000000:function:" + name
}

// newRecord is the destination record of ev's end.
func (q *Queue) newRecord(ev *event, condition string, attempts int, res *lambda.Result) []byte {
	var r record
	r.Version, r.Timestamp = "1.0", time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	r.RequestContext.RequestID = ev.id
	r.RequestContext.FunctionArn = q.functionARN(ev.function) + ":$LATEST"
	r.RequestContext.Condition = condition
	r.RequestContext.ApproximateInvokeCount = attempts
	r.RequestPayload = asJSON(ev.payload)
	if res != nil {
		r.ResponseContext = &responseContext{StatusCode: 200, ExecutedVersion: "$LATEST", FunctionError: res.FunctionError}
		r.ResponsePayload = asJSON(res.Payload)
	}
	b, _ := json.Marshal(r)
	return b
}

// delivery is one record to send when an event ends.
type delivery struct {
	kind  string // onSuccess, onFailure, onError
	arn   string
	body  []byte
	attrs []Attribute
}

// counters are one function's outcome counts since the server started.
type counters struct {
	received, succeeded, retried, throttled atomic.Uint64
	retriesExhausted, ageExceeded, gone     atomic.Uint64
	delivered, refused                      atomic.Uint64
}

func (q *Queue) counters(function string) *counters {
	if c, ok := q.counts.Load(function); ok {
		return c.(*counters)
	}
	c, _ := q.counts.LoadOrStore(function, &counters{})
	return c.(*counters)
}

// run invokes one event and records its outcome.
func (q *Queue) run(ctx context.Context, ev *event) {
	cfg := q.config(ev.function)
	c := q.counters(ev.function)
	log := q.log.With("function", ev.function, "event_id", ev.id)
	res, err := q.inv.Invoke(ctx, &lambda.Request{Function: ev.function, Payload: ev.payload, TraceID: ev.trace, RequestID: ev.id})
	if ctx.Err() != nil {
		return // stopping: the claim is released at the next start
	}
	age := time.Since(ev.received)
	var next time.Duration
	attempts := ev.attempts
	switch {
	case err == nil && res.FunctionError == "":
		c.succeeded.Add(1)
		log.Debug("async: event done", "attempts", attempts+1)
		var ds []delivery
		if cfg.OnSuccess != "" {
			ds = append(ds, delivery{kind: "onSuccess", arn: cfg.OnSuccess, body: q.newRecord(ev, Success, attempts+1, res)})
		}
		q.finish(ev, 0, 0, ds, log, fmt.Sprintf("Outcome: %s Attempts: %d", Success, attempts+1))
		return
	case errors.Is(err, lambda.ErrFunctionNotFound):
		c.gone.Add(1)
		log.Warn("async: event dropped: the function no longer exists")
		q.finish(ev, 0, 0, nil, log, "")
		return
	case errors.Is(err, lambda.ErrThrottled) || errors.Is(err, lambda.ErrStopped): // wait, without counting an attempt
		// The longer it has waited, the longer the next wait: a quarter of
		// its age, between ThrottleDelay and ThrottleMax.
		c.throttled.Add(1)
		next = min(max(age/4, ThrottleDelay), ThrottleMax)
		res = nil
		log.Info("async: event throttled; it waits and runs later", "err", err, "retry_in", next)
	default: // the function failed (or could not be invoked)
		attempts++
		kind := ""
		if err != nil {
			kind, res = err.Error(), nil
		} else {
			kind = res.ErrorType
		}
		if attempts > cfg.retries() {
			c.retriesExhausted.Add(1)
			log.Warn("async: event dropped after its retries", "attempts", attempts, "error", kind)
			q.fail(ev, cfg, RetriesExhausted, attempts, res, err, log)
			return
		}
		next = RetryDelays[min(attempts-1, len(RetryDelays)-1)]
		if age+next <= cfg.maxAge() {
			c.retried.Add(1)
			log.Info("async: the function failed; the event is retried", "attempt", attempts, "error", kind, "retry_in", next)
			q.finish(ev, next, attempts, nil, log, fmt.Sprintf("Outcome: Retry Attempts: %d ErrorType: %s RetryIn: %s", attempts, kind, next))
			return
		}
	}
	if age+next > cfg.maxAge() {
		c.ageExceeded.Add(1)
		log.Warn("async: event dropped: older than the maximum event age", "age", age.Round(time.Second), "max_age", cfg.maxAge())
		q.fail(ev, cfg, EventAgeExceeded, attempts, res, err, log)
		return
	}
	q.finish(ev, next, attempts, nil, log, "")
}

// fail ends ev, given up on, sending its record to onFailure and its
// payload to the dead-letter target.
func (q *Queue) fail(ev *event, cfg Config, condition string, attempts int, res *lambda.Result, err error, log *slog.Logger) {
	var ds []delivery
	if cfg.OnFailure != "" {
		ds = append(ds, delivery{kind: "onFailure", arn: cfg.OnFailure, body: q.newRecord(ev, condition, attempts, res)})
	}
	if cfg.DeadLetter != "" {
		// Lambda's dead-letter message: the event as it came, with the
		// request ID and the error as attributes.
		msg := condition
		if err != nil {
			msg = err.Error()
		} else if res != nil {
			var doc struct {
				ErrorMessage string `json:"errorMessage"`
			}
			if json.Unmarshal(res.Payload, &doc) == nil && doc.ErrorMessage != "" {
				msg = doc.ErrorMessage
			}
		}
		if len(msg) > 1024 {
			msg = msg[:1024]
		}
		code := "200"
		if res == nil {
			code = "429"
			if condition == RetriesExhausted {
				code = "500"
			}
		}
		ds = append(ds, delivery{kind: "onError", arn: cfg.DeadLetter, body: ev.payload, attrs: []Attribute{
			{"RequestID", "String", ev.id}, {"ErrorCode", "Number", code}, {"ErrorMessage", "String", msg}}})
	}
	q.finish(ev, 0, 0, ds, log, fmt.Sprintf("Outcome: %s Attempts: %d", condition, attempts))
}

// finish deletes the event (next 0) and sends ds, or releases it to run
// again after next; line, when not "", goes to the function's log.
func (q *Queue) finish(ev *event, next time.Duration, attempts int, ds []delivery, log *slog.Logger, line string) {
	// Recording the outcome is retried: an event left claimed would not
	// run again before the next start.
	var err error
	var afters []func()
	var refused []string
	for try := 0; try < 10; try++ {
		afters, refused, err = q.record(ev, next, attempts, ds)
		if err == nil || errors.Is(err, store.ErrClosed) {
			break
		}
		time.Sleep(time.Duration(try+1) * 100 * time.Millisecond)
	}
	if err != nil {
		if !errors.Is(err, store.ErrClosed) {
			q.log.Error("async: record an event's outcome", "event_id", ev.id, "err", err)
		}
		q.wake()
		return
	}
	for _, f := range afters {
		f()
	}
	c := q.counters(ev.function)
	sent := map[string]bool{}
	for _, r := range refused {
		sent[r] = true
	}
	for _, d := range ds {
		if sent[d.kind] {
			c.refused.Add(1)
			continue
		}
		c.delivered.Add(1)
		log.Debug("async: record sent", "destination", d.kind, "arn", d.arn)
		line += " " + d.kind + ": " + d.arn
	}
	for _, r := range refused {
		line += " " + r
	}
	if line != "" && q.fnLog != nil {
		q.fnLog.Append(ev.function, "ASYNC RequestId: "+ev.id+" "+line)
	}
	q.wake()
}

// record ends or releases ev in one transaction with its deliveries;
// refused says, for each delivery refused, its kind and why.
func (q *Queue) record(ev *event, next time.Duration, attempts int, ds []delivery) (afters []func(), refused []string, err error) {
	err = q.st.Update(context.Background(), func(tx *store.Tx) error {
		afters, refused = nil, nil
		if next != 0 {
			_, err := tx.Exec(`UPDATE async_events SET claimed = 0, attempts = ?, next = ? WHERE id = ?`,
				attempts, time.Now().Add(next).UnixMilli(), ev.id)
			return err
		}
		if _, err := tx.Exec(`DELETE FROM async_events WHERE id = ?`, ev.id); err != nil {
			return err
		}
		for _, d := range ds {
			var after func()
			var err error
			if q.dest == nil {
				err = fmt.Errorf("%w: no destinations can be reached", ErrRefused)
			} else {
				after, err = q.dest.DeliverTx(tx, ev.function, d.arn, d.body, d.attrs)
			}
			switch {
			case errors.Is(err, ErrRefused):
				q.log.Warn("async: a destination refused the record", "function", ev.function, "event_id", ev.id,
					"destination", d.kind, "arn", d.arn, "err", err, "record", string(d.body))
				refused = append(refused, d.kind)
			case err != nil:
				return err
			case after != nil:
				afters = append(afters, after)
			}
		}
		return nil
	})
	return afters, refused, err
}

// FunctionStats are one function's asynchronous invocations.
type FunctionStats struct {
	Function string
	// Queued events (waiting, being retried or running) and the age of
	// the oldest.
	Queued int
	Oldest time.Duration
	// Counts since the server started.
	Received, Succeeded, Retried, Throttled    uint64
	RetriesExhausted, AgeExceeded, Gone        uint64
	DestinationsDelivered, DestinationsRefused uint64
}

// Stats reads the queue's state, by function name.
func (q *Queue) Stats(ctx context.Context) ([]FunctionStats, error) {
	by := map[string]*FunctionStats{}
	get := func(fn string) *FunctionStats {
		if s, ok := by[fn]; ok {
			return s
		}
		s := &FunctionStats{Function: fn}
		by[fn] = s
		return s
	}
	now := time.Now()
	err := q.st.View(ctx, func(tx *store.Tx) error {
		rows, err := tx.Query(`SELECT function, COUNT(*), MIN(received) FROM async_events GROUP BY function`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var fn string
			var n int
			var oldest int64
			if err := rows.Scan(&fn, &n, &oldest); err != nil {
				return err
			}
			s := get(fn)
			s.Queued, s.Oldest = n, max(now.Sub(time.UnixMilli(oldest)), 0)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	q.counts.Range(func(k, v any) bool {
		c, s := v.(*counters), get(k.(string))
		s.Received, s.Succeeded, s.Retried, s.Throttled = c.received.Load(), c.succeeded.Load(), c.retried.Load(), c.throttled.Load()
		s.RetriesExhausted, s.AgeExceeded, s.Gone = c.retriesExhausted.Load(), c.ageExceeded.Load(), c.gone.Load()
		s.DestinationsDelivered, s.DestinationsRefused = c.delivered.Load(), c.refused.Load()
		return true
	})
	out := make([]FunctionStats, 0, len(by))
	for _, s := range by {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return strings.Compare(out[i].Function, out[j].Function) < 0 })
	return out, nil
}
