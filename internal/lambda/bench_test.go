package lambda

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/cloudlet/cloudlet/internal/sandbox"
)

// benchInvoke measures warm invocations of a trivial handler on one instance
// (reservedConcurrency 1), the hot path gateway → invoker → instance → response.
func benchInvoke(b *testing.B, runtime, handler string, parallel bool) {
	benchInvokeIn(b, Options{}, runtime, handler, parallel)
}

func benchInvokeIn(b *testing.B, opts Options, runtime, handler string, parallel bool) {
	opts.RuntimeDir = b.TempDir()
	r, err := NewRegistry(opts)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	one := 1
	root, _ := testdataAbs("trivial")
	if err := r.Deploy([]FunctionSpec{{Name: "f", Runtime: runtime, Handler: handler, TaskRoot: root, ReservedConcurrency: &one}}); err != nil {
		b.Fatal(err)
	}
	req := &Request{Function: "f", Payload: []byte(`{"path":"/hello","httpMethod":"GET"}`)}
	if _, err := r.Invoke(context.Background(), req); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	if parallel {
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if res, err := r.Invoke(context.Background(), req); err != nil || res.FunctionError != "" {
					b.Error(err)
					return
				}
			}
		})
	} else {
		for i := 0; i < b.N; i++ {
			if res, err := r.Invoke(context.Background(), req); err != nil || res.FunctionError != "" {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "invokes/s")
}

func BenchmarkInvokeNodeSerial(b *testing.B) { benchInvoke(b, "nodejs20.x", "handler.handler", false) }

// BenchmarkInvokeNodeSerialSandboxed is BenchmarkInvokeNodeSerial inside the
// sandbox: the difference is the sandbox's cost on a warm invocation.
func BenchmarkInvokeNodeSerialSandboxed(b *testing.B) {
	sb := sandbox.New("cloudlet-bench", "")
	if ok, why := sb.Isolated(); !ok {
		b.Fatalf("sandbox not available: %s", why)
	}
	benchInvokeIn(b, Options{Sandbox: sb}, "nodejs20.x", "handler.handler", false)
}
func BenchmarkInvokeNodeQueued(b *testing.B)   { benchInvoke(b, "nodejs20.x", "handler.handler", true) }
func BenchmarkInvokePythonSerial(b *testing.B) { benchInvoke(b, "python3.11", "app.handler", false) }
func BenchmarkInvokePythonQueued(b *testing.B) { benchInvoke(b, "python3.11", "app.handler", true) }

func BenchmarkInvokeGoRuntimeAPISerial(b *testing.B) {
	dir := b.TempDir()
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "bootstrap"), "../../examples/go-hello")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("%v\n%s", err, out)
	}
	r, err := NewRegistry(Options{RuntimeDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	if err := r.Deploy([]FunctionSpec{{Name: "f", Runtime: "provided.al2023", Handler: "bootstrap", TaskRoot: dir}}); err != nil {
		b.Fatal(err)
	}
	req := &Request{Function: "f", Payload: []byte(`{"path":"/hello","httpMethod":"GET"}`)}
	if _, err := r.Invoke(context.Background(), req); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if res, err := r.Invoke(context.Background(), req); err != nil || res.FunctionError != "" {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "invokes/s")
}
