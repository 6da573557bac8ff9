package runtimes

import (
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// readyNow returns what is in the pipe at this instant, without waiting.
func readyNow(t *testing.T, r *os.File) string {
	t.Helper()
	rc, err := r.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	buf := make([]byte, 64<<10)
	rc.Read(func(fd uintptr) bool {
		for {
			n, _ := unix.Read(int(fd), buf) // the parent's end is non-blocking: EAGAIN when empty
			if n <= 0 {
				return true
			}
			out = append(out, buf[:n]...)
		}
	})
	return string(out)
}

// TestLogsPrecedeResponse checks the guarantee the platform relies on to
// attribute log lines to invocations: everything a handler wrote is in the
// log pipe before its response frame is.
func TestLogsPrecedeResponse(t *testing.T) {
	cases := []struct {
		runtime, handler, fixture string
		need                      func(testing.TB)
		want                      []string
	}{
		{nodeRuntime, "handler.log", "testdata/node/cjs", needNode,
			[]string{"\tINFO\tinfo line\n", "\tERROR\terror line\n", "raw stdout\n", "raw stderr\n"}},
		{pythonRuntime, "handler.log", "testdata/python/app", needPython,
			[]string{"printed line\n", "\tinfo via logging arg\n", "stderr line\n"}},
	}
	for _, c := range cases {
		t.Run(c.runtime, func(t *testing.T) {
			t.Parallel()
			c.need(t)
			logR, logW, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer logR.Close()
			in := startInstance(t, c.runtime, c.handler, c.fixture, instanceOpts{logPipe: logW})
			logW.Close()
			in.mustReady()
			readyNow(t, logR)
			for i := 0; i < 20; i++ {
				if kind, body := in.call(`{}`); kind != KindResponse {
					t.Fatalf("got %q %s", kind, body)
				}
				logs := readyNow(t, logR)
				for _, w := range c.want {
					if !strings.Contains(logs, w) {
						t.Fatalf("invocation %d: right after the response the log pipe lacks %q; it has:\n%s", i, w, logs)
					}
				}
			}
		})
	}
}
