package async_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudlet/cloudlet/internal/async"
	"github.com/cloudlet/cloudlet/internal/lambda"
	"github.com/cloudlet/cloudlet/internal/store"
)

// sent is one record a destination received.
type sentRecord struct {
	function, arn string
	body          []byte
	attrs         []async.Attribute
}

// sink stands in for the server's destinations: it keeps every record in
// a table of the store (so a record counts only if its transaction
// committed), and refuses records for ARNs starting "refuse".
type sink struct {
	mu   sync.Mutex
	sent []sentRecord
}

func (s *sink) DeliverTx(tx *store.Tx, function, arn string, body []byte, attrs []async.Attribute) (func(), error) {
	if strings.HasPrefix(arn, "refuse") {
		return nil, fmt.Errorf("%w: not allowed", async.ErrRefused)
	}
	rec := sentRecord{function, arn, body, attrs}
	return func() {
		s.mu.Lock()
		s.sent = append(s.sent, rec)
		s.mu.Unlock()
	}, nil
}

func (s *sink) records() []sentRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sentRecord(nil), s.sent...)
}

type destRecord struct {
	Version        string `json:"version"`
	RequestContext struct {
		RequestID              string `json:"requestId"`
		FunctionArn            string `json:"functionArn"`
		Condition              string `json:"condition"`
		ApproximateInvokeCount int    `json:"approximateInvokeCount"`
	} `json:"requestContext"`
	RequestPayload  json.RawMessage `json:"requestPayload"`
	ResponseContext *struct {
		StatusCode    int    `json:"statusCode"`
		FunctionError string `json:"functionError"`
	} `json:"responseContext"`
	ResponsePayload json.RawMessage `json:"responsePayload"`
}

func intp(n int) *int { return &n }

// A function's settings decide its retries and maximum age; its end sends
// Lambda's destination record (onSuccess, onFailure) and the dead-letter
// message (onError); every attempt sees the event's one request ID; a
// refused record does not keep the event.
func TestConfigAndDestinations(t *testing.T) {
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var mu sync.Mutex
	ids := map[string][]string{} // payload → request IDs seen
	f := &fn{calls: map[string]int{}, behave: func(p string, call int) (*lambda.Result, error) {
		if strings.Contains(p, "fail") {
			return &lambda.Result{FunctionError: "Unhandled", ErrorType: "Error", Payload: []byte(`{"errorType":"Error","errorMessage":"boom"}`)}, nil
		}
		return &lambda.Result{Payload: []byte(`{"done":` + p + `}`)}, nil
	}}
	inv := lambdaFunc(func(ctx context.Context, req *lambda.Request) (*lambda.Result, error) {
		mu.Lock()
		ids[string(req.Payload)] = append(ids[string(req.Payload)], req.RequestID)
		mu.Unlock()
		return f.Invoke(ctx, req)
	})
	q := async.New(st, inv, nil)
	d := &sink{}
	q.SetDeliverer(d)
	ctx := context.Background()
	if err := q.ApplyConfigs(ctx, map[string]async.Config{
		"once":   {MaxRetries: intp(0), OnFailure: "arn:aws:sqs:us-east-1:000000000000:failed", DeadLetter: "arn:aws:sqs:us-east-1:000000000000:dlq", Invoke: true},
		"young":  {MaxAgeSeconds: intp(60), OnFailure: "arn:aws:sqs:us-east-1:000000000000:failed", Invoke: true},
		"good":   {OnSuccess: "arn:aws:lambda:us-east-1:000000000000:function:next", Invoke: true},
		"denied": {OnSuccess: "refuse:me", Invoke: true},
	}, map[string]bool{"once": true, "young": true, "good": true, "denied": true}); err != nil {
		t.Fatal(err)
	}
	async.RetryDelays[0] = async.MaxAge // "young" would wait longer than its age allows
	defer func() { async.RetryDelays[0] = time.Millisecond }()
	for fnName, p := range map[string]string{"once": `"fail-once"`, "young": `"fail-young"`, "good": `1`, "denied": `2`} {
		if _, err := q.Enqueue(ctx, "", fnName, []byte(p), ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Start(); err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	// records are handed over once their transaction committed, after the
	// event left the table: wait for both
	eventually(t, "every event done and its records sent", func() bool { return pending(t, st) == 0 && len(d.records()) == 4 })
	if n := f.count(`"fail-once"`); n != 1 {
		t.Errorf("maximumRetryAttempts 0: ran %d times, want 1", n)
	}
	if n := f.count(`"fail-young"`); n != 1 {
		t.Errorf("maximumEventAge 60 with a longer retry delay: ran %d times, want 1", n)
	}
	by := map[string]sentRecord{}
	for _, r := range d.records() {
		by[r.function+" "+r.arn] = r
	}
	if len(by) != 4 {
		t.Fatalf("records %v, want 4 (once: onFailure and dead letter, young: onFailure, good: onSuccess)", by)
	}
	check := func(key, condition string, count int, payload string) destRecord {
		t.Helper()
		r, ok := by[key]
		if !ok {
			t.Fatalf("no record for %s", key)
		}
		var rec destRecord
		if err := json.Unmarshal(r.body, &rec); err != nil {
			t.Fatalf("%s: %v: %s", key, err, r.body)
		}
		if rec.Version != "1.0" || rec.RequestContext.Condition != condition || rec.RequestContext.ApproximateInvokeCount != count ||
			string(rec.RequestPayload) != payload || !strings.HasSuffix(rec.RequestContext.FunctionArn, ":$LATEST") {
			t.Errorf("%s: record %s", key, r.body)
		}
		return rec
	}
	rec := check("once arn:aws:sqs:us-east-1:000000000000:failed", async.RetriesExhausted, 1, `"fail-once"`)
	if rec.ResponseContext == nil || rec.ResponseContext.FunctionError != "Unhandled" || !strings.Contains(string(rec.ResponsePayload), "boom") {
		t.Errorf("failure record's response: %+v %s", rec.ResponseContext, rec.ResponsePayload)
	}
	mu.Lock()
	onceID := ids[`"fail-once"`][0]
	mu.Unlock()
	if rec.RequestContext.RequestID != onceID {
		t.Errorf("record's requestId %q, the function saw %q", rec.RequestContext.RequestID, onceID)
	}
	check("young arn:aws:sqs:us-east-1:000000000000:failed", async.EventAgeExceeded, 1, `"fail-young"`)
	rec = check("good arn:aws:lambda:us-east-1:000000000000:function:next", async.Success, 1, `1`)
	if string(rec.ResponsePayload) != `{"done":1}` || rec.ResponseContext == nil || rec.ResponseContext.StatusCode != 200 {
		t.Errorf("success record's response: %s", rec.ResponsePayload)
	}
	dl := by["once arn:aws:sqs:us-east-1:000000000000:dlq"]
	if string(dl.body) != `"fail-once"` {
		t.Errorf("dead-letter body %s, want the event", dl.body)
	}
	attrs := map[string]string{}
	for _, a := range dl.attrs {
		attrs[a.Name] = a.DataType + "=" + a.Value
	}
	if attrs["RequestID"] != "String="+onceID || attrs["ErrorCode"] != "Number=200" || attrs["ErrorMessage"] != "String=boom" {
		t.Errorf("dead-letter attributes %v", attrs)
	}
	got := map[string]async.FunctionStats{}
	eventually(t, "the counts", func() bool { // counted once the records are handed over
		stats, err := q.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range stats {
			got[s.Function] = s
		}
		return got["denied"].DestinationsRefused == 1 && got["once"].DestinationsDelivered == 2
	})
	if s := got["denied"]; s.DestinationsRefused != 1 || s.Succeeded != 1 {
		t.Errorf("denied: %+v", s)
	}
	if s := got["once"]; s.RetriesExhausted != 1 || s.DestinationsDelivered != 2 || s.Received != 1 {
		t.Errorf("once: %+v", s)
	}
	if s := got["young"]; s.AgeExceeded != 1 {
		t.Errorf("young: %+v", s)
	}
}

// The API's settings survive a restart; a deploy replaces its own and
// those of removed functions, and keeps those the API set for functions
// that declare none.
func TestConfigStore(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	q := async.New(st, &fn{calls: map[string]int{}}, nil)
	if _, err := q.PutEventInvokeConfig(ctx, "api", async.Config{MaxRetries: intp(1)}, false); err != nil {
		t.Fatal(err)
	}
	if err := q.ApplyConfigs(ctx, map[string]async.Config{"dep": {MaxAgeSeconds: intp(100), Invoke: true}, "dlq": {DeadLetter: "arn:aws:sqs:us-east-1:000000000000:d"}},
		map[string]bool{"api": true, "dep": true, "dlq": true}); err != nil {
		t.Fatal(err)
	}
	// Update keeps what it leaves out; Put replaces.
	if c, err := q.PutEventInvokeConfig(ctx, "api", async.Config{OnSuccess: "arn:aws:sqs:us-east-1:000000000000:s"}, true); err != nil || c.MaxRetries == nil || *c.MaxRetries != 1 {
		t.Fatalf("update: %+v %v", c, err)
	}
	st.Close()
	st, err = store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	q = async.New(st, &fn{calls: map[string]int{}}, nil)
	if c, ok, _ := q.EventInvokeConfig(ctx, "api"); !ok || *c.MaxRetries != 1 || c.OnSuccess == "" {
		t.Fatalf("after a restart: %+v %v", c, ok)
	}
	if _, ok, _ := q.EventInvokeConfig(ctx, "dlq"); ok {
		t.Fatal("a dead-letter target alone is not an EventInvokeConfig")
	}
	if err := q.DeleteEventInvokeConfig(ctx, "dlq"); !errors.Is(err, async.ErrNoConfig) {
		t.Fatalf("delete of none: %v", err)
	}
	// next deploy: dep declares nothing, dlq is removed, api stays
	if err := q.ApplyConfigs(ctx, nil, map[string]bool{"api": true, "dep": true}); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := q.EventInvokeConfig(ctx, "dep"); ok {
		t.Error("a deploy's settings outlived the deploy that dropped them")
	}
	if _, ok, _ := q.EventInvokeConfig(ctx, "api"); !ok {
		t.Error("the API's settings were dropped by a deploy that declares none")
	}
	var n int
	st.View(ctx, func(tx *store.Tx) error { return tx.QueryRow(`SELECT COUNT(*) FROM async_configs`).Scan(&n) })
	if n != 1 {
		t.Errorf("%d settings stored, want 1", n)
	}
	if err := q.DeleteEventInvokeConfig(ctx, "api"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := q.EventInvokeConfig(ctx, "api"); ok {
		t.Error("deleted settings remain")
	}
	if _, err := q.PutEventInvokeConfig(ctx, "gone", async.Config{}, true); !errors.Is(err, async.ErrNoConfig) {
		t.Errorf("an update of none: %v", err)
	}
}

// The deploy owns the dead-letter target, the API an EventInvokeConfig
// it put: a deploy that declares only onError keeps the API's settings,
// and one that drops onError drops the target even after the API put
// settings beside it.
func TestConfigOwners(t *testing.T) {
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	q := async.New(st, &fn{calls: map[string]int{}}, nil)
	deployed := map[string]bool{"f": true}
	dlq := "arn:aws:sqs:us-east-1:000000000000:dlq"
	if err := q.ApplyConfigs(ctx, map[string]async.Config{"f": {DeadLetter: dlq}}, deployed); err != nil {
		t.Fatal(err)
	}
	if _, err := q.PutEventInvokeConfig(ctx, "f", async.Config{MaxRetries: intp(0), OnSuccess: "arn:aws:sqs:us-east-1:000000000000:s"}, false); err != nil {
		t.Fatal(err)
	}
	// the same deploy again: the API's settings and the target stay
	if err := q.ApplyConfigs(ctx, map[string]async.Config{"f": {DeadLetter: dlq}}, deployed); err != nil {
		t.Fatal(err)
	}
	if c, ok, _ := q.EventInvokeConfig(ctx, "f"); !ok || c.MaxRetries == nil || *c.MaxRetries != 0 || c.DeadLetter != dlq {
		t.Fatalf("after redeploying onError only: %+v %v", c, ok)
	}
	// Update with an empty destination removes it
	if c, err := q.PutEventInvokeConfig(ctx, "f", async.Config{ClearOnSuccess: true}, true); err != nil || c.OnSuccess != "" || *c.MaxRetries != 0 {
		t.Fatalf("update clearing onSuccess: %+v %v", c, err)
	}
	// onError removed from serverless.yml: the target goes, the API's settings stay
	if err := q.ApplyConfigs(ctx, nil, deployed); err != nil {
		t.Fatal(err)
	}
	if c, ok, _ := q.EventInvokeConfig(ctx, "f"); !ok || c.DeadLetter != "" {
		t.Fatalf("after dropping onError: %+v %v", c, ok)
	}
	// the function removed: everything goes
	if err := q.ApplyConfigs(ctx, nil, map[string]bool{}); err != nil {
		t.Fatal(err)
	}
	var n int
	st.View(ctx, func(tx *store.Tx) error { return tx.QueryRow(`SELECT COUNT(*) FROM async_configs`).Scan(&n) })
	if n != 0 {
		t.Fatalf("%d settings left for a removed function", n)
	}
}

type lambdaFunc func(ctx context.Context, req *lambda.Request) (*lambda.Result, error)

func (f lambdaFunc) Invoke(ctx context.Context, req *lambda.Request) (*lambda.Result, error) {
	return f(ctx, req)
}
