package runtimes

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// runtimeDir is where TestMain installs the bootstraps.
var runtimeDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cloudlet-runtimes-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	runtimeDir = dir
	if err := Install(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// ioTimeout bounds every wait on a child, so that a broken bootstrap fails
// the test instead of hanging it.
const ioTimeout = 20 * time.Second

// logBuffer collects what an instance writes to its log pipe.
type logBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // closed and replaced at every write
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.changed != nil {
		close(l.changed)
		l.changed = nil
	}
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	s, _ := l.snapshot()
	return s
}

// snapshot returns the log so far and a channel closed at the next write.
func (l *logBuffer) snapshot() (string, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.changed == nil {
		l.changed = make(chan struct{})
	}
	return l.buf.String(), l.changed
}

// instance is one runtime process speaking the channel, as internal/lambda
// runs it (but with os.Pipe ends that support deadlines).
type instance struct {
	t         testing.TB
	cmd       *exec.Cmd
	toChild   *os.File
	fromChild *os.File
	logs      *logBuffer
	buf       []byte
	out       []byte
	exited    chan struct{}
	seq       int
}

type instanceOpts struct {
	env     []string // extra "K=V", after the launch's and the standard ones
	logPipe *os.File // when set, the write end given as stdout and stderr instead of a logBuffer
	stem    bool     // start a stem cell: no function in the environment, in /
}

func testEnv(taskRoot, handler, runtime string) []string {
	return []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"LANG=C.UTF-8",
		"TZ=:UTC",
		"_HANDLER=" + handler,
		"LAMBDA_TASK_ROOT=" + taskRoot,
		"AWS_LAMBDA_FUNCTION_NAME=svc-dev-fn",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=1024",
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/svc-dev-fn",
		"AWS_LAMBDA_LOG_STREAM_NAME=2026/01/01/[$LATEST]abc",
		"AWS_REGION=eu-west-1",
		"AWS_DEFAULT_REGION=eu-west-1",
		"AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test",
		"AWS_SESSION_TOKEN=token",
		"AWS_ENDPOINT_URL=http://127.0.0.1:4566",
		// Keeps Python from writing __pycache__ folders into testdata.
		"PYTHONDONTWRITEBYTECODE=1",
	}
}

func startInstance(t testing.TB, runtime, handler, taskRoot string, opts instanceOpts) *instance {
	t.Helper()
	if !filepath.IsAbs(taskRoot) {
		abs, err := filepath.Abs(taskRoot)
		if err != nil {
			t.Fatal(err)
		}
		taskRoot = abs
	}
	l, err := Prepare(runtimeDir, Spec{Runtime: runtime, Handler: handler, TaskRoot: taskRoot})
	if err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	childR, parentW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	parentR, childW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	cmd := &exec.Cmd{
		Path:       l.Path,
		Args:       l.Args,
		Dir:        taskRoot,
		Env:        append(append(testEnv(taskRoot, handler, runtime), l.Env...), opts.env...),
		ExtraFiles: []*os.File{childR, childW},
		Stdout:     logs,
		Stderr:     logs,
	}
	if opts.stem {
		cmd.Dir = "/"
		cmd.Env = []string{"PATH=/usr/bin:/bin", "CLOUDLET_STEM=1"}
	}
	if opts.logPipe != nil {
		cmd.Stdout, cmd.Stderr = opts.logPipe, opts.logPipe
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", l.Path, err)
	}
	childR.Close()
	childW.Close()
	in := &instance{t: t, cmd: cmd, toChild: parentW, fromChild: parentR, logs: logs, exited: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(in.exited)
	}()
	t.Cleanup(in.kill)
	return in
}

func (in *instance) kill() {
	in.toChild.Close()
	select {
	case <-in.exited:
	case <-time.After(ioTimeout):
		in.cmd.Process.Kill()
		<-in.exited
	}
	in.fromChild.Close()
}

// read reads the next frame from the instance.
func (in *instance) read() (byte, []byte) {
	in.t.Helper()
	in.fromChild.SetReadDeadline(time.Now().Add(ioTimeout))
	kind, body, buf, err := ReadFrame(in.fromChild, in.buf)
	in.buf = buf
	if err != nil {
		in.t.Fatalf("read frame: %v\nlogs:\n%s", err, in.logs.String())
	}
	return kind, body
}

// ready waits for the init outcome: 'Y', or 'N' with its body.
func (in *instance) ready() (byte, []byte) {
	in.t.Helper()
	return in.read()
}

func (in *instance) mustReady() {
	in.t.Helper()
	if kind, body := in.ready(); kind != KindReady {
		in.t.Fatalf("init: got %q %s, want ready\nlogs:\n%s", kind, body, in.logs.String())
	}
}

// invoke sends one invocation and returns the kind and body of the answer.
func (in *instance) invoke(inv Invocation) (byte, []byte) {
	in.t.Helper()
	if inv.RequestID == "" {
		in.seq++
		inv.RequestID = fmt.Sprintf("req-%d", in.seq)
	}
	if inv.DeadlineMs == 0 {
		inv.DeadlineMs = time.Now().Add(30 * time.Second).UnixMilli()
	}
	in.out = AppendInvoke(in.out[:0], &inv)
	in.toChild.SetWriteDeadline(time.Now().Add(ioTimeout))
	if _, err := in.toChild.Write(in.out); err != nil {
		in.t.Fatalf("write invoke: %v", err)
	}
	return in.read()
}

func (in *instance) call(payload string) (byte, []byte) {
	in.t.Helper()
	return in.invoke(Invocation{Payload: []byte(payload)})
}

// mustRespond invokes and decodes a successful response into v.
func (in *instance) mustRespond(payload string, v any) {
	in.t.Helper()
	kind, body := in.call(payload)
	if kind != KindResponse {
		in.t.Fatalf("invoke %s: got %q %s, want a response\nlogs:\n%s", payload, kind, body, in.logs.String())
	}
	if err := json.Unmarshal(body, v); err != nil {
		in.t.Fatalf("response %s: %v", body, err)
	}
}

// waitExit waits for the process to end and returns its exit code.
func (in *instance) waitExit() int {
	in.t.Helper()
	select {
	case <-in.exited:
	case <-time.After(ioTimeout):
		in.t.Fatalf("instance did not exit\nlogs:\n%s", in.logs.String())
	}
	return in.cmd.ProcessState.ExitCode()
}

// waitLog waits until the log contains every one of subs.
func (in *instance) waitLog(subs ...string) string {
	in.t.Helper()
	timeout := time.After(ioTimeout)
	for {
		s, changed := in.logs.snapshot()
		missing := ""
		for _, sub := range subs {
			if !strings.Contains(s, sub) {
				missing = sub
				break
			}
		}
		if missing == "" {
			return s
		}
		select {
		case <-changed:
		case <-timeout:
			in.t.Fatalf("log never contained %q; log:\n%s", missing, s)
		}
	}
}

// errorDoc is the union of the Node and Python error documents.
type errorDoc struct {
	ErrorType    string   `json:"errorType"`
	ErrorMessage string   `json:"errorMessage"`
	Trace        []string `json:"trace"`      // Node
	StackTrace   []string `json:"stackTrace"` // Python
	RequestID    *string  `json:"requestId"`  // Python
}

func decodeError(t testing.TB, body []byte) errorDoc {
	t.Helper()
	var d errorDoc
	if err := json.Unmarshal(body, &d); err != nil {
		t.Fatalf("error document %s: %v", body, err)
	}
	return d
}

func needNode(t testing.TB) {
	t.Helper()
	if _, err := findNode(); err != nil {
		t.Skip(err)
	}
}

func needPython(t testing.TB) {
	t.Helper()
	if _, err := findPython(11); err != nil {
		t.Skip(err)
	}
}
