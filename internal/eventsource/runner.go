package eventsource

import (
	"bytes"
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

	"github.com/cloudlet/cloudlet/internal/dynamodb"
	"github.com/cloudlet/cloudlet/internal/lambda"
	"github.com/cloudlet/cloudlet/internal/sqs"
	"github.com/cloudlet/cloudlet/internal/store"
)

// Mapping is one event source mapping: a function fed from a DynamoDB
// table's stream (Table) or from an SQS queue (Queue).
type Mapping struct {
	// ID names the mapping stably across deploys (its position is kept
	// under it).
	ID       string
	Function string
	Table    string
	Queue    string
	// Concurrency is the most batches of a queue in the function at once:
	// the least of maximumConcurrency, the function's reserved
	// concurrency and the account's (0: MaxQueuePollers).
	Concurrency int
	// BatchSize is the most records per invocation.
	BatchSize int
	// BatchWindow is how long to gather records before invoking a batch
	// smaller than BatchSize.
	BatchWindow time.Duration
	// StartingPosition is TRIM_HORIZON or LATEST: where a new mapping (or
	// one whose table has a new stream) starts.
	StartingPosition string
	// MaxRetries is how often a failed batch is retried (-1: until its
	// records are too old or expire).
	MaxRetries int
	// MaxAge gives up on records older than this (0: when the stream's
	// retention drops them, 24 hours).
	MaxAge time.Duration
	// Bisect splits a failed batch in two and retries the halves.
	Bisect bool
	// ReportFailures reads the function's batchItemFailures
	// (functionResponseType ReportBatchItemFailures).
	ReportFailures bool
	// FilterPatterns are Lambda filter patterns (ParseFilter), any of
	// which a record must match to be delivered; records that match none
	// are skipped.
	FilterPatterns []string
	// OnFailure is the function sent a record of each batch given up on.
	OnFailure string
	Enabled   bool
}

// Streams is what the runner needs of the DynamoDB service.
type Streams interface {
	StreamOf(ctx context.Context, table string) (string, error)
	ReadStream(ctx context.Context, arn string, from int64, limit int) ([]dynamodb.StreamRecord, int64, error)
	StreamEnd(ctx context.Context, arn string) (int64, error)
	Changed() <-chan struct{}
}

// Queues is what the runner needs of the SQS service.
type Queues interface {
	Receive(ctx context.Context, name string, max int) ([]sqs.Received, bool, error)
	Delete(ctx context.Context, name string, receipts []string) error
	Arrived() <-chan struct{}
	ARN(name string) string
	Region() string
}

// Queue pollers scale as Lambda's do: StartPollers at first, up to
// PollersPerSecond more each second while every receive finds a full
// batch (Lambda's 300 a minute), never more than the mapping's
// Concurrency (MaxQueuePollers when unset); a poller idle for
// PollerIdleExit stops, down to StartPollers.
var (
	StartPollers     = 2
	PollersPerSecond = 5
	MaxQueuePollers  = 1000
	PollerIdleExit   = 30 * time.Second
	scaleEvery       = time.Second
)

// Runner runs a deploy's mappings: one poller per stream mapping, and
// pollers scaling with the backlog per queue mapping.
type Runner struct {
	st      *store.Store
	streams Streams
	queues  Queues
	inv     lambda.Invoker
	arn     func(function string) string
	log     *slog.Logger

	mu      sync.Mutex
	running map[string]*poller
	closed  bool

	sends     sync.WaitGroup     // failure records being sent
	stopSends context.CancelFunc // Close cancels them
	sendsCtx  context.Context
}

// RetryBase is the first wait before retrying a failed batch; each retry
// doubles it, up to RetryMax.
var RetryBase, RetryMax = 100 * time.Millisecond, 10 * time.Second

// NewRunner returns a runner invoking through inv; arn gives a function's
// ARN for the records sent to failure destinations.
func NewRunner(st *store.Store, streams Streams, queues Queues, inv lambda.Invoker, arn func(string) string, logger *slog.Logger) *Runner {
	if logger == nil {
		logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Runner{st: st, streams: streams, queues: queues, inv: inv, arn: arn, log: logger, running: map[string]*poller{}, sendsCtx: ctx, stopSends: cancel}
}

type poller struct {
	m      Mapping
	cancel context.CancelFunc
	done   chan struct{}
	sc     *scale // a queue mapping's pollers
}

// Check parses a mapping's filter patterns: the error says which is bad.
func (m *Mapping) Check() ([]*Filter, error) {
	var fs []*Filter
	for _, p := range m.FilterPatterns {
		f, err := ParseFilter(p)
		if err != nil {
			return nil, err
		}
		fs = append(fs, f)
	}
	return fs, nil
}

// Set makes ms the running mappings: new ones start, removed or changed
// ones stop (a changed one starts again from its kept position).
func (r *Runner) Set(ms []Mapping) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	want := map[string]Mapping{}
	for _, m := range ms {
		if m.Enabled {
			want[m.ID] = m
		}
	}
	for id, p := range r.running {
		if m, ok := want[id]; !ok || !same(m, p.m) {
			p.cancel()
			<-p.done
			delete(r.running, id)
		}
	}
	for id, m := range want {
		if _, ok := r.running[id]; ok {
			continue
		}
		ctx, cancel := context.WithCancel(context.Background())
		p := &poller{m: m, cancel: cancel, done: make(chan struct{}), sc: &scale{}}
		r.running[id] = p
		filters, err := m.Check()
		if err != nil { // Deploy checks them first
			r.log.Error("stream event: bad filter", "function", m.Function, "err", err)
			cancel()
			close(p.done)
			continue
		}
		if m.Queue != "" {
			go func() {
				defer close(p.done)
				r.runQueue(ctx, p.m, filters, p.sc)
			}()
			continue
		}
		go func() {
			defer close(p.done)
			r.poll(ctx, p.m, filters)
		}()
	}
}

func same(a, b Mapping) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

// QueuePollers is how many pollers the queue mapping id runs now (0 for
// none, or not a queue mapping).
func (r *Runner) QueuePollers(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p, ok := r.running[id]; ok && p.sc != nil {
		return int(p.sc.pollers.Load())
	}
	return 0
}

// Close stops every poller and waits for them.
func (r *Runner) Close() {
	r.mu.Lock()
	r.closed = true
	ps := r.running
	r.running = map[string]*poller{}
	r.mu.Unlock()
	for _, p := range ps {
		p.cancel()
	}
	for _, p := range ps {
		<-p.done
	}
	r.stopSends()
	r.sends.Wait()
}

// position reads where the mapping is in arn, starting it where its
// StartingPosition says when it has not read that stream yet.
func (r *Runner) position(ctx context.Context, m Mapping, arn string) (int64, error) {
	var stream string
	var next int64
	err := r.st.View(ctx, func(tx *store.Tx) error {
		return tx.QueryRow(`SELECT stream, next FROM event_source_positions WHERE mapping = ?`, m.ID).Scan(&stream, &next)
	})
	switch {
	case err == nil && stream == arn:
		return next, nil
	case err != nil && !errors.Is(err, sql.ErrNoRows):
		return 0, err
	}
	next = 0
	if m.StartingPosition == "LATEST" {
		if next, err = r.streams.StreamEnd(ctx, arn); err != nil {
			return 0, err
		}
	}
	return next, r.save(ctx, m.ID, arn, next)
}

// save records the mapping's position: it is durable when save returns.
func (r *Runner) save(ctx context.Context, id, arn string, next int64) error {
	return r.st.Update(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(`INSERT INTO event_source_positions (mapping, stream, next) VALUES (?, ?, ?)
			ON CONFLICT (mapping) DO UPDATE SET stream = excluded.stream, next = excluded.next`, id, arn, next)
		return err
	})
}

// idle is how long a poller waits for a change before looking again.
const idle = time.Second

func (r *Runner) poll(ctx context.Context, m Mapping, filters []*Filter) {
	log := r.log.With("function", m.Function, "table", m.Table)
	warned := false
	for ctx.Err() == nil {
		changed := r.streams.Changed()
		arn, err := r.streams.StreamOf(ctx, m.Table)
		if err != nil || arn == "" {
			if err == nil && !warned {
				log.Warn("stream event: the table has no stream (yet); waiting for one")
				warned = true
			}
			wait(ctx, changed, idle)
			continue
		}
		warned = false
		next, err := r.position(ctx, m, arn)
		if err != nil {
			log.Error("stream event: read position", "err", err)
			wait(ctx, changed, idle)
			continue
		}
		recs, after, err := r.streams.ReadStream(ctx, arn, next, m.BatchSize)
		if err != nil {
			log.Error("stream event: read records", "err", err)
			wait(ctx, changed, idle)
			continue
		}
		if len(recs) == 0 {
			wait(ctx, changed, idle)
			continue
		}
		if m.BatchWindow > 0 && len(recs) < m.BatchSize {
			// gather for the window from the first record's arrival
			deadline := recs[0].At.Add(m.BatchWindow)
			for len(recs) < m.BatchSize && time.Now().Before(deadline) && ctx.Err() == nil {
				ch := r.streams.Changed()
				more, a, err := r.streams.ReadStream(ctx, arn, after, m.BatchSize-len(recs))
				if err != nil {
					break
				}
				recs, after = append(recs, more...), a
				if len(more) == 0 {
					wait(ctx, ch, time.Until(deadline))
				}
			}
		}
		batch := recs[:0:0]
		for _, rec := range recs {
			if matches(filters, rec.Doc) {
				batch = append(batch, rec)
			}
		}
		if len(batch) > 0 && !r.deliver(ctx, log, m, arn, batch) {
			return // stopping
		}
		if err := r.save(ctx, m.ID, arn, after); err != nil && ctx.Err() == nil {
			log.Error("stream event: save position", "err", err)
		}
	}
}

func matches(filters []*Filter, doc []byte) bool {
	if len(filters) == 0 {
		return true
	}
	for _, f := range filters {
		if f.Match(doc) {
			return true
		}
	}
	return false
}

// wait returns when ch closes, d passes or ctx is done.
func wait(ctx context.Context, ch <-chan struct{}, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-ch:
	case <-t.C:
	}
}

// event is the invocation payload for records, as Lambda builds it.
func event(arn string, batch []dynamodb.StreamRecord) []byte {
	var b bytes.Buffer
	b.WriteString(`{"Records":[`)
	for i, rec := range batch {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(lambdaRecord(rec.Doc, arn))
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// lambdaRecord is a stream record as a function gets it: with
// eventSourceARN, and userIdentity in lower camel case.
func lambdaRecord(doc []byte, arn string) []byte {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var m map[string]any
	if dec.Decode(&m) != nil {
		return doc
	}
	m["eventSourceARN"] = arn
	if u, ok := m["userIdentity"].(map[string]any); ok {
		m["userIdentity"] = map[string]any{"type": u["Type"], "principalId": u["PrincipalId"]}
	}
	out, err := json.Marshal(m)
	if err != nil {
		return doc
	}
	return out
}

// deliver invokes the function with batch until it succeeds or the
// mapping gives up on it; false when the runner is stopping.
func (r *Runner) deliver(ctx context.Context, log *slog.Logger, m Mapping, arn string, batch []dynamodb.StreamRecord) bool {
	attempts := 0
	for {
		if ctx.Err() != nil {
			return false
		}
		res, err := r.inv.Invoke(ctx, &lambda.Request{Function: m.Function, Payload: event(arn, batch)})
		attempts++
		failedFrom := len(batch) // the first record not processed
		ferr := ""
		switch {
		case errors.Is(err, lambda.ErrPayloadTooLarge) && len(batch) > 1:
			// more than one invocation can take: halves, in order
			half := len(batch) / 2
			if !r.deliver(ctx, log, m, arn, batch[:half]) {
				return false
			}
			return r.deliver(ctx, log, m, arn, batch[half:])
		case err != nil:
			ferr = err.Error()
			failedFrom = 0
		case res.FunctionError != "":
			ferr = res.ErrorType
			failedFrom = 0
		case m.ReportFailures:
			failedFrom = firstFailure(res.Payload, batch)
		}
		if failedFrom == len(batch) {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		// Records before the first failure are done; retry from it.
		batch = batch[failedFrom:]
		condition := ""
		maxAge := m.MaxAge
		if maxAge <= 0 {
			maxAge = dynamodb.Retention // records are given up on when the stream drops them
		}
		switch {
		case time.Since(batch[0].At) > maxAge:
			condition = "RecordAgeExceeded"
		case m.MaxRetries >= 0 && attempts > m.MaxRetries:
			condition = "RetryAttemptsExhausted"
		}
		if condition != "" {
			log.Warn("stream event: giving up on a batch", "records", len(batch), "condition", condition, "error", ferr)
			r.failed(m, arn, batch, condition, attempts, ferr)
			return true
		}
		if m.Bisect && len(batch) > 1 {
			half := len(batch) / 2
			if !r.deliver(ctx, log, m, arn, batch[:half]) {
				return false
			}
			return r.deliver(ctx, log, m, arn, batch[half:])
		}
		backoff := RetryBase << min(attempts-1, 16)
		wait(ctx, nil, min(backoff, RetryMax))
	}
}

// firstFailure is the index of the earliest record the function reported
// failed (len(batch): none). A response that is not a valid report fails
// the whole batch, as on Lambda.
func firstFailure(payload []byte, batch []dynamodb.StreamRecord) int {
	var resp struct {
		BatchItemFailures []struct {
			ItemIdentifier any `json:"itemIdentifier"`
		} `json:"batchItemFailures"`
	}
	if len(bytes.TrimSpace(payload)) == 0 || string(bytes.TrimSpace(payload)) == "null" {
		return len(batch)
	}
	if json.Unmarshal(payload, &resp) != nil {
		return len(batch)
	}
	first := len(batch)
	for _, f := range resp.BatchItemFailures {
		id, ok := f.ItemIdentifier.(string)
		if !ok || id == "" {
			return 0
		}
		found := false
		for i, rec := range batch {
			if seqOf(rec.Doc) == id {
				first, found = min(first, i), true
			}
		}
		if !found {
			return 0
		}
	}
	return first
}

func seqOf(doc []byte) string {
	var r struct {
		Dynamodb struct {
			SequenceNumber string `json:"SequenceNumber"`
		} `json:"dynamodb"`
	}
	json.Unmarshal(doc, &r)
	return r.Dynamodb.SequenceNumber
}

func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// failed sends the failure destination a record of a batch given up on.
func (r *Runner) failed(m Mapping, arn string, batch []dynamodb.StreamRecord, condition string, attempts int, ferr string) {
	if m.OnFailure == "" {
		return
	}
	shard := ""
	if i := strings.Index(arn, "/stream/"); i >= 0 {
		shard = "shardId-" + strings.NewReplacer(":", "", "-", "", ".", "", "T", "").Replace(arn[i+8:])
	}
	doc := map[string]any{
		"requestContext":  map[string]any{"requestId": newID(), "functionArn": r.arn(m.Function), "condition": condition, "approximateInvokeCount": attempts},
		"responseContext": map[string]any{"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
		"version":         "1.0",
		"timestamp":       time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		"DDBStreamBatchInfo": map[string]any{
			"shardId": shard, "startSequenceNumber": seqOf(batch[0].Doc), "endSequenceNumber": seqOf(batch[len(batch)-1].Doc),
			"approximateArrivalOfFirstRecord": batch[0].At.UTC().Format("2006-01-02T15:04:05Z"),
			"approximateArrivalOfLastRecord":  batch[len(batch)-1].At.UTC().Format("2006-01-02T15:04:05Z"),
			"batchSize":                       len(batch), "streamArn": arn,
		},
	}
	payload, _ := json.Marshal(doc)
	r.sends.Add(1)
	go func() {
		defer r.sends.Done()
		ctx, cancel := context.WithTimeout(r.sendsCtx, 15*time.Minute)
		defer cancel()
		if res, err := r.inv.Invoke(ctx, &lambda.Request{Function: m.OnFailure, Payload: payload}); err != nil {
			r.log.Error("stream event: the failure destination could not be invoked", "destination", m.OnFailure, "err", err)
		} else if res.FunctionError != "" {
			r.log.Error("stream event: the failure destination failed", "destination", m.OnFailure, "error", res.ErrorType)
		}
	}()
}
