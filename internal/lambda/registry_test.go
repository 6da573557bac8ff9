package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudlet/cloudlet/internal/telemetry"
)

func newRegistry(t *testing.T, opts Options) *Registry {
	t.Helper()
	if opts.RuntimeDir == "" {
		opts.RuntimeDir = filepath.Join(t.TempDir(), "runtime")
	}
	if opts.Logs == nil {
		logs, err := telemetry.NewLogs("")
		if err != nil {
			t.Fatal(err)
		}
		opts.Logs = logs
	}
	r, err := NewRegistry(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

func testdata(t *testing.T, dir string) string {
	t.Helper()
	p, err := testdataAbs(dir)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func testdataAbs(dir string) (string, error) { return filepath.Abs(filepath.Join("testdata", dir)) }

func nodeSpec(t *testing.T, name string) FunctionSpec {
	return FunctionSpec{Name: name, Runtime: "nodejs20.x", Handler: "handler.handler", TaskRoot: testdata(t, "node"), Timeout: 5, MemorySize: 256}
}

func invoke(t *testing.T, r *Registry, name, payload string) *Result {
	t.Helper()
	res, err := r.Invoke(context.Background(), &Request{Function: name, Payload: []byte(payload)})
	if err != nil {
		t.Fatalf("invoke %s %s: %v", name, payload, err)
	}
	return res
}

func decode(t *testing.T, res *Result) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(res.Payload, &m); err != nil {
		t.Fatalf("payload %q: %v", res.Payload, err)
	}
	return m
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestInvokeNodeReusesWarmInstance(t *testing.T) {
	r := newRegistry(t, Options{})
	if err := r.Deploy([]FunctionSpec{nodeSpec(t, "svc-dev-fn")}); err != nil {
		t.Fatal(err)
	}
	a := decode(t, invoke(t, r, "svc-dev-fn", `{"x":1}`))
	b := decode(t, invoke(t, r, "arn:aws:lambda:us-east-1:000000000000:function:svc-dev-fn", `{"x":2}`))
	if a["pid"] != b["pid"] || b["invocations"].(float64) != 2 {
		t.Fatalf("second invocation did not reuse the warm instance: %v then %v", a, b)
	}
	if b["echo"].(map[string]any)["x"].(float64) != 2 {
		t.Fatalf("echo = %v", b)
	}
	if r.Instances() != 1 {
		t.Fatalf("instances = %d, want 1", r.Instances())
	}
}

func TestInvokeUnknownFunction(t *testing.T) {
	r := newRegistry(t, Options{})
	_, err := r.Invoke(context.Background(), &Request{Function: "nope", Payload: []byte("{}")})
	if !errors.Is(err, ErrFunctionNotFound) {
		t.Fatalf("err = %v, want ErrFunctionNotFound", err)
	}
}

func TestFunctionErrorHasAWSShape(t *testing.T) {
	r := newRegistry(t, Options{})
	if err := r.Deploy([]FunctionSpec{nodeSpec(t, "f")}); err != nil {
		t.Fatal(err)
	}
	res := invoke(t, r, "f", `{"mode":"error"}`)
	if res.FunctionError != "Unhandled" || res.ErrorType != "TypeError" {
		t.Fatalf("result = %+v", res)
	}
	m := decode(t, res)
	// AWS's Node runtime names the stack "trace" (its Python runtime: "stackTrace").
	if m["errorMessage"] != "asked to fail" || m["errorType"] != "TypeError" || m["trace"] == nil {
		t.Fatalf("error document = %s", res.Payload)
	}
	// The instance survives a handled error.
	if decode(t, invoke(t, r, "f", `{}`))["invocations"].(float64) != 2 {
		t.Fatal("instance was replaced after a function error")
	}
}

func TestTimeoutKillsInstanceAndKeepsServing(t *testing.T) {
	r := newRegistry(t, Options{})
	s := nodeSpec(t, "f")
	s.Timeout = 1
	if err := r.Deploy([]FunctionSpec{s}); err != nil {
		t.Fatal(err)
	}
	first := decode(t, invoke(t, r, "f", `{}`))
	res := invoke(t, r, "f", `{"mode":"sleep"}`)
	if res.FunctionError != "Unhandled" || res.ErrorType != "Sandbox.Timedout" {
		t.Fatalf("result = %+v %s", res, res.Payload)
	}
	if m := decode(t, res); !strings.HasSuffix(m["errorMessage"].(string), "Task timed out after 1.00 seconds") {
		t.Fatalf("message = %v", m["errorMessage"])
	}
	after := decode(t, invoke(t, r, "f", `{}`))
	if after["pid"] == first["pid"] || after["invocations"].(float64) != 1 {
		t.Fatalf("the timed-out instance was reused: %v then %v", first, after)
	}
}

func TestCrashGivesExitErrorAndIsReplaced(t *testing.T) {
	r := newRegistry(t, Options{})
	if err := r.Deploy([]FunctionSpec{nodeSpec(t, "f")}); err != nil {
		t.Fatal(err)
	}
	res := invoke(t, r, "f", `{"mode":"exit"}`)
	if res.ErrorType != "Runtime.ExitError" || !strings.Contains(string(res.Payload), "exit status 7") {
		t.Fatalf("result = %+v %s", res, res.Payload)
	}
	if m := decode(t, invoke(t, r, "f", `{}`)); m["invocations"].(float64) != 1 {
		t.Fatalf("after crash: %v", m)
	}
}

func TestMissingExportIsInitError(t *testing.T) {
	r := newRegistry(t, Options{})
	s := nodeSpec(t, "f")
	s.Handler = "handler.missing"
	if err := r.Deploy([]FunctionSpec{s}); err != nil {
		t.Fatal(err)
	}
	res := invoke(t, r, "f", `{}`)
	if res.FunctionError != "Unhandled" || res.ErrorType != "Runtime.HandlerNotFound" {
		t.Fatalf("result = %+v %s", res, res.Payload)
	}
}

func TestDeployIsATransaction(t *testing.T) {
	r := newRegistry(t, Options{})
	if err := r.Deploy([]FunctionSpec{nodeSpec(t, "f")}); err != nil {
		t.Fatal(err)
	}
	bad := nodeSpec(t, "g")
	bad.Handler = "nofile.handler"
	if err := r.Deploy([]FunctionSpec{nodeSpec(t, "f2"), bad}); err == nil {
		t.Fatal("deploy with a missing handler file succeeded")
	}
	if _, ok := r.Function("f2"); ok {
		t.Fatal("failed deploy was half-applied")
	}
	invoke(t, r, "f", `{}`) // the old version still serves
}

func TestThrottleBeyondReservedConcurrency(t *testing.T) {
	r := newRegistry(t, Options{ThrottleWait: 50 * time.Millisecond})
	s := nodeSpec(t, "f")
	one := 1
	s.ReservedConcurrency = &one
	if err := r.Deploy([]FunctionSpec{s}); err != nil {
		t.Fatal(err)
	}
	invoke(t, r, "f", `{}`) // warm the single instance
	started := make(chan struct{})
	done := make(chan *Result)
	go func() {
		close(started)
		res, _ := r.Invoke(context.Background(), &Request{Function: "f", Payload: []byte(`{"mode":"sleep","ms":3000}`)})
		done <- res
	}()
	<-started
	// Once the long call holds the only instance, a second call is throttled.
	waitFor(t, "a throttle", func() bool {
		_, err := r.Invoke(context.Background(), &Request{Function: "f", Payload: []byte(`{}`)})
		return errors.Is(err, ErrThrottled)
	})
	if res := <-done; res == nil || res.FunctionError != "" {
		t.Fatalf("long call = %+v", res)
	}
	zero := 0
	s.ReservedConcurrency = &zero
	if err := r.Deploy([]FunctionSpec{s}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Invoke(context.Background(), &Request{Function: "f", Payload: []byte(`{}`)}); !errors.Is(err, ErrThrottled) {
		t.Fatalf("reservedConcurrency 0: err = %v", err)
	}
	if st := r.Stats(); len(st.Functions) != 1 || st.Functions[0].Throttles < 2 || st.Functions[0].ReservedConcurrency != 0 {
		t.Fatalf("stats = %+v", st)
	}
}

// A burst of n calls that can only finish once all n run at once: the pool
// must grow from zero to n instances, however long each start takes, and
// shrink back to zero once idle.
func TestBurstFromZeroAndBackToZero(t *testing.T) { stemModes(t, testBurst) }

func testBurst(t *testing.T, stems int) {
	const n = 8
	r := newRegistry(t, Options{IdleTimeout: 100 * time.Millisecond, MaxConcurrency: n, StemCells: stems})
	s := nodeSpec(t, "f")
	s.Timeout = 60
	if err := r.Deploy([]FunctionSpec{s}); err != nil {
		t.Fatal(err)
	}
	fromStem(t, r, stems)
	if seen := together(t, r, "f", n); len(seen) != n {
		t.Fatalf("%d calls ran in %d instances", n, len(seen))
	}
	st := r.Stats().Functions[0]
	if st.ProcessStarts+st.StemStarts != n || st.Throttles != 0 || stems > 0 && st.StemStarts == 0 {
		t.Errorf("stats after the burst: %+v", st)
	}
	waitFor(t, "scale to zero", func() bool { return r.Instances() == 0 })
}

// together makes n calls to fn that can only finish once all n run at once
// (the handler's barrier mode) and returns the pids of the processes that
// ran them.
func together(t *testing.T, r *Registry, fn string, n int) map[any]bool {
	t.Helper()
	payload := fmt.Sprintf(`{"mode":"barrier","n":%d,"dir":%q}`, n, t.TempDir())
	var wg sync.WaitGroup
	pids := make(chan any, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := r.Invoke(context.Background(), &Request{Function: fn, Payload: []byte(payload)})
			if err != nil || res.FunctionError != "" {
				t.Errorf("invoke: %v %+v", err, res)
				return
			}
			pids <- decode(t, res)["pid"]
		}()
	}
	wg.Wait()
	close(pids)
	seen := map[any]bool{}
	for p := range pids {
		seen[p] = true
	}
	return seen
}

func TestConcurrentCallsScaleUpAndIdleScalesToZero(t *testing.T) {
	r := newRegistry(t, Options{IdleTimeout: 200 * time.Millisecond})
	if err := r.Deploy([]FunctionSpec{nodeSpec(t, "f")}); err != nil {
		t.Fatal(err)
	}
	// Three calls that each hold an instance until all three run at once.
	var wg sync.WaitGroup
	pids := make(chan any, 3)
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := r.Invoke(context.Background(), &Request{Function: "f", Payload: []byte(`{"mode":"sleep","ms":300}`)})
			if err != nil || res.FunctionError != "" {
				t.Errorf("invoke: %v %+v", err, res)
				return
			}
			pids <- res.RequestID
		}()
	}
	waitFor(t, "three instances", func() bool { return r.Instances() == 3 })
	wg.Wait()
	waitFor(t, "scale to zero", func() bool { return r.Instances() == 0 })
}

func TestLogsOrderAndReport(t *testing.T) {
	logs, _ := telemetry.NewLogs("")
	r := newRegistry(t, Options{Logs: logs})
	if err := r.Deploy([]FunctionSpec{nodeSpec(t, "f")}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		res, err := r.Invoke(context.Background(), &Request{Function: "f", Payload: []byte(`{"mode":"log","lines":3}`), Tail: true})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(res.LogTail), "START RequestId: "+res.RequestID+" Version: $LATEST\n") ||
			!strings.Contains(string(res.LogTail), "line 2") || !strings.Contains(string(res.LogTail), "REPORT RequestId: "+res.RequestID) {
			t.Fatalf("log tail = %q", res.LogTail)
		}
	}
	lines, _ := logs.Since("f", 0)
	var kinds []string
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l.Text, "START RequestId: "):
			kinds = append(kinds, "START")
		case strings.HasPrefix(l.Text, "END RequestId: "):
			kinds = append(kinds, "END")
		case strings.HasPrefix(l.Text, "REPORT RequestId: "):
			kinds = append(kinds, "REPORT")
			for _, f := range []string{"\tDuration: ", " ms\tBilled Duration: ", "\tMemory Size: 256 MB", "\tMax Memory Used: "} {
				if !strings.Contains(l.Text, f) {
					t.Errorf("REPORT line lacks %q: %s", f, l.Text)
				}
			}
			if strings.Contains(l.Text, "Max Memory Used: 0 MB") {
				t.Errorf("memory not measured: %s", l.Text)
			}
		case strings.Contains(l.Text, "\tINFO\tline "):
			kinds = append(kinds, "out")
		}
	}
	want := "START out out out END REPORT START out out out END REPORT"
	if got := strings.Join(kinds, " "); got != want {
		t.Fatalf("log order = %s\nwant %s", got, want)
	}
	if !strings.Contains(findReport(lines, 0), "\tInit Duration: ") {
		t.Fatalf("first REPORT lacks Init Duration")
	}
	if strings.Contains(findReport(lines, 1), "Init Duration") {
		t.Fatalf("warm REPORT has Init Duration")
	}
}

func findReport(lines []telemetry.Line, n int) string {
	for _, l := range lines {
		if strings.HasPrefix(l.Text, "REPORT") {
			if n == 0 {
				return l.Text
			}
			n--
		}
	}
	return ""
}

func TestHugeOutputDoesNotBlock(t *testing.T) {
	r := newRegistry(t, Options{})
	if err := r.Deploy([]FunctionSpec{nodeSpec(t, "f")}); err != nil {
		t.Fatal(err)
	}
	res := invoke(t, r, "f", `{"mode":"big-log","bytes":5000000}`)
	if res.FunctionError != "" {
		t.Fatalf("result = %s", res.Payload)
	}
}

func TestInstanceEnvironmentIsMinimal(t *testing.T) {
	t.Setenv("SERVER_SECRET", "do-not-leak")
	r := newRegistry(t, Options{Credentials: func(string) (InstanceCredentials, func()) {
		return InstanceCredentials{KeyID: "ASIAFN", Secret: "fnsecret"}, nil
	}})
	s := nodeSpec(t, "f")
	s.Environment = map[string]string{"CUSTOM": "yes"}
	if err := r.Deploy([]FunctionSpec{s}); err != nil {
		t.Fatal(err)
	}
	m := decode(t, invoke(t, r, "f", `{"mode":"env"}`))
	keys := m["keys"].([]any)
	var ks []string
	for _, k := range keys {
		ks = append(ks, k.(string))
	}
	joined := " " + strings.Join(ks, " ") + " "
	for _, want := range []string{"_HANDLER", "LAMBDA_TASK_ROOT", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "TZ", "CUSTOM"} {
		if !strings.Contains(joined, " "+want+" ") {
			t.Errorf("environment lacks %s: %v", want, ks)
		}
	}
	if strings.Contains(joined, "SERVER_SECRET") || strings.Contains(joined, " HOME ") {
		t.Errorf("server environment leaked: %v", ks)
	}
	if m["custom"] != "yes" || m["name"] != "f" {
		t.Errorf("env values: %v", m)
	}
}

func TestContextObject(t *testing.T) {
	r := newRegistry(t, Options{})
	if err := r.Deploy([]FunctionSpec{nodeSpec(t, "f"), {Name: "p", Runtime: "python3.11", Handler: "app.handler", TaskRoot: testdata(t, "python"), MemorySize: 128, Timeout: 3}}); err != nil {
		t.Fatal(err)
	}
	res := invoke(t, r, "f", `{"mode":"context"}`)
	m := decode(t, res)
	if m["requestId"] != res.RequestID || m["functionName"] != "f" || m["memory"] != "256" ||
		m["arn"] != "arn:aws:lambda:us-east-1:000000000000:function:f" {
		t.Fatalf("node context = %v (request %s)", m, res.RequestID)
	}
	if rem := m["remaining"].(float64); rem <= 0 || rem > 5000 {
		t.Fatalf("remaining = %v", rem)
	}
	res = invoke(t, r, "p", `{"mode":"context"}`)
	m = decode(t, res)
	if m["requestId"] != res.RequestID || m["functionName"] != "p" || m["memory"] != "128" {
		t.Fatalf("python context = %v", m)
	}
	if rem := m["remaining"].(float64); rem <= 0 || rem > 3000 {
		t.Fatalf("remaining = %v", rem)
	}
	res = invoke(t, r, "p", `{"mode":"error"}`)
	if res.ErrorType != "ValueError" {
		t.Fatalf("python error = %s", res.Payload)
	}
	// The function's code folder is left as it was: no bytecode written into it.
	if _, err := os.Stat(filepath.Join(testdata(t, "python"), "__pycache__")); err == nil {
		t.Fatal("python wrote __pycache__ into the function's code folder")
	}
}

// buildGoFunction compiles examples/go-hello (aws-lambda-go) as a bootstrap.
func buildGoFunction(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "bootstrap"), "../../examples/go-hello")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build go function: %v\n%s", err, out)
	}
	return dir
}

func TestGoFunctionOverRuntimeAPI(t *testing.T) {
	stemModes(t, func(t *testing.T, stems int) { testGoFunctionOverRuntimeAPI(t, stems, false) })
	t.Run("sandboxed-stem-cell", func(t *testing.T) { testGoFunctionOverRuntimeAPI(t, 1, true) })
}

func testGoFunctionOverRuntimeAPI(t *testing.T, stems int, sandboxed bool) {
	dir := buildGoFunction(t)
	var r *Registry
	if sandboxed {
		r = isolated(t, Options{StemCells: stems})
	} else {
		r = newRegistry(t, Options{StemCells: stems})
	}
	specs := []FunctionSpec{
		{Name: "go", Runtime: "provided.al2023", Handler: "bootstrap", TaskRoot: dir, Timeout: 1, MemorySize: 128},
		{Name: "legacy", Runtime: "go1.x", Handler: "bootstrap", TaskRoot: dir, Timeout: 1, MemorySize: 128},
	}
	if err := r.Deploy(specs); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"go", "legacy"} {
		fromStem(t, r, stems)
		res := invoke(t, r, name, `{"path":"/hello","queryStringParameters":{"name":"Ada"}}`)
		var resp struct {
			StatusCode int    `json:"statusCode"`
			Body       string `json:"body"`
		}
		if err := json.Unmarshal(res.Payload, &resp); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %s", name, res.Payload)
		}
		var body map[string]any
		json.Unmarshal([]byte(resp.Body), &body)
		if body["message"] != "Hello, Ada!" || body["requestId"] != res.RequestID || body["functionName"] != name ||
			body["functionArn"] != "arn:aws:lambda:us-east-1:000000000000:function:"+name || body["hasDeadline"] != true {
			t.Fatalf("%s: body = %v", name, body)
		}
	}
	res := invoke(t, r, "go", `{"queryStringParameters":{"mode":"error"}}`)
	if res.FunctionError != "Unhandled" || !strings.Contains(string(res.Payload), "asked to fail") {
		t.Fatalf("go error = %+v %s", res, res.Payload)
	}
	res = invoke(t, r, "go", `{"queryStringParameters":{"mode":"sleep"}}`)
	if res.ErrorType != "Sandbox.Timedout" {
		t.Fatalf("go timeout = %s", res.Payload)
	}
	res = invoke(t, r, "go", `{"queryStringParameters":{"mode":"exit"}}`)
	if res.ErrorType != "Runtime.ExitError" {
		t.Fatalf("go exit = %s", res.Payload)
	}
	if res := invoke(t, r, "go", `{}`); res.FunctionError != "" {
		t.Fatalf("after exit: %s", res.Payload)
	}
	if s := starts(r).stem; stems > 0 && s < 2 || stems == 0 && s != 0 {
		t.Errorf("%d instances from stem cells", s)
	}
	// Only the instance's own processes may use its Runtime API (instances
	// share the host's network): a connection from elsewhere is closed
	// unanswered, where the API would answer an unknown request id with 4xx.
	f, _ := r.lookup("go")
	waitFor(t, "an idle instance", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return len(f.idle) > 0
	})
	f.mu.Lock()
	addr := f.idle[len(f.idle)-1].api.addr
	f.mu.Unlock()
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Post("http://"+addr+"/2018-06-01/runtime/invocation/not-a-request/response", "application/json", strings.NewReader(`{}`))
	if sandboxed && err == nil {
		resp.Body.Close()
		t.Fatalf("a foreign connection to the Runtime API was answered: %d", resp.StatusCode)
	}
	if !sandboxed {
		if err != nil {
			t.Fatalf("unsandboxed Runtime API: %v", err)
		}
		resp.Body.Close()
	}
}

func TestFastCallsShareFewInstances(t *testing.T) {
	// The scaling rule itself, on a pool in a given state (a real burst's
	// outcome depends on how fast this machine runs it): a burst on a cold
	// function waits for the first instance rather than starting one per
	// call while it starts, and once calls are seen to take about a
	// millisecond, queueing behind few instances beats starting more; calls
	// that take long start more instances, a few at a time.
	r := newRegistry(t, Options{ScaleDelay: 10 * time.Millisecond})
	f := &function{reg: r, slots: slots{limit: 100, acct: &account{max: 100}}}
	queue := func(n int) {
		f.queue = nil
		for range n {
			f.queue = append(f.queue, &call{queued: true})
		}
	}
	last := func() *call { return f.queue[len(f.queue)-1] }

	queue(8)
	f.slots.acquire(1) // the first instance, starting; nothing known of the calls
	if f.shouldScaleLocked(last()) {
		t.Error("a second instance starts while the first one starts and nothing is known")
	}
	f.slots.started(1)
	f.avgDur = time.Millisecond // 8 calls ahead at 1 ms: an 8 ms wait < ScaleDelay
	if f.shouldScaleLocked(last()) {
		t.Error("fast calls start another instance")
	}
	f.avgDur = 20 * time.Millisecond // slow calls: 160 ms to wait for the last
	if !f.shouldScaleLocked(last()) {
		t.Error("slow calls do not start another instance")
	}
	f.avgDur = 2 * time.Millisecond // fast calls, 16 ms to wait: a trial, once the rate is known
	if f.shouldScaleLocked(f.queue[0]) {
		t.Error("the first call, 2 ms away, starts another instance")
	}
	if f.shouldScaleLocked(last()) {
		t.Error("a trial began before the rate was known")
	}
	feed(&f.tuner, time.Now().Add(-time.Second), 1000, 500*time.Millisecond)
	if !f.shouldScaleLocked(last()) || !f.tuner.trial {
		t.Error("no trial for fast calls with a known rate")
	}
	f.tuner = tuner{}
	f.avgDur = 20 * time.Millisecond
	f.slots.acquire(maxParallelStarts())
	if f.shouldScaleLocked(last()) {
		t.Error("more than maxParallelStarts instances start at once")
	}
	if err := f.checkInvariantsLocked(); err != nil {
		t.Fatal(err)
	}
}

func TestSlowInitIsNotThrottledBelowTheLimit(t *testing.T) {
	// Calls queued behind instances that are still starting wait for them,
	// even past ThrottleWait: throttling is for a function at its limit.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "handler.js"), []byte("const end = Date.now() + 300; while (Date.now() < end) {}\nexports.handler = async () => ({ ok: true });\n"), 0o644)
	r := newRegistry(t, Options{ThrottleWait: 50 * time.Millisecond})
	if err := r.Deploy([]FunctionSpec{{Name: "slow", Runtime: "nodejs20.x", Handler: "handler.handler", TaskRoot: dir, Timeout: 5}}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := r.Invoke(context.Background(), &Request{Function: "slow", Payload: []byte(`{}`)}); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("invoke: %v", err)
	}
}

func TestFailedStartsLeakNoDescriptors(t *testing.T) {
	dir := t.TempDir()
	boot := filepath.Join(dir, "bootstrap")
	os.WriteFile(boot, []byte("#!/bin/sh\nexit 0\n"), 0o755)
	r := newRegistry(t, Options{})
	if err := r.Deploy([]FunctionSpec{{Name: "p", Runtime: "provided.al2023", Handler: "bootstrap", TaskRoot: dir, Timeout: 1}}); err != nil {
		t.Fatal(err)
	}
	os.Chmod(boot, 0o644) // the next starts fail in exec
	count := func() int { es, _ := os.ReadDir("/proc/self/fd"); return len(es) }
	before := count()
	for i := 0; i < 20; i++ {
		res := invoke(t, r, "p", `{}`)
		if res.ErrorType != "Runtime.Unknown" {
			t.Fatalf("start failure = %s", res.Payload)
		}
	}
	if after := count(); after > before+2 {
		t.Fatalf("open descriptors went from %d to %d over 20 failed starts", before, after)
	}
}

func TestRuntimeThatDiesDuringInitIsReported(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "handler.js"), []byte("process.exit(5);\nexports.handler = async () => 1;\n"), 0o644)
	r := newRegistry(t, Options{})
	if err := r.Deploy([]FunctionSpec{{Name: "d", Runtime: "nodejs20.x", Handler: "handler.handler", TaskRoot: dir, Timeout: 3}}); err != nil {
		t.Fatal(err)
	}
	res := invoke(t, r, "d", `{}`)
	if res.ErrorType != "Runtime.ExitError" || !strings.Contains(string(res.Payload), "exit status 5") {
		t.Fatalf("result = %s", res.Payload)
	}
}
