package lambda

import (
	"bytes"
	"errors"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cloudlet/cloudlet/internal/runtimes"
)

// invoke runs c on the instance and fills in its result; the caller answers
// it. It reports how long the call took and whether the instance can take
// another call.
func (in *instance) invoke(c *call) (time.Duration, bool) {
	f := in.f
	logs := f.log
	start := time.Now()
	c.deadline = start.Add(f.timeout)
	c.res.RequestID = c.id
	startLine := "START RequestId: " + c.id + " Version: $LATEST"
	if c.req.Tail {
		// As AWS's LogResult: START, the output, END and REPORT.
		lp := in.logOwner()
		lp.logMu.Lock()
		lp.logTail.reset()
		lp.logTail.write([]byte(startLine + "\n"))
		lp.logMu.Unlock()
	}
	logs.Append(startLine)

	in.killTimer.Reset(f.timeout)
	var alive bool
	switch {
	case in.mux != nil:
		alive = in.mux.invoke(in, c)
	case in.api != nil:
		alive = in.invokeAPI(c)
	default:
		alive = in.invokePipe(c)
	}
	if !in.killTimer.Stop() {
		// The timer fired as the call finished; make sure its kill is
		// accounted for before deciding whether the instance lives on.
		in.timeoutKill()
	}
	dur := time.Since(start)
	if in.timedOut.Load() {
		alive = false
		msg := "RequestId: " + c.id + " Error: Task timed out after " + strconv.FormatFloat(f.timeout.Seconds(), 'f', 2, 64) + " seconds"
		c.res.Payload = errorDoc("Sandbox.Timedout", msg)
		c.res.FunctionError, c.res.ErrorType = "Unhandled", "Sandbox.Timedout"
		<-in.exited
		in.drainLogsNow()
		logs.Append(time.Now().UTC().Format("2006-01-02T15:04:05.000Z") + " " + c.id + " Task timed out after " + strconv.FormatFloat(f.timeout.Seconds(), 'f', 2, 64) + " seconds")
	} else {
		in.drainLogsNow()
	}
	in.report(c, dur)
	return dur, alive
}

// invokePipe sends the event over the pipe and reads the answer.
func (in *instance) invokePipe(c *call) bool {
	inv := runtimes.Invocation{
		RequestID:     c.id,
		DeadlineMs:    c.deadline.UnixMilli(),
		TraceID:       c.req.TraceID,
		ClientContext: c.req.ClientContext,
		Payload:       c.req.Payload,
	}
	in.wbuf = runtimes.AppendInvoke(in.wbuf[:0], &inv)
	if cap(in.wbuf) > 1<<20 {
		defer func() { in.wbuf = nil }() // do not keep a large event's buffer
	}
	err := writeAll(in.evW, in.wbuf)
	var kind byte
	var body []byte
	if err == nil {
		kind, body, in.rbuf, err = runtimes.ReadFrame(&in.rsR, in.rbuf)
	}
	if cap(in.rbuf) > 1<<20 {
		defer func() { in.rbuf = nil }()
	}
	if err != nil {
		if in.timedOut.Load() {
			return false
		}
		in.f.fail(c, in.deathError(c.id))
		return false
	}
	return in.answer(c, kind, body)
}

// answer records the runtime's answer frame to c; false (and the instance
// killed) when the frame is not an answer.
func (in *instance) answer(c *call, kind byte, body []byte) bool {
	switch kind {
	case runtimes.KindResponse:
		in.setResponse(c, body)
		return true
	case runtimes.KindError:
		c.res.Payload = append([]byte(nil), body...)
		c.res.FunctionError, c.res.ErrorType = "Unhandled", errorTypeOf(body)
		return true
	}
	in.kill()
	in.f.fail(c, &initError{doc: errorDoc("Runtime.InvalidResponse", "runtime sent an unexpected frame"), errorType: "Runtime.InvalidResponse"})
	return false
}

// setResponse records a successful response, or the size error AWS gives
// for one over the limit.
func (in *instance) setResponse(c *call, body []byte) {
	if len(body) > MaxSyncPayload {
		c.res.Payload = errorDoc("Function.ResponseSizeTooLarge",
			"Response payload size exceeded maximum allowed payload size ("+strconv.Itoa(MaxSyncPayload)+" bytes).")
		c.res.FunctionError, c.res.ErrorType = "Unhandled", "Function.ResponseSizeTooLarge"
		return
	}
	c.res.Payload = append([]byte(nil), body...)
}

// fail sets c's result to err's error document.
func (f *function) fail(c *call, err error) {
	var ie *initError
	if errors.As(err, &ie) {
		c.res.Payload, c.res.ErrorType = ie.doc, ie.errorType
	} else {
		c.res.Payload, c.res.ErrorType = errorDoc("Runtime.Unknown", err.Error()), "Runtime.Unknown"
	}
	c.res.FunctionError = "Unhandled"
	if c.res.RequestID == "" {
		c.res.RequestID = c.id
	}
	if c.deadline.IsZero() {
		// It never reached an instance: the runtime failed to start.
		f.log.Append("INIT_REPORT RequestId: " + c.id + " Error Type: " + c.res.ErrorType)
	}
}

// report writes END and REPORT.
func (in *instance) report(c *call, dur time.Duration) {
	f := in.f
	ms := float64(dur.Microseconds()) / 1000
	billed := (dur + time.Millisecond - 1) / time.Millisecond
	if billed < 1 {
		billed = 1
	}
	b := make([]byte, 0, 256)
	b = append(b, "END RequestId: "...)
	b = append(b, c.id...)
	b = append(b, "\nREPORT RequestId: "...)
	b = append(b, c.id...)
	b = append(b, "\tDuration: "...)
	b = strconv.AppendFloat(b, ms, 'f', 2, 64)
	b = append(b, " ms\tBilled Duration: "...)
	b = strconv.AppendInt(b, int64(billed), 10)
	b = append(b, " ms\tMemory Size: "...)
	b = strconv.AppendInt(b, int64(f.cfg.MemorySize), 10)
	b = append(b, " MB\tMax Memory Used: "...)
	b = strconv.AppendInt(b, in.peakMemoryMB(dur), 10)
	b = append(b, " MB"...)
	if in.initDur > 0 {
		b = append(b, "\tInit Duration: "...)
		b = strconv.AppendFloat(b, float64(in.initDur.Microseconds())/1000, 'f', 2, 64)
		b = append(b, " ms"...)
		in.initDur = 0
	}
	if in.timedOut.Load() {
		b = append(b, "\tStatus: timeout"...)
	}
	f.log.Append(string(b))
	if c.req.Tail {
		lp := in.logOwner()
		lp.logMu.Lock()
		lp.logTail.write(b)
		c.res.LogTail = lp.logTail.bytes()
		lp.logMu.Unlock()
	}
}

// peakMemoryMB is maxMemoryMB for the REPORT of a call that took dur. The
// peak only grows, and reading it costs a system call and the kernel's
// accounting (~4% of the server's CPU under a sub-millisecond handler), so
// calls shorter than a millisecond reuse a reading up to 10 ms old: what
// such a call can add in that time is what the figure may lag by.
func (in *instance) peakMemoryMB(dur time.Duration) int64 {
	now := time.Now()
	if dur >= time.Millisecond || in.peakAt.IsZero() || now.Sub(in.peakAt) > 10*time.Millisecond {
		in.peakMB, in.peakAt = in.maxMemoryMB(), now
	}
	return in.peakMB
}

// maxMemoryMB is the instance's peak memory: its cgroup's peak when it has
// one, else the process's peak resident set size (VmHWM).
func (in *instance) maxMemoryMB() int64 {
	if in.limits != nil {
		return in.limits.PeakMemoryMB()
	}
	if in.status == nil {
		return 0
	}
	var buf [2048]byte
	n, err := in.status.ReadAt(buf[:], 0)
	if n <= 0 && err != nil {
		return 0
	}
	s := buf[:n]
	i := bytes.Index(s, []byte("VmHWM:"))
	if i < 0 {
		return 0
	}
	s = bytes.TrimLeft(s[i+6:], " \t")
	var kb int64
	for _, ch := range s {
		if ch < '0' || ch > '9' {
			break
		}
		kb = kb*10 + int64(ch-'0')
	}
	return (kb + 1023) / 1024
}

// readLogs copies the instance's output to the function's log until EOF.
func (in *instance) readLogs() {
	defer in.logR.Close()
	in.logRC.Read(func(fd uintptr) bool { return in.drainLogs(int(fd)) })
}

// logOwner is the instance that reads the process's log pipe: in itself,
// or for a slot of a shared process, the process's own instance.
func (in *instance) logOwner() *instance {
	if in.mux != nil {
		return in.mux.p
	}
	return in
}

// drainLogsNow moves whatever the instance has written so far to the log, so
// that END follows the invocation's own output.
func (in *instance) drainLogsNow() {
	if in.mux != nil && in.mux.p != in {
		in.mux.p.drainLogsNow() // the process's log pipe, shared by its slots
		return
	}
	if in.logRC != nil {
		in.logRC.Control(func(fd uintptr) { in.drainLogs(int(fd)) })
	}
	in.logMu.Lock()
	if len(in.logBuf) > 0 {
		in.emit(in.logBuf)
		in.logBuf = in.logBuf[:0]
	}
	in.logMu.Unlock()
}

// drainLogs reads the log pipe until it would block. It reports true at EOF.
func (in *instance) drainLogs(fd int) bool {
	in.logMu.Lock()
	defer in.logMu.Unlock()
	var chunk [32 * 1024]byte
	for {
		n, err := unix.Read(fd, chunk[:])
		if err == unix.EINTR {
			continue
		}
		if err == unix.EAGAIN {
			return false
		}
		if err != nil || n == 0 {
			if len(in.logBuf) > 0 {
				in.emit(in.logBuf)
				in.logBuf = in.logBuf[:0]
			}
			return true
		}
		data := chunk[:n]
		if len(in.logBuf) > 0 {
			in.logBuf = append(in.logBuf, data...)
			data = in.logBuf
		}
		last := bytes.LastIndexByte(data, '\n')
		if last < 0 {
			if len(in.logBuf) == 0 {
				in.logBuf = append(in.logBuf, data...)
			}
			if len(in.logBuf) >= 256*1024 {
				in.emit(in.logBuf)
				in.logBuf = in.logBuf[:0]
			}
			continue
		}
		in.emit(data[:last+1])
		rest := data[last+1:]
		in.logBuf = append(in.logBuf[:0], rest...)
	}
}

func (in *instance) emit(b []byte) {
	in.f.log.Append(string(b))
	in.logTail.write(b)
}

// tailBuffer keeps the last 4 KB written to it.
type tailBuffer struct {
	buf []byte
}

const tailSize = 4096

func (t *tailBuffer) reset() { t.buf = t.buf[:0] }

func (t *tailBuffer) write(b []byte) {
	if len(b) >= tailSize {
		t.buf = append(t.buf[:0], b[len(b)-tailSize:]...)
		return
	}
	t.buf = append(t.buf, b...)
	if len(t.buf) > tailSize {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-tailSize:]...)
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		t.buf = append(t.buf, '\n')
	}
}

func (t *tailBuffer) bytes() []byte { return append([]byte(nil), t.buf...) }
