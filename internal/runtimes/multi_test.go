package runtimes

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// With CLOUDLET_INSTANCE_CONCURRENCY > 1 the Node bootstrap runs several
// invocations at once: two that wait for a third are answered after it,
// each answer starts with its request id, and each log line carries the id
// of the invocation that wrote it.
func TestNodeSeveralInvocationsAtOnce(t *testing.T) {
	t.Parallel()
	needNode(t)
	in := startInstance(t, nodeRuntime, "handler.gate", "testdata/node/cjs", instanceOpts{env: []string{"CLOUDLET_INSTANCE_CONCURRENCY=4"}})
	in.mustReady()
	deadline := time.Now().Add(30 * time.Second).UnixMilli()
	for _, c := range []struct{ id, op string }{{"req-a", "wait"}, {"req-b", "wait"}, {"req-c", "open"}} {
		in.out = AppendInvoke(in.out[:0], &Invocation{RequestID: c.id, DeadlineMs: deadline, Payload: []byte(`{"op":"` + c.op + `"}`)})
		if _, err := in.toChild.Write(in.out); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]map[string]any{}
	var order []string
	for i := 0; i < 3; i++ {
		kind, body := in.read()
		id, doc, ok := bytes.Cut(body, []byte("\n"))
		var m map[string]any
		if kind != KindResponse || !ok || json.Unmarshal(doc, &m) != nil {
			t.Fatalf("answer %d: %q %s", i, kind, body)
		}
		got[string(id)] = m
		order = append(order, string(id))
	}
	if order[0] != "req-c" {
		t.Errorf("answers in order %v: the waiting invocations answered before the one they waited for", order)
	}
	for _, id := range []string{"req-a", "req-b", "req-c"} {
		if got[id]["id"] != id {
			t.Errorf("%s answered with %v", id, got[id])
		}
	}
	logs := in.waitLog("released")
	for _, id := range []string{"req-a", "req-b"} {
		if !strings.Contains(logs, "\t"+id+"\tINFO\tgate wait") {
			t.Errorf("no log line of %s with its id:\n%s", id, logs)
		}
	}
	if !strings.Contains(logs, "\treq-c\tINFO\tgate open") {
		t.Errorf("no log line of req-c with its id:\n%s", logs)
	}
}

// With several invocations at once, a handler that returns nothing is
// answered null, and the log line of a rejected promise carries its id.
func TestNodeSeveralAtOnceEdgeCases(t *testing.T) {
	t.Parallel()
	needNode(t)
	for _, c := range []struct{ handler, want string }{
		{"handler.syncUndefined", "null"},
		{"handler.legacySucceed", `{"legacy":"succeed"}`},
	} {
		in := startInstance(t, nodeRuntime, c.handler, "testdata/node/cjs", instanceOpts{env: []string{"CLOUDLET_INSTANCE_CONCURRENCY=2"}})
		in.mustReady()
		kind, body := in.invoke(Invocation{RequestID: "req-x", Payload: []byte(`{}`)})
		if kind != KindResponse || string(body) != "req-x\n"+c.want {
			t.Fatalf("%s: %q %q", c.handler, kind, body)
		}
	}
	in := startInstance(t, nodeRuntime, "handler.throws", "testdata/node/cjs", instanceOpts{env: []string{"CLOUDLET_INSTANCE_CONCURRENCY=2"}})
	in.mustReady()
	if kind, body := in.invoke(Invocation{RequestID: "req-y", Payload: []byte(`{}`)}); kind != KindError || !strings.HasPrefix(string(body), "req-y\n{") {
		t.Fatalf("throws: %q %q", kind, body)
	}
	in.waitLog("\treq-y\tERROR\tInvoke Error")
}
