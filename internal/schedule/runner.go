package schedule

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/cloudlet/cloudlet/internal/async"
	"github.com/cloudlet/cloudlet/internal/store"
)

// Grace is how late a tick may still fire (the server was busy, or just
// started); a tick later than that was missed, and is logged instead.
const Grace = time.Minute

// Schedule is one schedule event of a deployed function.
type Schedule struct {
	// ID names the schedule stably across deploys (its last tick is kept
	// under it).
	ID       string
	Function string
	// Rule is the name its events carry in resources.
	Rule     string
	Expr     *Expr
	Location *time.Location // nil: UTC
	// Input, when set, is the JSON the function gets instead of the
	// Scheduled Event; InputPath selects part of the event; a
	// Transformer fills a template from the event.
	Input       string
	InputPath   string
	Transformer *Transformer
	Enabled     bool
	// RoleARN, for a schedule of the Scheduler API, is the role its
	// target is invoked as: each tick is checked against it (Runner's
	// Authorize). OnDone runs once an at() schedule has no tick left.
	RoleARN string
	OnDone  func()
}

// Transformer is an inputTransformer: values picked from the event by
// JSONPath, put into a template's <name> placeholders.
type Transformer struct {
	PathsMap map[string]string
	Template string
}

// Runner fires a deploy's schedules into the asynchronous queue.
type Runner struct {
	st      *store.Store
	queue   *async.Queue
	region  string
	account string
	log     *slog.Logger

	mu      sync.Mutex
	running map[string]context.CancelFunc
	current []Schedule // the deploy's
	api     []Schedule // the Scheduler API's (api.go)
	wg      sync.WaitGroup
	closed  bool

	// Authorize, when set, decides whether roleARN may invoke function
	// (lambda:InvokeFunction); a tick it refuses is logged, not fired.
	Authorize func(roleARN, function string) error
}

// NewRunner returns a runner queueing its events in q.
func NewRunner(st *store.Store, q *async.Queue, region, account string, logger *slog.Logger) *Runner {
	if logger == nil {
		logger = slog.Default()
	}
	return &Runner{st: st, queue: q, region: region, account: account, log: logger, running: map[string]context.CancelFunc{}}
}

// Set makes ss the running schedules of the deploy.
func (r *Runner) Set(ss []Schedule) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.current = append([]Schedule(nil), ss...)
	r.restartLocked()
}

// setAPI makes ss the running schedules of the Scheduler API.
func (r *Runner) setAPI(ss []Schedule) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.api = append([]Schedule(nil), ss...)
	r.restartLocked()
}

// restartLocked runs every enabled schedule afresh (their ticks are in
// the store: nothing fires twice for it).
func (r *Runner) restartLocked() {
	for id, cancel := range r.running {
		cancel()
		delete(r.running, id)
	}
	if r.closed {
		return
	}
	for _, s := range append(append([]Schedule(nil), r.current...), r.api...) {
		if !s.Enabled {
			continue
		}
		ctx, cancel := context.WithCancel(context.Background())
		r.running[s.ID] = cancel
		r.wg.Add(1)
		go func(s Schedule) {
			defer r.wg.Done()
			r.loop(ctx, s)
		}(s)
	}
}

// FireNow queues the event of the schedule named rule (its rule name, or
// its function's name for the function's first schedule) as if it ticked
// now, without changing its ticks: `cloudlet invoke --schedule`, and
// tests. ok is false when no schedule has that name.
func (r *Runner) FireNow(ctx context.Context, rule string) (bool, error) {
	r.mu.Lock()
	var found *Schedule
	all := append(append([]Schedule(nil), r.current...), r.api...)
	for i := range all {
		if s := &all[i]; s.Rule == rule || s.Function == rule && found == nil {
			found = s
		}
	}
	r.mu.Unlock()
	if found == nil {
		return false, nil
	}
	payload, err := r.payload(*found, time.Now().Truncate(time.Second))
	if err != nil {
		return true, err
	}
	_, err = r.queue.Enqueue(ctx, "", found.Function, payload, "")
	return true, err
}

// Close stops every schedule.
func (r *Runner) Close() {
	r.mu.Lock()
	r.closed = true
	for _, cancel := range r.running {
		cancel()
	}
	r.running = map[string]context.CancelFunc{}
	r.mu.Unlock()
	r.wg.Wait()
}

// state reads (or, the first time, records) a schedule's start and last
// tick.
func (r *Runner) state(ctx context.Context, s Schedule, now time.Time) (start, last time.Time, err error) {
	err = r.st.Update(ctx, func(tx *store.Tx) error {
		var st, la int64
		err := tx.QueryRow(`SELECT start, last FROM schedules WHERE id = ?`, s.ID).Scan(&st, &la)
		if errors.Is(err, sql.ErrNoRows) {
			st, la = now.UnixMilli(), now.UnixMilli()
			_, err = tx.Exec(`INSERT INTO schedules (id, start, last) VALUES (?, ?, ?)`, s.ID, st, la)
		}
		start, last = time.UnixMilli(st), time.UnixMilli(la)
		return err
	})
	return start, last, err
}

func (r *Runner) loop(ctx context.Context, s Schedule) {
	log := r.log.With("function", s.Function, "schedule", s.Rule)
	for ctx.Err() == nil {
		start, last, err := r.state(ctx, s, time.Now())
		if err != nil {
			if ctx.Err() == nil {
				log.Error("schedule: read its state", "err", err)
			}
			sleep(ctx, time.Second)
			continue
		}
		next, ok := s.Expr.Next(last, start, s.Location)
		if !ok {
			log.Info("schedule: no tick left")
			if s.OnDone != nil {
				s.OnDone()
			}
			return
		}
		if d := time.Until(next); d > 0 {
			sleep(ctx, d)
			continue
		}
		if _, err := r.fire(ctx, s, time.Now()); err != nil && ctx.Err() == nil {
			log.Error("schedule: fire", "err", err)
			sleep(ctx, time.Second)
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// fire queues the event of s's latest tick due at now, once: the tick is
// recorded as the last one in the same transaction (if no one recorded a
// later one meanwhile). Ticks due earlier (and not fired), or later than
// Grace, are missed and logged. It answers the tick fired (zero: none).
// The ticks are worked out outside the store's writer.
func (r *Runner) fire(ctx context.Context, s Schedule, now time.Time) (time.Time, error) {
	var start, last time.Time
	if err := r.st.View(ctx, func(tx *store.Tx) error {
		var st, la int64
		if err := tx.QueryRow(`SELECT start, last FROM schedules WHERE id = ?`, s.ID).Scan(&st, &la); err != nil {
			return err
		}
		start, last = time.UnixMilli(st), time.UnixMilli(la)
		return nil
	}); err != nil {
		return time.Time{}, err
	}
	first, ok := s.Expr.Next(last, start, s.Location)
	if !ok || first.After(now) {
		return time.Time{}, nil
	}
	// The latest tick at or before now: ticks older than now - Grace are
	// missed whatever they are, so the search need not start before that.
	from := last
	if lim := now.Add(-2 * Grace); from.Before(lim) {
		from = lim
	}
	tick := first
	for t := from; ; {
		n, ok := s.Expr.Next(t, start, s.Location)
		if !ok || n.After(now) {
			break
		}
		if n.After(tick) {
			tick = n
		}
		t = n
	}
	late := now.Sub(tick) > Grace
	var fired time.Time
	err := r.st.Update(ctx, func(tx *store.Tx) error {
		fired = time.Time{}
		n, err := tx.Exec(`UPDATE schedules SET last = ? WHERE id = ? AND last = ?`, tick.UnixMilli(), s.ID, last.UnixMilli())
		if err != nil || n == 0 || late { // n == 0: another fired it
			return err
		}
		if s.RoleARN != "" && r.Authorize != nil {
			if err := r.Authorize(s.RoleARN, s.Function); err != nil {
				r.log.Warn("schedule: the schedule's role may not invoke its target; the tick is dropped", "schedule", s.Rule,
					"function", s.Function, "role", s.RoleARN, "err", err)
				return nil
			}
		}
		payload, err := r.payload(s, tick)
		if err != nil {
			return err
		}
		if _, err := async.EnqueueTx(tx, "", s.Function, payload, ""); err != nil {
			return err
		}
		fired = tick
		return nil
	})
	if err != nil {
		return time.Time{}, err
	}
	if missedFrom := first; late || missedFrom.Before(tick) {
		if late {
			missedFrom = first
		}
		r.log.Warn("schedule: ticks missed while the server was down or busy", "function", s.Function, "schedule", s.Rule,
			"from", missedFrom.UTC().Format(time.RFC3339), "to", tick.UTC().Format(time.RFC3339), "fired_latest", !late)
	}
	if !fired.IsZero() {
		r.queue.Wake(s.Function)
	}
	return fired, nil
}

func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// payload is what the function gets for a tick: EventBridge's Scheduled
// Event, or the schedule's input.
func (r *Runner) payload(s Schedule, tick time.Time) ([]byte, error) {
	if s.Input != "" {
		return []byte(s.Input), nil
	}
	ev := map[string]any{
		"version": "0", "id": newID(), "detail-type": "Scheduled Event", "source": "aws.events", "account": r.account,
		"time": tick.UTC().Format(time.RFC3339), "region": r.region,
		"resources": []string{"arn:aws:events:" + r.region + ":" + r.account + ":rule/" + s.Rule}, "detail": map[string]any{},
	}
	if s.InputPath != "" {
		v, _ := jsonPath(ev, s.InputPath)
		return json.Marshal(v)
	}
	if t := s.Transformer; t != nil {
		out := t.Template
		for name, path := range t.PathsMap {
			v, _ := jsonPath(ev, path)
			text, _ := v.(string)
			if text == "" && v != nil {
				b, _ := json.Marshal(v)
				text = string(b)
			}
			out = strings.ReplaceAll(out, "<"+name+">", text)
		}
		return []byte(out), nil
	}
	return json.Marshal(ev)
}

// jsonPath reads a simple JSONPath ($, $.a, $.a.b) from v.
func jsonPath(v any, path string) (any, bool) {
	path = strings.TrimPrefix(path, "$")
	for _, part := range strings.Split(strings.TrimPrefix(path, "."), ".") {
		if part == "" {
			continue
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[part]; !ok {
			return nil, false
		}
	}
	return v, true
}
