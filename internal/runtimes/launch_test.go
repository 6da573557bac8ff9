package runtimes

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSupported(t *testing.T) {
	for _, r := range []string{"nodejs18.x", "nodejs20.x", "nodejs22.x", "nodejs24.x", "python3.9", "python3.12", "python3.13",
		"provided", "provided.al2", "provided.al2023", "go1.x"} {
		if !Supported(r) {
			t.Errorf("Supported(%q) = false", r)
		}
	}
	for _, r := range []string{"", "nodejs", "nodejs20", "nodejs.x", "python3", "python2.7", "python3.", "python3.x", "java21", "dotnet8", "ruby3.3", "go1.x2", "provided.al3"} {
		if Supported(r) {
			t.Errorf("Supported(%q) = true", r)
		}
	}
}

func TestPrepare(t *testing.T) {
	root := t.TempDir()
	t.Run("provided", func(t *testing.T) {
		l, err := Prepare(runtimeDir, Spec{Runtime: "provided.al2023", Handler: "whatever", TaskRoot: root})
		if err != nil {
			t.Fatal(err)
		}
		want := filepath.Join(root, "bootstrap")
		if l.Path != want || !slices.Equal(l.Args, []string{want}) || l.Protocol != RuntimeAPI {
			t.Errorf("got %+v", l)
		}
	})
	t.Run("go1.x", func(t *testing.T) {
		l, err := Prepare(runtimeDir, Spec{Runtime: "go1.x", Handler: "bin/main", TaskRoot: root})
		if err != nil {
			t.Fatal(err)
		}
		if l.Path != filepath.Join(root, "bin", "main") || l.Protocol != RuntimeAPI {
			t.Errorf("got %+v", l)
		}
	})
	t.Run("nodejs", func(t *testing.T) {
		needNode(t)
		l, err := Prepare(runtimeDir, Spec{Runtime: "nodejs22.x", Handler: "handler.x", TaskRoot: root})
		if err != nil {
			t.Fatal(err)
		}
		if l.Protocol != Pipe || l.Args[0] != l.Path || l.Args[len(l.Args)-1] != filepath.Join(runtimeDir, "node", "bootstrap.cjs") {
			t.Errorf("got %+v", l)
		}
		for _, kv := range []string{"AWS_EXECUTION_ENV=AWS_Lambda_nodejs22.x", "NODE_PATH=" + root} {
			if !slices.Contains(l.Env, kv) {
				t.Errorf("Env %q lacks %q", l.Env, kv)
			}
		}
	})
	t.Run("python", func(t *testing.T) {
		needPython(t)
		l, err := Prepare(runtimeDir, Spec{Runtime: "python3.11", Handler: "handler.x", TaskRoot: root})
		if err != nil {
			t.Fatal(err)
		}
		if l.Protocol != Pipe || !slices.Equal(l.Args[1:], []string{"-I", "-S", "-u", "-B", filepath.Join(runtimeDir, "python", "bootstrap.py")}) {
			t.Errorf("got %+v", l)
		}
		if !slices.Contains(l.Env, "AWS_EXECUTION_ENV=AWS_Lambda_python3.11") {
			t.Errorf("Env %q", l.Env)
		}
		// The runtime module's bytecode was compiled for the instances.
		if m, _ := filepath.Glob(filepath.Join(runtimeDir, "python", "__pycache__", "_cloudlet_runtime.*.pyc")); len(m) == 0 {
			t.Errorf("no cached bytecode of _cloudlet_runtime.py")
		}
	})
	t.Run("unsupported", func(t *testing.T) {
		if _, err := Prepare(runtimeDir, Spec{Runtime: "java21", TaskRoot: root}); !errors.Is(err, ErrUnsupportedRuntime) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("not installed", func(t *testing.T) {
		_, err := Prepare(t.TempDir(), Spec{Runtime: "nodejs20.x", Handler: "h.x", TaskRoot: root})
		if err == nil || !strings.Contains(err.Error(), "Install") {
			t.Errorf("err = %v", err)
		}
	})
}

func TestPythonVersionFallbackWarns(t *testing.T) {
	needPython(t)
	l, err := Prepare(runtimeDir, Spec{Runtime: "python3.99", Handler: "handler.x", TaskRoot: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(l.Warning, "no python3.99 found") {
		t.Errorf("Warning = %q", l.Warning)
	}
}

func TestInstallIdempotent(t *testing.T) {
	dir := t.TempDir()
	if err := Install(dir); err != nil {
		t.Fatal(err)
	}
	files := []string{"node/bootstrap.cjs", "python/bootstrap.py", "python/_cloudlet_runtime.py"}
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	for _, f := range files {
		want, _ := bootstrapFS.ReadFile("bootstrap/" + f)
		got, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil || string(got) != string(want) {
			t.Fatalf("%s: %v", f, err)
		}
		os.Chtimes(filepath.Join(dir, f), old, old)
	}
	// Unchanged files are not rewritten; a changed one is repaired.
	os.WriteFile(filepath.Join(dir, files[0]), []byte("stale"), 0o644)
	if err := Install(dir); err != nil {
		t.Fatal(err)
	}
	for i, f := range files {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if rewritten := !fi.ModTime().Equal(old); rewritten != (i == 0) {
			t.Errorf("%s rewritten = %v", f, rewritten)
		}
	}
	if got, _ := os.ReadFile(filepath.Join(dir, files[0])); string(got) == "stale" {
		t.Errorf("stale file not replaced")
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*", ".tmp-*")); len(m) != 0 {
		t.Errorf("temporary files left: %v", m)
	}
}

func TestLookBinary(t *testing.T) {
	root := t.TempDir()
	shims := filepath.Join(root, "pyenv", "shims")
	bin := filepath.Join(root, "bin")
	for _, d := range []string{shims, bin} {
		os.MkdirAll(d, 0o755)
	}
	write := func(p, content string) {
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	const name = "cloudlet-test-python3.11"
	write(filepath.Join(shims, name), "#!/usr/bin/env bash\nexec pyenv exec \"$0\" \"$@\"\n")
	write(filepath.Join(root, "pyenv", "versions", "3.11.2", "bin", name), "\x7fELF")
	write(filepath.Join(root, "pyenv", "versions", "3.11.10", "bin", name), "\x7fELF")
	write(filepath.Join(root, "pyenv", "versions", "3.9.1", "bin", "other"), "\x7fELF")
	write(filepath.Join(bin, name), "\x7fELF")

	t.Setenv("PATH", shims+":"+bin)
	if got, want := lookBinary(name, false), filepath.Join(root, "pyenv", "versions", "3.11.10", "bin", name); got != want {
		t.Errorf("through the pyenv shim: %q, want %q", got, want)
	}
	os.RemoveAll(filepath.Join(root, "pyenv", "versions"))
	if got, want := lookBinary(name, false), filepath.Join(bin, name); got != want {
		t.Errorf("shim without versions: %q, want the next binary on PATH %q", got, want)
	}
	t.Setenv("PATH", shims)
	if got, want := lookBinary(name, false), filepath.Join(shims, name); got != want {
		t.Errorf("only a script: %q, want it as a last resort", got)
	}
	t.Setenv("PATH", "relative/dir")
	if got := lookBinary(name, false); got != "" {
		t.Errorf("relative PATH entry used: %q", got)
	}
}

func TestVersionLess(t *testing.T) {
	ordered := []string{"3.9.18", "3.10.1", "3.11.2", "3.11.10", "3.12.0"}
	for i := range ordered {
		for j := range ordered {
			if got := versionLess(ordered[i], ordered[j]); got != (i < j) {
				t.Errorf("versionLess(%s, %s) = %v", ordered[i], ordered[j], got)
			}
		}
	}
}

func TestCheckHandler(t *testing.T) {
	node, _ := filepath.Abs("testdata/node")
	py, _ := filepath.Abs("testdata/python")
	custom := t.TempDir()
	os.WriteFile(filepath.Join(custom, "bootstrap"), []byte("#!/bin/sh\n"), 0o755)
	os.MkdirAll(filepath.Join(custom, "bin"), 0o755)
	os.WriteFile(filepath.Join(custom, "bin", "main"), []byte("\x7fELF"), 0o755)
	os.WriteFile(filepath.Join(custom, "notexec"), []byte("x"), 0o644)
	noBootstrap := t.TempDir()

	ok := []Spec{
		{"nodejs20.x", "handler.hello", node + "/cjs"},
		{"nodejs20.x", "src/handlers/user.get", node + "/cjs"},
		{"nodejs20.x", "handler.nested.deeper.fn", node + "/cjs"},
		{"nodejs20.x", "handler.handler", node + "/mjs"},
		{"nodejs20.x", "handler.handler", node + "/typemodule"},
		{"nodejs18.x", "cjs/handler.hello", node},
		{"python3.12", "handler.hello", py + "/app"},
		{"python3.12", "pkg.mod.fn", py + "/app"},
		{"python3.12", "src/handlers/user.get", py + "/app"},
		{"python3.12", "src.handlers.user.get", py + "/app"},
		{"python3.12", "lib.anything", py + "/app"}, // a package's __init__.py
		{"provided.al2", "anything", custom},
		{"go1.x", "bin/main", custom},
	}
	for _, s := range ok {
		if err := CheckHandler(s); err != nil {
			t.Errorf("CheckHandler(%+v) = %v", s, err)
		}
	}
	bad := []struct {
		spec Spec
		want string
	}{
		{Spec{"nodejs20.x", "handler.getUser", node + "/empty"}, `handler "handler.getUser": no file handler.js, handler.mjs or handler.cjs in ` + node + "/empty"},
		{Spec{"nodejs20.x", "src/handlers/nope.get", node + "/cjs"}, `no file nope.js, nope.mjs or nope.cjs in ` + node + "/cjs/src/handlers"},
		{Spec{"nodejs20.x", "handler", node + "/cjs"}, `write it as <module>.<function>`},
		{Spec{"nodejs20.x", "handler.", node + "/cjs"}, `write it as <module>.<function>`},
		{Spec{"nodejs20.x", "handler.a..b", node + "/cjs"}, `must not contain ".."`},
		{Spec{"nodejs20.x", "../cjs/handler.hello", node + "/cjs"}, `must not contain ".."`},
		{Spec{"python3.12", "handler.hello", py + "/empty"}, `handler "handler.hello": no file handler.py (nor handler/__init__.py) in ` + py + "/empty"},
		{Spec{"python3.12", "handler", py + "/app"}, `write it as <module>.<function>`},
		{Spec{"python3.12", "handler.get-user", py + "/app"}, `"get-user" is not a Python function name`},
		{Spec{"python3.12", "my-mod.fn", py + "/app"}, `"my-mod" is not a valid Python module name`},
		{Spec{"provided.al2023", "x", noBootstrap}, `needs an executable named bootstrap`},
		{Spec{"go1.x", "notexec", custom}, `is not executable (chmod +x it)`},
		{Spec{"go1.x", "missing", custom}, `no file ` + custom + "/missing"},
		{Spec{"go1.x", "../x", custom}, `the handler is the path of the executable`},
		{Spec{"java21", "x", custom}, `unsupported runtime`},
		{Spec{"nodejs20.x", "handler.hello", "relative/path"}, `is not an absolute path`},
		{Spec{"nodejs20.x", "handler.hello", custom + "/nothere"}, `does not exist`},
	}
	for _, c := range bad {
		err := CheckHandler(c.spec)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("CheckHandler(%+v) = %v, want it to say %q", c.spec, err, c.want)
		}
	}
}

func TestStartupOnly(t *testing.T) {
	for name, want := range map[string]bool{
		"NODE_OPTIONS": true, "LD_PRELOAD": true, "UV_THREADPOOL_SIZE": true, "MALLOC_ARENA_MAX": true,
		"NODE_PATH": false, "TABLE_NAME": false, "TZ": false, "PYTHONPATH": false,
	} {
		if got := StartupOnly(name); got != want {
			t.Errorf("StartupOnly(%q) = %v, want %v", name, got, want)
		}
	}
}
