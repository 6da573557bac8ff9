package runtimes

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Protocol is how the platform talks to an instance.
type Protocol int

const (
	// Pipe is the private channel of this package (see the package doc),
	// spoken by the Node and Python bootstraps.
	Pipe Protocol = iota
	// RuntimeAPI is the HTTP Lambda Runtime API (AWS_LAMBDA_RUNTIME_API),
	// spoken by custom runtimes: provided, provided.al2, provided.al2023, go1.x.
	RuntimeAPI
)

func (p Protocol) String() string {
	switch p {
	case Pipe:
		return "pipe"
	case RuntimeAPI:
		return "runtime-api"
	}
	return "Protocol(" + strconv.Itoa(int(p)) + ")"
}

// Spec says which function to launch.
type Spec struct {
	Runtime  string // as in serverless.yml, e.g. nodejs20.x, python3.12, provided.al2023
	Handler  string // as in serverless.yml, e.g. handler.getUser, src/app.main, bootstrap
	TaskRoot string // absolute folder of the function's code
}

// Launch says how to start one instance of a function. The platform runs
// Path with Args (Args[0] is the program name, as in exec.Cmd.Args), the
// working directory TaskRoot, and an environment made of the standard Lambda
// variables, then Env, then the function's own environment (so a function may
// override what Env sets, e.g. NODE_PATH).
type Launch struct {
	Path     string
	Args     []string
	Env      []string // runtime-specific extras only, "KEY=value"
	Protocol Protocol
	// Warning is non-empty when the instance will not run exactly what the
	// runtime asks for, e.g. python3.12 run by Python 3.11 because no 3.12
	// interpreter was found. The platform should show it once per deploy.
	Warning string
}

type family int

const (
	famUnknown family = iota
	famNode
	famPython
	famProvided
	famGo
)

// classify tells the runtime's family and, for python3.N, N.
func classify(runtime string) (family, int) {
	switch runtime {
	case "provided", "provided.al2", "provided.al2023":
		return famProvided, 0
	case "go1.x":
		return famGo, 0
	}
	if v, ok := strings.CutPrefix(runtime, "nodejs"); ok {
		if n, ok := strings.CutSuffix(v, ".x"); ok && isDigits(n) {
			return famNode, 0
		}
	}
	if v, ok := strings.CutPrefix(runtime, "python3."); ok && isDigits(v) && len(v) <= 3 {
		n, _ := strconv.Atoi(v)
		return famPython, n
	}
	return famUnknown, 0
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Supported reports whether runtime can be launched: nodejs<N>.x,
// python3.<N>, provided, provided.al2, provided.al2023 and go1.x.
func Supported(runtime string) bool {
	f, _ := classify(runtime)
	return f != famUnknown
}

func unsupported(runtime string) error {
	return fmt.Errorf("runtime %q: %w (supported: nodejs<N>.x, python3.<N>, provided, provided.al2, provided.al2023, go1.x)",
		runtime, ErrUnsupportedRuntime)
}

// Prepare resolves the interpreter and the bootstrap of s, which Install must
// have written into runtimeDir. Interpreter look-ups are cached for the life
// of the process, so Prepare is cheap after the first call for a runtime.
//
// Interpreters: $CLOUDLET_NODE, else the first node on PATH. For python3.N:
// $CLOUDLET_PYTHON, else a python3.N binary, looked for in /usr/bin and
// /usr/local/bin and then on PATH, else python3 (with a Warning). Shell-script
// shims are skipped, and a pyenv shim is resolved to the binary of the
// version it stands for: a shim costs hundreds of milliseconds per start.
// MEASUREMENTS.md has the figures behind these choices and the -I -S -u flags.
func Prepare(runtimeDir string, s Spec) (*Launch, error) {
	fam, minor := classify(s.Runtime)
	switch fam {
	case famNode:
		boot := filepath.Join(runtimeDir, filepath.FromSlash(nodeBootstrap))
		if err := haveBootstrap(boot); err != nil {
			return nil, err
		}
		node, err := findNode()
		if err != nil {
			return nil, err
		}
		return &Launch{
			Path: node,
			Args: []string{node, boot},
			Env: []string{
				"AWS_EXECUTION_ENV=AWS_Lambda_" + s.Runtime,
				"LAMBDA_RUNTIME_DIR=" + filepath.Dir(boot),
				// As on Lambda, where NODE_PATH ends with /var/task: lets
				// require('lib/x') resolve from the code's root.
				"NODE_PATH=" + s.TaskRoot,
			},
			Protocol: Pipe,
		}, nil
	case famPython:
		boot := filepath.Join(runtimeDir, filepath.FromSlash(pythonBootstrap))
		if err := haveBootstrap(boot); err != nil {
			return nil, err
		}
		py, err := findPython(minor)
		if err != nil {
			return nil, err
		}
		compilePython(py.path, filepath.Join(runtimeDir, filepath.FromSlash(pythonRuntimeModule)))
		l := &Launch{
			Path: py.path,
			// -I: no PYTHON* variables, user site or script folder on sys.path
			//     (the bootstrap puts the task root first and honours PYTHONPATH);
			// -S: no site import (its .pth hooks cost up to tens of ms);
			//     the bootstrap appends the site-packages folders itself;
			// -u: unbuffered stdout/stderr, so everything a handler printed is
			//     in the log pipe before its response frame is written;
			// -B: no __pycache__ written into the function's code folder (on
			//     Lambda it is read-only); the runtime module's own bytecode is
			//     compiled ahead by compilePython and still read.
			Args: []string{py.path, "-I", "-S", "-u", "-B", boot},
			Env: []string{
				"AWS_EXECUTION_ENV=AWS_Lambda_" + s.Runtime,
				"LAMBDA_RUNTIME_DIR=" + filepath.Dir(boot),
			},
			Protocol: Pipe,
		}
		if py.minor != minor {
			if py.minor == 0 {
				l.Warning = fmt.Sprintf("runtime %s: running %s, whose version is not known (no python3.%d found; set CLOUDLET_PYTHON to choose one)", s.Runtime, py.path, minor)
			} else {
				l.Warning = fmt.Sprintf("runtime %s: running Python 3.%d (%s); no python3.%d found (set CLOUDLET_PYTHON to choose one)", s.Runtime, py.minor, py.path, minor)
			}
		}
		return l, nil
	case famProvided:
		p := filepath.Join(s.TaskRoot, "bootstrap")
		return &Launch{Path: p, Args: []string{p}, Protocol: RuntimeAPI}, nil
	case famGo:
		p := filepath.Join(s.TaskRoot, filepath.FromSlash(s.Handler))
		return &Launch{Path: p, Args: []string{p}, Env: []string{"AWS_EXECUTION_ENV=AWS_Lambda_go1.x"}, Protocol: RuntimeAPI}, nil
	}
	return nil, unsupported(s.Runtime)
}

func haveBootstrap(path string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("runtime bootstrap missing (runtimes.Install was not run on %s?): %w", filepath.Dir(filepath.Dir(path)), err)
	}
	return nil
}

// ---------------------------------------------------------------------------
// Interpreters.

// pythonSystemFirst prefers the system's interpreter to one earlier on PATH
// (MEASUREMENTS.md).
const pythonSystemFirst = true

type python struct {
	path  string
	minor int // 0 when unknown
}

var (
	lookMu    sync.Mutex
	nodeFound string
	pyFound   = map[int]python{}
	compiled  = map[string]bool{} // "<interpreter>\x00<source>\x00<mtime>" already checked
)

func findNode() (string, error) {
	lookMu.Lock()
	defer lookMu.Unlock()
	if nodeFound != "" {
		return nodeFound, nil
	}
	if p := os.Getenv("CLOUDLET_NODE"); p != "" {
		nodeFound = p
		return p, nil
	}
	p := lookBinary("node", false)
	if p == "" {
		return "", fmt.Errorf("runtime nodejs: no node executable on PATH (install Node.js, or set CLOUDLET_NODE to its path)")
	}
	nodeFound = p
	return p, nil
}

func findPython(minor int) (python, error) {
	lookMu.Lock()
	defer lookMu.Unlock()
	if py, ok := pyFound[minor]; ok {
		return py, nil
	}
	var py python
	if p := os.Getenv("CLOUDLET_PYTHON"); p != "" {
		py = python{path: p, minor: minorOf(p)}
	} else if p := lookBinary(fmt.Sprintf("python3.%d", minor), pythonSystemFirst); p != "" {
		py = python{path: p, minor: minor}
	} else if p := lookBinary("python3", pythonSystemFirst); p != "" {
		py = python{path: p, minor: minorOf(p)}
	} else {
		return python{}, fmt.Errorf("runtime python3.%d: no python3.%d or python3 executable found (install Python 3, or set CLOUDLET_PYTHON to its path)", minor, minor)
	}
	pyFound[minor] = py
	return py, nil
}

// minorOf guesses N of a python3.N interpreter from its name, following
// symlinks (/usr/bin/python3 → python3.11). 0 when the name does not say.
func minorOf(path string) int {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	if v, ok := strings.CutPrefix(filepath.Base(path), "python3."); ok && isDigits(v) {
		n, _ := strconv.Atoi(v)
		return n
	}
	return 0
}

// lookBinary finds name on PATH, after /usr/bin and /usr/local/bin when
// systemFirst. An executable that is a script (a "#!" file: pyenv and asdf
// shims, wrappers) is skipped in favour of a real binary; a pyenv shim is
// replaced by the binary of the newest installed version that provides name.
// A script is returned only when nothing else is found.
func lookBinary(name string, systemFirst bool) string {
	dirs := filepath.SplitList(os.Getenv("PATH"))
	if systemFirst {
		dirs = append([]string{"/usr/bin", "/usr/local/bin"}, dirs...)
	}
	script := ""
	seen := map[string]bool{}
	for _, d := range dirs {
		if d == "" || !filepath.IsAbs(d) || seen[d] {
			continue
		}
		seen[d] = true
		p := filepath.Join(d, name)
		if !isExecutable(p) {
			continue
		}
		if !isScript(p) {
			return p
		}
		if filepath.Base(d) == "shims" {
			if real := pyenvVersion(filepath.Dir(d), name); real != "" {
				return real
			}
		}
		if script == "" {
			script = p
		}
	}
	return script
}

// pyenvVersion finds <root>/versions/<newest>/bin/name.
func pyenvVersion(root, name string) string {
	matches, _ := filepath.Glob(filepath.Join(root, "versions", "*", "bin", name))
	var real []string
	for _, m := range matches {
		if isExecutable(m) && !isScript(m) {
			real = append(real, m)
		}
	}
	if len(real) == 0 {
		return ""
	}
	sort.Slice(real, func(i, j int) bool {
		return versionLess(filepath.Base(filepath.Dir(filepath.Dir(real[i]))), filepath.Base(filepath.Dir(filepath.Dir(real[j]))))
	})
	return real[len(real)-1]
}

// versionLess orders dotted versions numerically ("3.9.18" < "3.11.7").
func versionLess(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) && i < len(bs); i++ {
		x, xerr := strconv.Atoi(as[i])
		y, yerr := strconv.Atoi(bs[i])
		if xerr != nil || yerr != nil {
			if as[i] != bs[i] {
				return as[i] < bs[i]
			}
			continue
		}
		if x != y {
			return x < y
		}
	}
	return len(as) < len(bs)
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

func isScript(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	var b [2]byte
	_, err = io.ReadFull(f, b[:])
	return err == nil && b[0] == '#' && b[1] == '!'
}

// compilePython makes sure the bytecode of the Python runtime module is
// cached next to it for this interpreter (compiling it costs ~10 ms, more
// than the rest of a cold start), even when instances cannot write to the
// runtime folder. Failures are ignored: the instance then compiles it itself.
func compilePython(interpreter, source string) {
	src, err := os.Stat(source)
	if err != nil {
		return
	}
	key := interpreter + "\x00" + source + "\x00" + src.ModTime().String()
	lookMu.Lock()
	done := compiled[key]
	compiled[key] = true
	lookMu.Unlock()
	if done {
		return
	}
	if m := minorOf(interpreter); m != 0 {
		pyc := filepath.Join(filepath.Dir(source), "__pycache__",
			strings.TrimSuffix(filepath.Base(source), ".py")+fmt.Sprintf(".cpython-3%d.pyc", m))
		if fi, err := os.Stat(pyc); err == nil && !fi.ModTime().Before(src.ModTime()) {
			return
		}
	}
	cmd := exec.Command(interpreter, "-I", "-S", "-c", "import py_compile,sys; py_compile.compile(sys.argv[1])", source)
	cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"}
	_ = cmd.Run()
}

// ExecStem says how to start a stem cell for runtimes that run the
// function's own executable (Protocol RuntimeAPI): a small Python program,
// installed by Install, that waits for a KindExec frame and then execs the
// program it names with the environment it carries, so that the sandbox and
// the process exist before the cold start and only the exec is left on it.
// An error means there is no Python to run it with.
func ExecStem(runtimeDir string) (*Launch, error) {
	stem := filepath.Join(runtimeDir, filepath.FromSlash(execStem))
	if err := haveBootstrap(stem); err != nil {
		return nil, err
	}
	py, err := findPython(0)
	if err != nil {
		return nil, err
	}
	return &Launch{Path: py.path, Args: []string{py.path, "-I", "-S", "-B", stem}, Protocol: Pipe}, nil
}

// StartupOnly reports whether the environment variable name takes effect
// only when a process starts (NODE_OPTIONS, the dynamic loader's LD_*,
// malloc tuning), so that a stem cell, whose interpreter is already running
// when it receives the function's environment, cannot honour it.
func StartupOnly(name string) bool {
	switch name {
	case "NODE_OPTIONS", "NODE_EXTRA_CA_CERTS", "NODE_ICU_DATA", "NODE_V8_COVERAGE", "NODE_PENDING_DEPRECATION",
		"NODE_NO_WARNINGS", "NODE_PRESERVE_SYMLINKS", "NODE_REDIRECT_WARNINGS", "NODE_COMPILE_CACHE", "GLIBC_TUNABLES":
		return true
	}
	for _, p := range []string{"LD_", "MALLOC_", "UV_"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}
