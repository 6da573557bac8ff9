package lambda

import (
	"bytes"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudlet/cloudlet/internal/runtimes"
)

// Per-instance concurrency (FunctionSpec.InstanceConcurrency > 1, Node
// only): one process runs up to N invocations at once. To the pool it is N
// instances ("slots"): each slot is an *instance with its own work channel,
// idle timer and timeout, taking one call at a time as any instance does,
// so dispatch, scaling, limits and idle-out count concurrent executions as
// they do for one-at-a-time functions. The slots share the process through
// a mux: invocations are written under a lock, one goroutine reads the
// answers and routes them by request id, and the process ends when its last
// slot has left.

type mux struct {
	p          *instance // the process's own instance (the first slot)
	refs       atomic.Int32
	wmu        sync.Mutex // one writer at a time on the event pipe
	mu         sync.Mutex
	wait       map[string]chan muxAnswer
	readerDone chan struct{} // closed when the answer pipe ends
	dead       chan struct{} // closed when the pipe ends or the process exits
}

type muxAnswer struct {
	kind byte
	body []byte
}

func newMux(p *instance, slots int) *mux {
	m := &mux{p: p, wait: map[string]chan muxAnswer{}, readerDone: make(chan struct{}), dead: make(chan struct{})}
	m.refs.Store(int32(slots))
	p.mux = m
	go m.readLoop()
	go func() {
		// A child the function left behind may hold the answer pipe open
		// after the process is gone: its exit is the end too.
		select {
		case <-m.readerDone:
		case <-p.exited:
		}
		close(m.dead)
	}()
	return m
}

// slot makes another slot of the process.
func (m *mux) slot() *instance {
	p := m.p
	s := newInstance(p.f)
	s.mux, s.pid, s.exited, s.limits, s.status, s.provisioned = m, p.pid, p.exited, p.limits, p.status, p.provisioned
	s.killTimer = time.AfterFunc(time.Hour, s.timeoutKill)
	s.killTimer.Stop()
	return s
}

func (m *mux) readLoop() {
	defer close(m.readerDone)
	var buf []byte
	for {
		kind, body, nb, err := runtimes.ReadFrame(&m.p.rsR, buf)
		buf = nb
		if err != nil {
			return
		}
		id, doc, ok := bytes.Cut(body, []byte("\n"))
		if !ok {
			m.p.kill() // an answer without its request id: the channel is broken
			continue
		}
		m.mu.Lock()
		ch := m.wait[string(id)]
		delete(m.wait, string(id))
		m.mu.Unlock()
		if ch != nil {
			ch <- muxAnswer{kind, append([]byte(nil), doc...)} // buf is reused by the next read
		}
	}
}

// invoke sends c to the process and waits for its answer; false when the
// process died (or must: an unexpected frame).
func (m *mux) invoke(in *instance, c *call) bool {
	ch := make(chan muxAnswer, 1)
	m.mu.Lock()
	m.wait[c.id] = ch
	m.mu.Unlock()
	frame := runtimes.AppendInvoke(nil, &runtimes.Invocation{
		RequestID: c.id, DeadlineMs: c.deadline.UnixMilli(), TraceID: c.req.TraceID,
		ClientContext: c.req.ClientContext, Payload: c.req.Payload,
	})
	m.wmu.Lock()
	err := writeAll(m.p.evW, frame)
	m.wmu.Unlock()
	var a muxAnswer
	if err == nil {
		select {
		case a = <-ch:
		case <-m.dead:
			select { // the answer may have come just before the end
			case a = <-ch:
			default:
				err = errRetired
			}
		}
	}
	if err != nil {
		m.mu.Lock()
		delete(m.wait, c.id)
		m.mu.Unlock()
		if !in.timedOut.Load() {
			in.f.fail(c, in.deathError(c.id))
		}
		return false
	}
	return in.answer(c, a.kind, a.body)
}

// gone reports whether the process has closed its answer pipe (died).
func (m *mux) gone() bool {
	select {
	case <-m.dead:
		return true
	default:
		return false
	}
}

// release drops one slot's hold on the process, and closes the process
// with the last.
// A provisioned process is then replaced (its slots have all given up
// their count, so the new one gets as many).
func (m *mux) release() {
	if m.refs.Add(-1) != 0 {
		return
	}
	m.p.closeProcess()
	if f := m.p.f; m.p.provisioned {
		f.mu.Lock()
		if !f.retired {
			f.startLocked(true)
		}
		f.mu.Unlock()
	}
}
