package lambda

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cloudlet/cloudlet/internal/runtimes"
	"github.com/cloudlet/cloudlet/internal/sandbox"
)

// instance is one running process of a function.
type instance struct {
	f         *function
	work      chan *call  // buffered 1: a caller that popped this instance from the idle stack
	idle      *time.Timer // idles the instance out; reset under f.mu
	leaving   bool        // its goroutine waits in leave for a borrower (under f.mu)
	stream    string      // log stream name
	cmd       *exec.Cmd
	pid       int
	startedAt time.Time
	initDur   time.Duration // reported on the first invocation only
	exited    chan struct{} // closed when the process has been reaped
	exitErr   error
	timedOut  atomic.Bool
	// provisioned instances are started at deploy and kept (Lambda's
	// provisioned concurrency); the others on demand.
	provisioned bool
	killTimer   *time.Timer

	// pipe protocol (our bootstraps)
	evW  int // platform → runtime
	rsR  fdReader
	wbuf []byte
	rbuf []byte

	// HTTP Runtime API (custom runtimes)
	api *runtimeAPI

	// logs
	logR    *os.File
	logRC   syscall.RawConn
	logMu   sync.Mutex
	logBuf  []byte // partial line
	logTail *tailBuffer
	status  *os.File // /proc/<pid>/status, for VmHWM when there is no cgroup
	limits  *sandbox.Limits
	peakMB  int64         // the last reading of maxMemoryMB
	peakAt  time.Time     // when it was taken
	cell    *sandbox.Cell // a stem cell's mount point, or nil
	mux     *mux          // several invocations at once: the process shared by slots (multi.go)
	release func()        // revokes the instance's credentials, or nil
}

// fdReader reads a blocking file descriptor with plain system calls.
type fdReader struct{ fd int }

func (r *fdReader) Read(p []byte) (int, error) {
	for {
		n, err := unix.Read(r.fd, p)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, err
		}
		if n == 0 {
			return 0, io.EOF
		}
		return n, nil
	}
}

func writeAll(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// initError is a runtime's failure to initialise, in the AWS error shape.
type initError struct {
	doc       []byte
	errorType string
}

func (e *initError) Error() string { return string(e.doc) }

func errorDoc(errorType, msg string) []byte {
	b, _ := json.Marshal(struct {
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
	}{errorType, msg})
	return b
}

// newStream names a new instance's log stream, as Lambda does.
func newStream() string {
	return time.Now().UTC().Format("2006/01/02") + "/[$LATEST]" + NewRequestID()[:8] + NewRequestID()[24:]
}

// newInstance makes an instance of f (nil for a stem cell) with no process yet.
func newInstance(f *function) *instance {
	return &instance{f: f, work: make(chan *call, 1), exited: make(chan struct{}), logTail: &tailBuffer{}, evW: -1, rsR: fdReader{fd: -1}}
}

// startInstance starts an instance of f: a stem cell specialised for f when
// one is ready, else a new process. cpu is the CPU the calling (locked)
// thread is pinned to, or -1.
func (f *function) startInstance(cpu int, provisioned bool) (*instance, error) {
	in, err := f.launchInstance(cpu, provisioned)
	if err == nil && provisioned {
		// As on Lambda, provisioned instances initialise before any
		// invocation and their REPORT lines show no Init Duration.
		in.provisioned, in.initDur = true, 0
	}
	return in, err
}

// initType is AWS_LAMBDA_INITIALIZATION_TYPE.
func initType(provisioned bool) string {
	if provisioned {
		return "AWS_LAMBDA_INITIALIZATION_TYPE=provisioned-concurrency"
	}
	return "AWS_LAMBDA_INITIALIZATION_TYPE=on-demand"
}

func (f *function) launchInstance(cpu int, provisioned bool) (*instance, error) {
	if f.stem != nil {
		if in := f.reg.stems.take(*f.stem); in != nil {
			fallback, err := f.specialise(in, cpu, provisioned)
			// Replace the cell now that this cold start is over: starting
			// one meanwhile would take CPU from it.
			f.reg.stems.refill(*f.stem)
			if !fallback {
				return in, err
			}
			f.reg.log.Warn("stem cell unusable; starting an instance the ordinary way", "function", f.cfg.Name, "err", err)
		}
	}
	f.counts.processStarts.Add(1)
	in := newInstance(f)
	in.stream = newStream()
	env := f.instanceEnv(in, provisioned)
	started := false
	defer func() {
		if !started && in.release != nil { // its credentials die with the attempt
			in.release()
			in.release = nil
		}
	}()
	limits, err := f.reg.opts.Sandbox.Limit("i-"+NewRequestID(), f.box)
	if err != nil {
		// Without its limits the instance must not run.
		return nil, f.startErr(err)
	}
	box := f.box
	if sb := f.reg.opts.Sandbox; sb.CodeInCell() {
		// As root the sandbox binds the code from a cell, mounted here.
		cell, err := sb.NewCell()
		if err == nil {
			if err = cell.Attach(f.taskRoot, f.reg.opts.Hide); err != nil {
				cell.Close()
			}
		}
		if err != nil {
			limits.Close()
			return nil, f.startErr(err)
		}
		b := *f.box
		b.Cell, in.cell, box = cell, cell, &b
	}
	if f.launch.Protocol != runtimes.Pipe {
		api, err := newRuntimeAPI(in, limits)
		if err != nil {
			limits.Close()
			in.cell.Close()
			return nil, f.startErr(err)
		}
		in.api = api
		env = append(env, "AWS_LAMBDA_RUNTIME_API="+api.addr)
	}
	if err := in.spawn(f.reg.opts.Sandbox, f.launch, box, env, limits); err != nil {
		return nil, f.startErr(err)
	}
	in.startLogs()
	if err := in.waitReady(); err != nil {
		in.close()
		return nil, err
	}
	in.initDur = time.Since(in.startedAt)
	started = true
	return in, nil
}

// spawn starts the process of an instance under limits (which it then owns):
// with the pipe channel, unless in.api is set. On failure it releases
// everything in holds.
func (in *instance) spawn(sb *sandbox.Sandbox, l *runtimes.Launch, box *sandbox.Config, env []string, limits *sandbox.Limits) error {
	in.limits = limits
	fail := func(err error) error {
		in.closeFDs()
		if in.logR != nil {
			in.logR.Close()
		}
		limits.Close()
		in.cell.Close()
		return err
	}
	// The child's ends of the pipes are closed as soon as it has started (or
	// failed to): while we hold them, its death would never read as EOF.
	var childFiles []*os.File
	defer func() {
		for _, cf := range childFiles {
			cf.Close()
		}
	}()
	logR, logW, err := os.Pipe()
	if err != nil {
		return fail(err)
	}
	childFiles = append(childFiles, logW)
	in.logR = logR
	if in.api == nil {
		var ev, rs [2]int
		if err := unix.Pipe2(ev[:], unix.O_CLOEXEC); err != nil {
			return fail(err)
		}
		if err := unix.Pipe2(rs[:], unix.O_CLOEXEC); err != nil {
			unix.Close(ev[0])
			unix.Close(ev[1])
			return fail(err)
		}
		in.evW, in.rsR.fd = ev[1], rs[0]
		childFiles = append(childFiles, os.NewFile(uintptr(ev[0]), "events"), os.NewFile(uintptr(rs[1]), "responses"))
	}
	cmd := &exec.Cmd{Path: l.Path, Args: l.Args}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := sb.Wrap(cmd, box, limits); err != nil {
		return fail(err)
	}
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logW, logW
	cmd.ExtraFiles = childFiles[1:]
	in.startedAt = time.Now()
	if err := cmd.Start(); err != nil {
		return fail(err)
	}
	in.cmd, in.pid = cmd, cmd.Process.Pid
	in.killTimer = time.AfterFunc(time.Hour, in.timeoutKill)
	in.killTimer.Stop()
	if in.limits == nil {
		if st, err := os.Open("/proc/" + strconv.Itoa(in.pid) + "/status"); err == nil {
			in.status = st
		}
	}
	go func() {
		in.exitErr = cmd.Wait()
		close(in.exited)
	}()
	return nil
}

// startLogs starts copying the instance's output to its function's log.
func (in *instance) startLogs() {
	if rc, err := in.logR.SyscallConn(); err == nil {
		in.logRC = rc
		go in.readLogs()
	}
}

func (f *function) startErr(err error) error {
	f.reg.log.Error("start instance", "function", f.cfg.Name, "err", err)
	return &initError{doc: errorDoc("Runtime.Unknown", "Unable to start the runtime: "+err.Error()), errorType: "Runtime.Unknown"}
}

// waitReady waits for the runtime to finish initialising, bounded by the init timeout.
func (in *instance) waitReady() error {
	t := time.AfterFunc(in.f.reg.opts.InitTimeout, in.timeoutKill)
	var err error
	if in.api != nil {
		err = in.api.waitReady()
	} else {
		err = in.readReady()
	}
	if !t.Stop() && err == nil {
		// The init timer fired as the runtime became ready: it is being killed.
		in.timeoutKill()
		return in.initTimeoutError()
	}
	return err
}

func (in *instance) readReady() error {
	kind, body, buf, err := runtimes.ReadFrame(&in.rsR, in.rbuf)
	in.rbuf = buf
	switch {
	case err != nil:
		if err := in.deathError(""); err != nil {
			return err
		}
		return in.initTimeoutError()
	case kind == runtimes.KindReady:
		return nil
	case kind == runtimes.KindInitError:
		doc := append([]byte(nil), body...)
		return &initError{doc: doc, errorType: errorTypeOf(doc)}
	default:
		in.kill()
		return &initError{doc: errorDoc("Runtime.InvalidResponse", fmt.Sprintf("runtime sent frame %q before it was ready", kind)), errorType: "Runtime.InvalidResponse"}
	}
}

// deathError explains why the process is gone (or going): a timeout or its exit.
func (in *instance) deathError(requestID string) error {
	if in.timedOut.Load() {
		return nil // the caller reports the timeout
	}
	// The channel broke: the process is exiting. Wait for its status, briefly.
	select {
	case <-in.exited:
	case <-time.After(2 * time.Second):
		in.kill()
		<-in.exited
	}
	if in.limits.OOMKilled() {
		msg := "Runtime exited with error: signal: killed"
		if requestID != "" {
			msg = "RequestId: " + requestID + " Error: " + msg
		}
		return &initError{doc: errorDoc("Runtime.OutOfMemory", msg), errorType: "Runtime.OutOfMemory"}
	}
	msg := "Runtime exited without providing a reason"
	exitErr := in.exitErr
	if in.mux != nil {
		exitErr = in.mux.p.exitErr // set before exited was closed
	}
	var ee *exec.ExitError
	if errors.As(exitErr, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			msg = "Runtime exited with error: signal: " + ws.Signal().String()
		} else {
			msg = "Runtime exited with error: exit status " + strconv.Itoa(ee.ExitCode())
		}
	}
	if requestID != "" {
		msg = "RequestId: " + requestID + " Error: " + msg
	}
	return &initError{doc: errorDoc("Runtime.ExitError", msg), errorType: "Runtime.ExitError"}
}

func (in *instance) initTimeoutError() error {
	msg := "INIT timed out after " + strconv.FormatFloat(in.f.reg.opts.InitTimeout.Seconds(), 'f', 2, 64) + " seconds"
	return &initError{doc: errorDoc("Sandbox.Timedout", msg), errorType: "Sandbox.Timedout"}
}

func errorTypeOf(doc []byte) string {
	var e struct {
		ErrorType string `json:"errorType"`
	}
	if json.Unmarshal(doc, &e) != nil || e.ErrorType == "" {
		return "Unhandled"
	}
	return e.ErrorType
}

func (in *instance) timeoutKill() {
	in.timedOut.Store(true)
	in.kill()
}

// kill ends the instance's whole process group.
func (in *instance) kill() {
	if in.pid > 0 {
		syscall.Kill(-in.pid, syscall.SIGKILL)
	}
}

func (in *instance) closeFDs() {
	if in.evW >= 0 {
		unix.Close(in.evW)
		in.evW = -1
	}
	if in.rsR.fd >= 0 {
		unix.Close(in.rsR.fd)
		in.rsR.fd = -1
	}
	if in.api != nil {
		in.api.close()
	}
}

// close stops the process and releases everything the instance holds; a
// slot of a shared process only lets go of it, and the last one closes it.
func (in *instance) close() {
	if in.mux != nil {
		if in.killTimer != nil {
			in.killTimer.Stop()
		}
		in.mux.release()
		return
	}
	in.closeProcess()
}

func (in *instance) closeProcess() {
	if release := in.release; release != nil {
		in.release = nil
		defer release()
	}
	if in.cmd != nil {
		// Closing the event pipe asks our bootstraps to exit; the kill makes sure.
		in.kill()
		<-in.exited
		in.killTimer.Stop()
		if in.mux != nil {
			select {
			case <-in.mux.readerDone: // its reader is done with the answer pipe
			case <-time.After(2 * time.Second):
				// A child of the function holds the pipe open: leave the
				// descriptor to the blocked reader rather than close it
				// under it (a reused number would be read instead).
				in.f.reg.log.Warn("an instance's answer pipe is held open by a process it left behind", "function", in.f.cfg.Name)
				in.rsR.fd = -1
			}
		}
	}
	in.closeFDs()
	if in.status != nil {
		in.status.Close()
	}
	in.limits.Close()
	in.cell.Close()
	if in.logRC == nil && in.logR != nil {
		in.logR.Close() // a stem cell never specialised: no reader owns it
	}
	// The log reader ends at EOF, once every writer of the pipe is gone.
}
