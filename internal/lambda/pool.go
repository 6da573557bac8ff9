package lambda

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudlet/cloudlet/internal/runtimes"
)

// errRetired tells Invoke that the function was replaced by a deploy while the
// invocation waited for an instance; it retries on the new version.
var errRetired = errors.New("function version retired")

// function is one deployed function and its pool of instances.
//
// Instances pull work: each runs a goroutine that takes the next call from the
// unbuffered work channel, so a call is handed to an instance the moment one is
// idle, and an instance that just answered takes the next queued call without
// another goroutine in between.
type function struct {
	reg      *Registry
	cfg      Config
	taskRoot string
	launch   *runtimes.Launch
	env      []string
	timeout  time.Duration
	limit    int

	work    chan *call
	stopped chan struct{}
	stopMu  sync.Once
	wg      sync.WaitGroup

	mu      sync.Mutex
	running int // instances started and not yet gone

	// idle counts instances that are waiting for work or have committed to
	// wait for it as soon as they have answered their current call. An
	// invocation that finds no instance receiving yet but idle > 0 waits for
	// it instead of starting another, so back-to-back calls reuse one
	// instance.
	idle atomic.Int32
}

// call is one invocation travelling from Invoke to an instance.
type call struct {
	req      *Request
	id       string
	deadline time.Time
	res      Result
	done     chan struct{}
}

var callPool = sync.Pool{New: func() any { return &call{done: make(chan struct{}, 1)} }}

func (f *function) invoke(ctx context.Context, req *Request) (*Result, error) {
	c := callPool.Get().(*call)
	c.req, c.id, c.res, c.deadline = req, newRequestID(), Result{}, time.Time{}
	defer func() { c.req = nil; callPool.Put(c) }()

	select {
	case f.work <- c: // an idle instance took it
	default:
		if err := f.handOff(ctx, c); err != nil {
			return nil, err
		}
	}
	<-c.done
	res := c.res
	return &res, nil
}

// handOff waits for an instance to take c, starting one if the function is
// below its concurrency limit.
func (f *function) handOff(ctx context.Context, c *call) error {
	// A new instance started for this call gets the time its initialisation
	// may take; otherwise the call waits a little for a busy instance.
	startWait := f.reg.opts.InitTimeout + time.Second
	wait := f.reg.opts.ThrottleWait
	if f.idle.Load() == 0 && f.scaleUp() {
		wait = startWait
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		select {
		case f.work <- c:
			return nil
		case <-t.C:
			// The instance we counted on may have gone (idle timeout, crash):
			// start one if there is room, else throttle.
			if f.idle.Load() == 0 && f.scaleUp() {
				t.Reset(startWait)
				continue
			}
			return ErrThrottled
		case <-f.stopped:
			return errRetired
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// scaleUp starts one more instance if the function and the account are below
// their limits.
func (f *function) scaleUp() bool {
	f.mu.Lock()
	if f.running >= f.limit {
		f.mu.Unlock()
		return false
	}
	if f.reg.instances.Add(1) > int64(f.reg.opts.MaxConcurrency) {
		f.reg.instances.Add(-1)
		f.mu.Unlock()
		return false
	}
	f.running++
	f.wg.Add(1)
	f.mu.Unlock()
	go f.serve()
	return true
}

func (f *function) release() {
	f.mu.Lock()
	f.running--
	f.mu.Unlock()
	f.reg.instances.Add(-1)
	f.wg.Done()
}

func (f *function) stop() {
	f.stopMu.Do(func() { close(f.stopped) })
}

// serve runs one instance: start it, then hand it calls until it dies, idles
// out or the function is retired.
func (f *function) serve() {
	defer f.release()
	// The instance's channel is driven with blocking system calls from this
	// goroutine; keeping it on one OS thread keeps that thread's wakeups cheap.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	in, err := f.startInstance()
	if err != nil {
		// Answer the call that is waiting for this instance, if any, with the
		// initialisation error, as Lambda does.
		t := time.NewTimer(50 * time.Millisecond)
		select {
		case c := <-f.work:
			f.fail(c, err, 0)
		case <-t.C:
		}
		t.Stop()
		return
	}
	defer in.close()

	idle := time.NewTimer(f.reg.opts.IdleTimeout)
	defer idle.Stop()
	f.idle.Add(1)
	for {
		select {
		case c := <-f.work:
			f.idle.Add(-1)
			alive := in.invoke(c)
			if alive {
				f.idle.Add(1) // before answering, so the caller's next call waits for us
			}
			c.done <- struct{}{}
			if !alive {
				return
			}
			idle.Reset(f.reg.opts.IdleTimeout)
		case <-idle.C:
			f.idle.Add(-1)
			return
		case <-f.stopped:
			f.idle.Add(-1)
			return
		}
	}
}
