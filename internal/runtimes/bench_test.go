package runtimes

import (
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// echoRuntimeEnv makes the test binary a runtime written in Go that answers
// every invocation at once: the ceiling a bootstrap's round trip is compared
// with (BENCHMARKING.md: a figure means something next to its baseline).
const echoRuntimeEnv = "CLOUDLET_TEST_ECHO_RUNTIME"

func init() {
	if os.Getenv(echoRuntimeEnv) != "1" {
		return
	}
	runtime.LockOSThread() // stay on the main thread, which the benchmark may pin to a vCPU
	in, out := os.NewFile(3, "in"), os.NewFile(4, "out")
	resp := AppendFrame(nil, KindReady, nil)
	out.Write(resp)
	var buf []byte
	var inv Invocation
	for {
		kind, body, nb, err := ReadFrame(in, buf)
		buf = nb
		if err != nil {
			os.Exit(0)
		}
		if kind != KindInvoke || ParseInvoke(body, &inv) != nil {
			os.Exit(2)
		}
		resp = AppendFrame(resp[:0], KindResponse, []byte(`{"statusCode":200,"body":"ok"}`))
		if _, err := out.Write(resp); err != nil {
			os.Exit(0)
		}
	}
}

// blockingInstance starts an instance the way internal/lambda drives one:
// blocking reads and writes on raw pipe ends from one locked OS thread.
func blockingInstance(b *testing.B, path string, args, env []string, dir string) (toChild, fromChild *os.File, cmd *exec.Cmd) {
	b.Helper()
	childR, parentW, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	parentR, childW, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	// Fd puts the parent's ends in blocking mode: reads and writes become
	// plain system calls, bypassing the netpoller.
	parentW.Fd()
	parentR.Fd()
	cmd = &exec.Cmd{Path: path, Args: args, Env: env, Dir: dir, ExtraFiles: []*os.File{childR, childW}}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	childR.Close()
	childW.Close()
	b.Cleanup(func() {
		parentW.Close()
		cmd.Wait()
		parentR.Close()
	})
	return parentW, parentR, cmd
}

// benchRoundTrip measures invocations/s on one instance, one at a time. With
// pin, the driving thread and the child's main thread share one vCPU (a
// wakeup across vCPUs costs ~20 µs on these VMs, two per invocation), which
// also makes the figure far less noisy.
func benchRoundTrip(b *testing.B, pin bool, path string, args, env []string, dir string) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	w, r, cmd := blockingInstance(b, path, args, env, dir)
	if pin {
		var set, old unix.CPUSet
		if err := unix.SchedGetaffinity(0, &old); err != nil {
			b.Fatal(err)
		}
		set.Set(runtime.NumCPU() - 1)
		if err := unix.SchedSetaffinity(0, &set); err != nil {
			b.Fatal(err)
		}
		defer unix.SchedSetaffinity(0, &old)
		if err := unix.SchedSetaffinity(cmd.Process.Pid, &set); err != nil {
			b.Fatal(err)
		}
	}
	var buf []byte
	kind, body, buf, err := ReadFrame(r, buf)
	if err != nil || kind != KindReady {
		b.Fatalf("init: %q %s %v", kind, body, err)
	}
	inv := Invocation{RequestID: "8f5c7e0e-aaaa-bbbb-cccc-123456789012", Payload: []byte(`{"path":"/","httpMethod":"GET"}`)}
	var out []byte
	roundTrip := func() {
		inv.DeadlineMs = time.Now().Add(6 * time.Second).UnixMilli()
		out = AppendInvoke(out[:0], &inv)
		if _, err := w.Write(out); err != nil {
			b.Fatal(err)
		}
		kind, body, buf, err = ReadFrame(r, buf)
		if err != nil || kind != KindResponse {
			b.Fatalf("invoke: %q %s %v", kind, body, err)
		}
	}
	for range 2000 { // warm up: JIT, caches
		roundTrip()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		roundTrip()
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "inv/s")
}

// benchSpec prepares fixture (copied to a temporary folder, so that Python
// may cache its bytecode as it does in a real task root) for benchmarks.
func benchSpec(b *testing.B, runtime, handler, fixture string) (*Launch, []string, string) {
	b.Helper()
	root := b.TempDir()
	if err := os.CopyFS(root, os.DirFS(fixture)); err != nil {
		b.Fatal(err)
	}
	l, err := Prepare(runtimeDir, Spec{Runtime: runtime, Handler: handler, TaskRoot: root})
	if err != nil {
		b.Skip(err)
	}
	env := slices.DeleteFunc(testEnv(root, handler, runtime), func(kv string) bool {
		return strings.HasPrefix(kv, "PYTHONDONTWRITEBYTECODE=")
	})
	return l, append(env, l.Env...), root
}

// BenchmarkGoPipeRoundTrip is the ceiling: the same exchange with a Go child.
func BenchmarkGoPipeRoundTrip(b *testing.B) {
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	for _, pin := range []bool{true, false} {
		b.Run(pinName(pin), func(b *testing.B) {
			benchRoundTrip(b, pin, exe, []string{exe}, []string{echoRuntimeEnv + "=1"}, "")
		})
	}
}

func pinName(pin bool) string {
	if pin {
		return "same-cpu"
	}
	return "unpinned"
}

func BenchmarkNodePipeRoundTrip(b *testing.B) {
	l, env, root := benchSpec(b, nodeRuntime, "handler.ping", "testdata/node/ping")
	for _, pin := range []bool{true, false} {
		b.Run(pinName(pin), func(b *testing.B) { benchRoundTrip(b, pin, l.Path, l.Args, env, root) })
	}
}

func BenchmarkPythonPipeRoundTrip(b *testing.B) {
	l, env, root := benchSpec(b, pythonRuntime, "handler.ping", "testdata/python/ping")
	for _, pin := range []bool{true, false} {
		b.Run(pinName(pin), func(b *testing.B) { benchRoundTrip(b, pin, l.Path, l.Args, env, root) })
	}
}

// coldStart measures, from the parent's clock, the time from starting the
// process to the first response, interleaved with the time of a baseline
// command (the bare interpreter) started just before it.
func coldStart(b *testing.B, l *Launch, env []string, root string, baseline []string) {
	var cold, ready, base []time.Duration
	inv := Invocation{RequestID: "r", DeadlineMs: 1 << 50, Payload: []byte(`{}`)}
	frame := AppendInvoke(nil, &inv)
	for b.Loop() {
		t0 := time.Now()
		bc := exec.Command(baseline[0], baseline[1:]...)
		bc.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"}
		if err := bc.Run(); err != nil {
			b.Fatalf("baseline %v: %v", baseline, err)
		}
		base = append(base, time.Since(t0))

		t0 = time.Now()
		w, r, cmd := blockingInstance(b, l.Path, l.Args, env, root)
		kind, body, buf, err := ReadFrame(r, nil)
		if err != nil || kind != KindReady {
			b.Fatalf("init: %q %s %v", kind, body, err)
		}
		ready = append(ready, time.Since(t0))
		w.Write(frame)
		if kind, body, _, err = ReadFrame(r, buf); err != nil || kind != KindResponse {
			b.Fatalf("invoke: %q %s %v", kind, body, err)
		}
		cold = append(cold, time.Since(t0))
		w.Close()
		cmd.Wait()
	}
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	pct := func(ds []time.Duration, p int) time.Duration {
		s := slices.Clone(ds)
		slices.Sort(s)
		return s[(len(s)-1)*p/100]
	}
	b.ReportMetric(ms(pct(cold, 50)), "p50-ms")
	b.ReportMetric(ms(pct(cold, 90)), "p90-ms")
	b.ReportMetric(ms(pct(cold, 99)), "p99-ms")
	b.ReportMetric(ms(pct(ready, 50)), "ready-p50-ms")
	b.ReportMetric(ms(pct(base, 50)), "baseline-p50-ms")
	ratios := make([]time.Duration, len(cold))
	for i := range cold {
		ratios[i] = cold[i] * 1000 / base[i]
	}
	b.ReportMetric(float64(pct(ratios, 50))/1000, "ratio-p50")
}

// BenchmarkNodeColdStart: process start to first response of a trivial
// handler; baseline `node -e 0`. Run with -benchtime=30x or more.
func BenchmarkNodeColdStart(b *testing.B) {
	l, env, root := benchSpec(b, nodeRuntime, "handler.ping", "testdata/node/ping")
	coldStart(b, l, env, root, []string{l.Path, "-e", "0"})
}

// BenchmarkPythonColdStart: same for Python; baseline `python -I -S -c pass`
// with the same interpreter.
func BenchmarkPythonColdStart(b *testing.B) {
	l, env, root := benchSpec(b, pythonRuntime, "handler.ping", "testdata/python/ping")
	coldStart(b, l, env, root, []string{l.Path, "-I", "-S", "-c", "pass"})
}

// BenchmarkPipeRoundTripCompared runs the Go ceiling, Node and Python
// instances side by side and alternates batches of 200 invocations between
// them (A B C A B C …), so that all three see the same machine load; it
// reports each one's invocations/s and its ratio to the ceiling. One op is
// one batch.
func BenchmarkPipeRoundTripCompared(b *testing.B) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	type side struct {
		name    string
		w, r    *os.File
		buf     []byte
		spent   time.Duration
		invokes int
	}
	var sides []*side
	add := func(name, path string, args, env []string, dir string) {
		w, r, _ := blockingInstance(b, path, args, env, dir)
		kind, body, buf, err := ReadFrame(r, nil)
		if err != nil || kind != KindReady {
			b.Fatalf("%s init: %q %s %v", name, kind, body, err)
		}
		sides = append(sides, &side{name: name, w: w, r: r, buf: buf})
	}
	add("go", exe, []string{exe}, []string{echoRuntimeEnv + "=1"}, "")
	l, env, root := benchSpec(b, nodeRuntime, "handler.ping", "testdata/node/ping")
	add("node", l.Path, l.Args, env, root)
	l, env, root = benchSpec(b, pythonRuntime, "handler.ping", "testdata/python/ping")
	add("python", l.Path, l.Args, env, root)

	inv := Invocation{RequestID: "8f5c7e0e-aaaa-bbbb-cccc-123456789012", Payload: []byte(`{"path":"/","httpMethod":"GET"}`)}
	var out []byte
	batch := func(s *side, n int) {
		t0 := time.Now()
		for range n {
			inv.DeadlineMs = time.Now().Add(6 * time.Second).UnixMilli()
			out = AppendInvoke(out[:0], &inv)
			if _, err := s.w.Write(out); err != nil {
				b.Fatal(err)
			}
			var kind byte
			var err error
			kind, _, s.buf, err = ReadFrame(s.r, s.buf)
			if err != nil || kind != KindResponse {
				b.Fatalf("%s: %q %v", s.name, kind, err)
			}
		}
		s.spent += time.Since(t0)
		s.invokes += n
	}
	for _, s := range sides { // warm up
		batch(s, 2000)
		s.spent, s.invokes = 0, 0
	}
	i := 0
	for b.Loop() {
		batch(sides[i%len(sides)], 200)
		i++
	}
	rate := func(s *side) float64 { return float64(s.invokes) / s.spent.Seconds() }
	for _, s := range sides {
		b.ReportMetric(rate(s), s.name+"-inv/s")
		if s != sides[0] {
			b.ReportMetric(rate(s)/rate(sides[0]), s.name+"/go")
		}
	}
}
