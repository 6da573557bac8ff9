package lambda

import (
	"slices"
	"strings"
	"testing"

	"github.com/cloudlet/cloudlet/internal/telemetry"
)

// Stem cells become instances that look, to the function, exactly like
// instances started from scratch: fresh globals, the function's own
// environment and credentials, Init Duration reported. Cells are replaced
// as they are taken, and a deploy keeps cells only for runtimes in use.
func TestStemCellsBecomeInstances(t *testing.T) {
	logs, _ := telemetry.NewLogs("")
	r := newRegistry(t, Options{StemCells: 1, Logs: logs,
		Credentials: func(fn string) (InstanceCredentials, func()) {
			return InstanceCredentials{KeyID: "ASIA" + strings.ToUpper(fn), Secret: "secret-" + fn}, nil
		}})
	f := nodeSpec(t, "f")
	f.Environment = map[string]string{"CUSTOM": "yes"}
	h := nodeSpec(t, "h")
	h.Environment = map[string]string{"NODE_OPTIONS": "--no-warnings"} // read by node at start-up only
	g := FunctionSpec{Name: "g", Runtime: "python3.11", Handler: "app.handler", TaskRoot: testdata(t, "python"), Timeout: 5, MemorySize: 256}
	if err := r.Deploy([]FunctionSpec{f, g, h}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a Node and a Python stem cell", func() bool { return r.stems.readyCount() == 2 })

	if m := decode(t, invoke(t, r, "f", `{}`)); m["invocations"] != float64(1) {
		t.Errorf("globals of a specialised cell: %v", m)
	}
	m := decode(t, invoke(t, r, "f", `{"mode":"env"}`))
	if m["name"] != "f" || m["custom"] != "yes" {
		t.Errorf("environment: %v", m)
	}
	var keys []string
	for _, k := range m["keys"].([]any) {
		keys = append(keys, k.(string))
	}
	if slices.Contains(keys, "CLOUDLET_STEM") || !slices.Contains(keys, "AWS_LAMBDA_LOG_STREAM_NAME") || !slices.Contains(keys, "AWS_ACCESS_KEY_ID") {
		t.Errorf("environment keys: %v", keys)
	}
	if m := decode(t, invoke(t, r, "g", `{"mode":"context"}`)); m["functionName"] != "g" {
		t.Errorf("python context: %v", m)
	}
	if p, s := starts(r).process, starts(r).stem; p != 0 || s != 2 {
		t.Errorf("starts: %d processes, %d stem cells; want 0 and 2", p, s)
	}
	lines, _ := logs.Since("f", 0)
	if !strings.Contains(findReport(lines, 0), "\tInit Duration: ") || strings.Contains(findReport(lines, 1), "Init Duration") {
		t.Errorf("REPORT lines: %q / %q", findReport(lines, 0), findReport(lines, 1))
	}
	waitFor(t, "the cells to be replaced", func() bool { return r.stems.readyCount() == 2 })

	// NODE_OPTIONS needs a new process.
	if m := decode(t, invoke(t, r, "h", `{}`)); m["invocations"] != float64(1) {
		t.Errorf("h: %v", m)
	}
	if p := starts(r).process; p != 1 {
		t.Errorf("h was started from a stem cell")
	}

	// Without Node functions, no Node cell is kept.
	if err := r.Deploy([]FunctionSpec{g}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the Node cell to go", func() bool { return r.stems.readyCount() == 1 })
}

// A function whose code fails to load from a stem cell reports its init
// error, like any instance; the platform does not retry it elsewhere.
func TestStemCellInitErrorIsTheFunctions(t *testing.T) {
	r := newRegistry(t, Options{StemCells: 1})
	s := nodeSpec(t, "bad")
	s.Handler = "handler.missing"
	if err := r.Deploy([]FunctionSpec{s}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a stem cell", func() bool { return r.stems.readyCount() == 1 })
	res := invoke(t, r, "bad", `{}`)
	if res.ErrorType != "Runtime.HandlerNotFound" {
		t.Fatalf("result: %s %s", res.ErrorType, res.Payload)
	}
	if p, s := starts(r).process, starts(r).stem; p != 0 || s != 1 {
		t.Errorf("starts: %d processes, %d stem cells", p, s)
	}
}

// startCounts are a registry's instance starts, summed over every function
// it has run.
type startCounts struct{ process, stem int64 }

func starts(r *Registry) startCounts {
	r.countMu.Lock()
	defer r.countMu.Unlock()
	var s startCounts
	for _, c := range r.counts {
		s.process += c.processStarts.Load()
		s.stem += c.stemStarts.Load()
	}
	return s
}
