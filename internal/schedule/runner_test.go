package schedule

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/cloudlet/cloudlet/internal/async"
	"github.com/cloudlet/cloudlet/internal/store"
)

func queued(t *testing.T, st *store.Store) []map[string]any {
	t.Helper()
	var out []map[string]any
	st.View(context.Background(), func(tx *store.Tx) error {
		rows, err := tx.Query(`SELECT payload FROM async_events ORDER BY received`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var b []byte
			rows.Scan(&b)
			var m map[string]any
			json.Unmarshal(b, &m)
			out = append(out, m)
		}
		return nil
	})
	return out
}

// Each tick fires once, as EventBridge's Scheduled Event, into the
// durable queue; asking again fires nothing; after a gap the latest due
// tick fires and the ones before it are missed (logged); a tick later
// than Grace is missed, not fired; the state survives a new runner (a
// restart).
func TestTicksFireOnce(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	e, _ := Parse("rate(5 minutes)")
	s := Schedule{ID: "f/schedule/0", Function: "svc-dev-f", Rule: "svc-dev-f-rule-1", Expr: e, Enabled: true}
	r := NewRunner(st, async.New(st, nil, nil), "us-east-1", "000000000000", nil)
	ctx := context.Background()
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	if _, _, err := r.state(ctx, s, t0); err != nil {
		t.Fatal(err)
	}
	step := func(at time.Duration) time.Time {
		t.Helper()
		fired, err := r.fire(ctx, s, t0.Add(at))
		if err != nil {
			t.Fatal(err)
		}
		return fired
	}
	if f := step(4 * time.Minute); !f.IsZero() {
		t.Fatalf("fired early: %v", f)
	}
	if f := step(5 * time.Minute); !f.Equal(t0.Add(5 * time.Minute)) {
		t.Fatalf("the first tick: %v", f)
	}
	if f := step(5*time.Minute + 10*time.Second); !f.IsZero() {
		t.Fatal("a tick fired twice")
	}
	// a new runner over the same store: the state is kept
	r = NewRunner(st, async.New(st, nil, nil), "us-east-1", "000000000000", nil)
	if f := step(31 * time.Minute); !f.Equal(t0.Add(30 * time.Minute)) {
		t.Fatalf("after a gap: %v", f)
	}
	if f := step(62*time.Minute + 30*time.Second); !f.IsZero() {
		t.Fatalf("a tick 2.5 minutes late fired: %v", f)
	}
	if f := step(65 * time.Minute); !f.Equal(t0.Add(65 * time.Minute)) {
		t.Fatalf("the schedule goes on: %v", f)
	}
	evs := queued(t, st)
	if len(evs) != 3 {
		t.Fatalf("%d events queued, want 3", len(evs))
	}
	ev := evs[0]
	if ev["detail-type"] != "Scheduled Event" || ev["source"] != "aws.events" || ev["time"] != "2026-12-01T09:05:00Z" ||
		ev["resources"].([]any)[0] != "arn:aws:events:us-east-1:000000000000:rule/svc-dev-f-rule-1" || ev["account"] != "000000000000" {
		t.Fatalf("the event %v", ev)
	}
}

// input replaces the event; inputPath selects part of it; an
// inputTransformer fills its template.
func TestInputs(t *testing.T) {
	r := &Runner{region: "us-east-1", account: "000000000000"}
	tick := time.Date(2026, 12, 1, 9, 5, 0, 0, time.UTC)
	b, _ := r.payload(Schedule{Rule: "r", Input: `{"job":"report"}`}, tick)
	if string(b) != `{"job":"report"}` {
		t.Fatalf("input: %s", b)
	}
	b, _ = r.payload(Schedule{Rule: "r", InputPath: "$.detail"}, tick)
	if string(b) != `{}` {
		t.Fatalf("inputPath: %s", b)
	}
	b, _ = r.payload(Schedule{Rule: "r", Transformer: &Transformer{PathsMap: map[string]string{"t": "$.time", "src": "$.source"}, Template: `{"at": "<t>", "from": "<src>"}`}}, tick)
	if string(b) != `{"at": "2026-12-01T09:05:00Z", "from": "aws.events"}` {
		t.Fatalf("inputTransformer: %s", b)
	}
}
