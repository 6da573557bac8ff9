package runtimes

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// A stem cell started with no function loads it when the 'S' frame arrives,
// and the function then sees exactly the environment the frame carried, in
// its own folder, as if it had been started with it.
func TestStemCellSpecialises(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ runtime, handler, fixture string }{
		{nodeRuntime, "handler.environ", "testdata/node/cjs"},
		{"python3.11", "handler.environ", "testdata/python/app"},
	} {
		t.Run(c.runtime, func(t *testing.T) {
			t.Parallel()
			if strings.HasPrefix(c.runtime, "node") {
				needNode(t)
			} else {
				needPython(t)
			}
			root, _ := filepath.Abs(c.fixture)
			in := startInstance(t, c.runtime, c.handler, root, instanceOpts{stem: true})
			in.mustReady() // the cell is up, with no function
			l, err := Prepare(runtimeDir, Spec{Runtime: c.runtime, Handler: c.handler, TaskRoot: root})
			if err != nil {
				t.Fatal(err)
			}
			env := append(append(testEnv(root, c.handler, c.runtime), l.Env...), "STEM_CHECK=specialised")
			if _, err := in.toChild.Write(AppendSpecialise(nil, env)); err != nil {
				t.Fatal(err)
			}
			in.mustReady() // the handler is loaded
			var got struct {
				Env   map[string]string
				Cwd   string
				Child string
			}
			in.mustRespond(`{}`, &got)
			if got.Cwd != root {
				t.Errorf("cwd = %q, want %q", got.Cwd, root)
			}
			if got.Env["CLOUDLET_STEM"] != "" || got.Env["STEM_CHECK"] != "specialised" || got.Env["AWS_LAMBDA_FUNCTION_NAME"] != "svc-dev-fn" {
				t.Errorf("environment = %v", got.Env)
			}
			child := strings.Split(strings.TrimSpace(got.Child), "\n")
			if !slices.Contains(child, "STEM_CHECK=specialised") || slices.Contains(child, "CLOUDLET_STEM=1") {
				t.Errorf("a child process inherits %v", child)
			}
			// The context is the function's.
			var ctx map[string]any
			kind, body := in.invoke(Invocation{Payload: []byte(`{}`)})
			if kind != KindResponse || json.Unmarshal(body, &ctx) != nil {
				t.Fatalf("second invoke: %q %s", kind, body)
			}
		})
	}
}

// Anything but 'S' first is a protocol error: the cell exits with status 2.
func TestStemCellRejectsInvokeFirst(t *testing.T) {
	t.Parallel()
	needNode(t)
	root, _ := filepath.Abs("testdata/node/cjs")
	in := startInstance(t, nodeRuntime, "handler.hello", root, instanceOpts{stem: true})
	in.mustReady()
	in.toChild.Write(AppendInvoke(nil, &Invocation{RequestID: "r", DeadlineMs: 1, Payload: []byte(`{}`)}))
	if code := in.waitExit(); code != 2 {
		t.Fatalf("exit code %d, want 2", code)
	}
}

// An exec stem cell becomes the program an 'X' frame names, with exactly
// the environment it carries, in LAMBDA_TASK_ROOT; a program that cannot be
// run makes it exit 127, saying why.
func TestExecStem(t *testing.T) {
	t.Parallel()
	needPython(t)
	l, err := ExecStem(runtimeDir)
	if err != nil {
		t.Fatal(err)
	}
	run := func(program string) (string, int) {
		childR, parentW, _ := os.Pipe()
		parentR, childW, _ := os.Pipe()
		var out strings.Builder
		cmd := &exec.Cmd{Path: l.Path, Args: l.Args, Dir: "/", Env: []string{"CLOUDLET_STEM=1", "PATH=/usr/bin:/bin"},
			ExtraFiles: []*os.File{childR, childW}, Stdout: &out, Stderr: &out}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		childR.Close()
		childW.Close()
		defer parentW.Close()
		defer parentR.Close()
		parentR.SetReadDeadline(time.Now().Add(ioTimeout))
		if kind, _, _, err := ReadFrame(parentR, nil); err != nil || kind != KindReady {
			t.Fatalf("ready: %q %v %s", kind, err, out.String())
		}
		root := t.TempDir()
		parentW.Write(AppendExec(nil, program, []string{"LAMBDA_TASK_ROOT=" + root, "STEM_CHECK=exec"}))
		cmd.Wait()
		return strings.ReplaceAll(out.String(), root, "<root>"), cmd.ProcessState.ExitCode()
	}
	out, code := run("/usr/bin/env")
	if code != 0 || !strings.Contains(out, "STEM_CHECK=exec") || strings.Contains(out, "CLOUDLET_STEM") || strings.Contains(out, "PATH=") {
		t.Fatalf("env: exit %d: %s", code, out)
	}
	out, code = run("/nonexistent/bootstrap")
	if code != 127 || !strings.Contains(out, "cannot run /nonexistent/bootstrap") {
		t.Fatalf("missing program: exit %d: %s", code, out)
	}
}
