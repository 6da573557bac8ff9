package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// baseEnv is the whole environment of every measured child process: the
// variables Cloudlet itself gives a function instance before the Lambda ones.
// Inherited variables change start times by tens of milliseconds
// (NODE_EXTRA_CA_CERTS costs Node ~35 ms), so nothing is inherited.
var baseEnv = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", "TZ=:UTC"}

func envWith(extra ...string) []string {
	return append(append([]string(nil), baseEnv...), extra...)
}

// spawns are started from one goroutine locked to its OS thread for the whole
// run: Pdeathsig fires when the thread that started a child exits, and the Go
// runtime may retire other threads (Cloudlet's instances lock theirs).
var spawns = make(chan func())

func init() {
	go func() {
		runtime.LockOSThread()
		for f := range spawns {
			f()
		}
	}()
}

// start starts cmd in its own process group, killed with the bench program.
func start(cmd *exec.Cmd) error {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	errc := make(chan error, 1)
	spawns <- func() { errc <- cmd.Start() }
	return <-errc
}

// child is a long-running helper process: a ceiling server or the peer.
type child struct {
	name string
	cmd  *exec.Cmd
	// stdin is a pipe we never write to: servers exit when it closes, so
	// they never outlive the bench program. Held here so that it is not
	// closed by a finalizer.
	stdin io.WriteCloser
	done  chan struct{}
	err   error
}

// startChild starts a server and, when portLine is set, waits for it to
// print "PORT <n>" and returns n. Its other output goes to log (may be nil).
func startChild(name string, cmd *exec.Cmd, portLine bool, log io.Writer) (*child, int, error) {
	if log == nil {
		log = io.Discard
	}
	c := &child{name: name, cmd: cmd, done: make(chan struct{})}
	cmd.Stderr = log
	var out io.Reader
	if portLine {
		r, err := cmd.StdoutPipe()
		if err != nil {
			return nil, 0, err
		}
		out = r
	} else {
		cmd.Stdout = log
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, 0, err
	}
	c.stdin = stdin
	if err := start(cmd); err != nil {
		return nil, 0, fmt.Errorf("start %s: %w", name, err)
	}
	go func() { c.err = cmd.Wait(); close(c.done) }()
	if !portLine {
		return c, 0, nil
	}
	lines := make(chan string, 1)
	go func() {
		br := bufio.NewReader(out)
		line, _ := br.ReadString('\n')
		lines <- line
		io.Copy(log, br) // keep draining: a full pipe would block the server
	}()
	select {
	case line := <-lines:
		p, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "PORT ")))
		if err != nil {
			c.stop()
			return nil, 0, fmt.Errorf("%s: expected \"PORT <n>\", got %q", name, line)
		}
		return c, p, nil
	case <-c.done:
		return nil, 0, fmt.Errorf("%s exited before listening: %v", name, c.err)
	case <-time.After(30 * time.Second):
		c.stop()
		return nil, 0, fmt.Errorf("%s did not listen within 30 s", name)
	}
}

// stop ends the child's process group: SIGTERM, then SIGKILL after 3 s.
func (c *child) stop() {
	if c == nil {
		return
	}
	pgid := c.cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(3 * time.Second):
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-c.done
	}
	syscall.Kill(-pgid, syscall.SIGKILL) // anything left in the group
}

// freePort asks the kernel for a free loopback port (for servers that cannot
// listen on port 0 and report it).
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// output runs a short command with env and returns its trimmed stdout.
func output(ctx context.Context, env []string, dir string, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env, cmd.Dir = env, dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) || stderr.Len() > 0 {
			return strings.TrimSpace(string(b)), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
		}
		return "", fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(b)), nil
}

// toolEnv is the environment of build and install tools (go build, npm ci,
// apt-get), which are not measured: the minimal one plus what they need to
// find their caches and proxies.
func toolEnv(extra ...string) []string {
	env := envWith(extra...)
	for _, k := range []string{"HOME", "GOPATH", "GOCACHE", "GOMODCACHE", "GOPROXY", "GOFLAGS", "GOTOOLCHAIN",
		"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy", "npm_config_registry"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	// go may live outside the minimal PATH.
	if goBin, err := exec.LookPath("go"); err == nil {
		env[0] = "PATH=" + dirOf(goBin) + ":/usr/local/bin:/usr/bin:/bin"
	}
	return env
}

func dirOf(p string) string {
	if i := strings.LastIndexByte(p, '/'); i > 0 {
		return p[:i]
	}
	return "."
}
