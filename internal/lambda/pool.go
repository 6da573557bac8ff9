package lambda

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/cloudlet/cloudlet/internal/runtimes"
	"github.com/cloudlet/cloudlet/internal/sandbox"
	"github.com/cloudlet/cloudlet/internal/telemetry"
)

// errRetired tells Invoke that the function was replaced by a deploy while the
// invocation waited for an instance; it retries on the new version.
var errRetired = errors.New("function version retired")

// function is one deployed function and its pool of instances.
//
// Dispatch, under mu: a call goes to the most recently idle instance (a
// stack, so a warm instance stays warm and surplus ones idle out), which the
// caller's own goroutine then drives (borrow; not for processes shared by
// several slots), or waits in a FIFO queue. An instance that finishes a call takes the next queued
// call before it answers the finished one, so under load the next event is
// written the moment the previous response arrives. A queued call starts a
// new instance at once when the function has none, and otherwise only after
// it has waited ScaleDelay and can expect to wait longer (shouldScaleLocked):
// fast handlers are served by a few hot instances, which is what a small
// machine runs fastest, while slow (I/O-bound) ones scale out as on AWS.
type function struct {
	reg      *Registry
	cfg      Config
	taskRoot string
	launch   *runtimes.Launch // paths as the instance sees them
	stem     *stemKey         // the stem cells that can become f's instances, or nil
	stemSpec *stemSpec        // how to start them
	counts   *counters
	box      *sandbox.Config
	log      *telemetry.Stream // its log, kept: no look-up per line
	env      []string
	timeout  time.Duration

	stopped chan struct{} // closed when a deploy retires the function

	mu          sync.Mutex
	retired     bool
	idle        []*instance   // most recently idle last
	idleProv    []*instance   // idle provisioned instances, taken before idle ones
	provisioned int           // instances kept initialised at all times
	conc        int           // invocations one process runs at once (multi.go); 1 normally
	queue       []*call       // oldest first
	slots       slots         // instances started and not yet gone, and how many are starting
	avgDur      time.Duration // moving average of call durations; 0 until one completes
	lastDone    time.Time     // when a call last finished
	tuner       tuner         // tries extra instances of fast functions (tuner.go)
}

// call is one invocation travelling from Invoke to an instance.
type call struct {
	req      *Request
	id       string
	deadline time.Time
	res      Result
	err      error         // set instead of res when the call never ran
	queued   bool          // in f.queue (guarded by f.mu)
	done     chan struct{} // one send when res or err is set
}

var callPool = sync.Pool{New: func() any { return &call{done: make(chan struct{}, 1)} }}

func (f *function) invoke(ctx context.Context, req *Request) (*Result, error) {
	c := callPool.Get().(*call)
	c.req, c.id, c.res, c.err, c.deadline = req, req.RequestID, Result{}, nil, time.Time{}
	if c.id == "" {
		c.id = NewRequestID()
	}
	defer func() { c.req, c.res = nil, Result{}; callPool.Put(c) }()

	f.mu.Lock()
	if f.retired {
		f.mu.Unlock()
		return nil, errRetired
	}
	// Borrow only when no other call of f is running: under load, instances
	// driven from their own pinned threads serve more (a default pool
	// borrowed at c=16 fell from 25k to 16.5k req/s in make bench).
	quiet := f.slots.running-f.slots.starting == len(f.idle)+len(f.idleProv)
	if in := f.popIdleLocked(); in != nil {
		f.mu.Unlock()
		if quiet && in.mux == nil {
			f.borrow(in, c)
		} else {
			in.work <- c // buffered: never blocks
			<-c.done
		}
	} else {
		c.queued = true
		f.queue = append(f.queue, c)
		started := f.slots.running == 0 && f.startLocked(false)
		f.mu.Unlock()
		if err := f.await(ctx, c, started); err != nil {
			return nil, err
		}
	}
	if c.err != nil {
		return nil, c.err
	}
	res := c.res
	return &res, nil
}

// await waits for a queued call to be run and answered. It starts an
// instance for the call once it has waited ScaleDelay, and throttles it when
// no instance takes it within ThrottleWait (or, if an instance was started
// for it, within the initialisation timeout).
func (f *function) await(ctx context.Context, c *call, started bool) error {
	opts := &f.reg.opts
	deadline := time.Now().Add(opts.ThrottleWait)
	if started {
		deadline = time.Now().Add(opts.InitTimeout + time.Second)
	}
	t := time.NewTimer(min(opts.ScaleDelay, time.Until(deadline)))
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return nil
		case <-ctx.Done():
			if f.dequeue(c) {
				return ctx.Err()
			}
			<-c.done
			return nil
		case <-t.C:
		}
		f.mu.Lock()
		if !c.queued {
			f.mu.Unlock()
			<-c.done
			return nil
		}
		scale := f.shouldScaleLocked(c)
		started := scale && f.startLocked(false)
		if scale && !started {
			f.tuner.failed()
		}
		switch {
		case started:
			deadline = time.Now().Add(opts.InitTimeout + time.Second)
		case time.Now().Before(deadline) || f.slots.starting > 0:
			// Keep waiting: a busy instance or one being started can serve c.
		case f.startLocked(false):
			// Waited long enough and there is room: do not throttle below the limit.
			deadline = time.Now().Add(opts.InitTimeout + time.Second)
		default:
			f.removeLocked(c)
			f.mu.Unlock()
			f.counts.throttles.Add(1)
			return ErrThrottled
		}
		f.mu.Unlock()
		t.Reset(min(opts.ScaleDelay*4, time.Until(deadline)))
	}
}

// maxParallelStarts bounds the instances of one function that initialise at
// once: two per CPU, so that one's waits overlap another's work. Measured
// with `go run ./bench -only e` (50 instances from zero, 2 CPUs): one per
// CPU took 1.2-1.5 s, two 1.0-1.1 s, four 1.1-1.2 s with the first instance
// serving 5x later (BENCHMARKS.md).
func maxParallelStarts() int { return 2 * runtime.NumCPU() }

// shouldScaleLocked decides whether queued call c, having waited
// ScaleDelay, starts another instance. Instances start a few at a time (no
// thundering herd: at most maxParallelStarts initialise at once), and
// only when the wait c can expect — the calls ahead of it spread over the
// serving instances at the average call duration — is longer than
// ScaleDelay. Until a warm call has completed nothing is known, and an
// instance may start for every queued call not yet covered by one starting.
func (f *function) shouldScaleLocked(c *call) bool {
	// Every instance starting will take a queued call: start no more than
	// there are calls for. While nothing is known of the calls' duration,
	// start one at a time unless instances are serving and no call has
	// finished lately: then the calls are slow, and waiting for them to
	// finish before starting the next instance would serialise a burst.
	limit := maxParallelStarts()
	if f.avgDur == 0 && (f.slots.running == f.slots.starting || time.Since(f.lastDone) < 4*f.reg.opts.ScaleDelay) {
		limit = 1
	}
	if f.slots.starting >= limit || f.slots.starting >= len(f.queue) {
		return false
	}
	serving := f.slots.running
	if f.avgDur == 0 || serving == 0 {
		return true
	}
	ahead := slices.Index(f.queue, c) + 1
	if time.Duration(ahead)*f.avgDur/time.Duration(serving) <= f.reg.opts.ScaleDelay {
		return false
	}
	// Fast calls: one more instance is a trial (tuner.go).
	// (Not for processes that run several calls at once: their slots
	// start together.)
	return f.tuner.allow(time.Now(), f.avgDur < f.reg.opts.ScaleDelay && f.conc <= 1)
}

func (f *function) dequeue(c *call) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !c.queued {
		return false
	}
	f.removeLocked(c)
	return true
}

func (f *function) removeLocked(c *call) {
	if i := slices.Index(f.queue, c); i >= 0 {
		f.queue = slices.Delete(f.queue, i, i+1)
	}
	c.queued = false
}

// popLocked takes the oldest queued call, or nil.
func (f *function) popLocked() *call {
	if len(f.queue) == 0 {
		return nil
	}
	c := f.queue[0]
	f.queue[0] = nil
	f.queue = f.queue[1:]
	if len(f.queue) == 0 {
		f.queue = f.queue[:0:0] // let the backing array go
	}
	c.queued = false
	return c
}

// startLocked starts one more instance if the function and the account are
// below their limits; a provisioned one is kept initialised at all times.
//
// A process that runs several invocations at once counts as that many
// instances (slots), as many as the limits leave room for.
func (f *function) startLocked(provisioned bool) bool {
	if f.retired {
		return false
	}
	slots := f.slots.acquire(f.conc)
	f.checkedLocked()
	if slots == 0 {
		return false
	}
	f.reg.wg.Add(1)
	go f.serve(provisioned, slots)
	return true
}

// provision starts the function's provisioned instances (at deploy).
func (f *function) provision() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := 0; i < (f.provisioned+f.conc-1)/f.conc; i++ { // a process runs conc invocations
		if !f.startLocked(true) {
			f.reg.log.Warn("provisioned concurrency not reached: the account's concurrency is used up", "function", f.cfg.Name, "want", f.provisioned, "have", i)
			return
		}
	}
}

func (f *function) popIdleLocked() *instance {
	for _, st := range []*[]*instance{&f.idleProv, &f.idle} {
		for i := len(*st) - 1; i >= 0; i-- {
			in := (*st)[i]
			if in.mux != nil && in.mux.gone() {
				continue // a slot of a dead process: it is leaving
			}
			*st = slices.Delete(*st, i, i+1)
			return in
		}
	}
	return nil
}

// stop retires the function: queued calls go to the new version, idle
// instances exit, busy ones exit after their current call.
func (f *function) stop() {
	f.mu.Lock()
	if f.retired {
		f.mu.Unlock()
		return
	}
	f.retired = true
	for c := f.popLocked(); c != nil; c = f.popLocked() {
		c.err = errRetired
		c.done <- struct{}{}
	}
	f.mu.Unlock()
	close(f.stopped)
}

// serve runs one instance: start it, then run calls until it dies, idles out
// or the function is retired.
func (f *function) serve(provisioned bool, slots int) {
	defer f.reg.wg.Done()
	cpu := -1
	if slots == 1 {
		// The pipes are driven with blocking system calls from this goroutine;
		// keeping it on one OS thread keeps that thread's wakeups cheap.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		// Pin this thread, and so the process it forks (or the stem cell it
		// takes), to one CPU: the wakeups between them then stay on that
		// CPU's cache.
		c := f.reg.nextCPU()
		if restore := pinThread(c); restore != nil {
			defer restore()
			cpu = c
		}
	}

	in, err := f.startInstance(cpu, provisioned)
	f.mu.Lock()
	f.slots.started(1) // the other slots count as starting until they take calls
	if err == nil && f.slots.starting == 0 {
		f.tuner.started(time.Now())
	}
	if err != nil {
		f.tuner.failed()
		f.slots.started(slots - 1)
		f.slots.release(slots)
		f.checkedLocked()
		if provisioned {
			// Not retried, so that a function that cannot initialise does
			// not restart forever (Lambda marks the configuration FAILED).
			f.reg.log.Warn("a provisioned instance failed to initialise; provisioned concurrency stays below its setting until the next deploy", "function", f.cfg.Name, "err", err)
		}
		// Answer one waiting call with the initialisation error, as Lambda does.
		c := f.popLocked()
		f.mu.Unlock()
		if c != nil {
			f.fail(c, err)
			c.done <- struct{}{}
		}
		return
	}
	if f.conc > 1 {
		// The process serves slots invocations at once: the other slots
		// run beside this one.
		m := newMux(in, slots)
		for i := 1; i < slots; i++ {
			s := m.slot()
			f.reg.wg.Add(1)
			go func() {
				defer f.reg.wg.Done()
				f.mu.Lock()
				f.slots.started(1)
				f.mu.Unlock()
				f.run(s, provisioned)
			}()
		}
	}
	f.mu.Unlock()
	f.run(in, provisioned)
}

// run serves calls on in until it dies, idles out or the function is
// retired.
//
// An idle pipe instance may instead be borrowed by the caller that pops it
// (invoke, borrow): that caller's goroutine runs the call itself, which
// saves the two thread wake-ups of handing the call to this goroutine's
// locked thread and back (~35 µs here). The borrower hands the instance
// back through in.work (a queued call, or a sentinel) only when this
// goroutine has to act: a queued call to run, an exit, or a leave in
// progress.
func (f *function) run(in *instance, provisioned bool) {
	defer in.close()
	in.idle = time.NewTimer(f.reg.opts.IdleTimeout)
	if provisioned {
		in.idle.Stop() // kept, however long it idles
	}
	defer in.idle.Stop()
	f.mu.Lock()
	next := f.nextLocked(in)
	f.mu.Unlock()

	var dead <-chan struct{} // a shared process's end: its idle slots leave
	if in.mux != nil {
		dead = in.mux.dead
	}
	var aged <-chan time.Time // an idle instance leaves before its credentials expire
	if age := f.reg.opts.MaxInstanceAge; age > 0 {
		t := time.NewTimer(age - time.Since(in.startedAt))
		defer t.Stop()
		aged = t.C
	}
	for {
		if next == nil {
			select {
			case next = <-in.work:
			case <-aged:
				if next = f.leave(in); next == nil {
					f.replaceProvisioned(in)
					return
				}
			case <-in.idle.C:
				next = f.leave(in)
			case <-dead:
				next = f.leave(in)
			case <-f.stopped:
				next = f.leave(in)
			}
			switch next {
			case nil, exitCall:
				return
			case parkedCall:
				next = nil
				continue
			}
		}
		c := next
		var exit bool
		next, exit, _ = f.runOne(in, c)
		c.done <- struct{}{}
		if exit {
			return
		}
	}
}

// Sentinels a borrower sends on in.work: exitCall when the instance is done
// (its slot already released), parkedCall when it is idle again.
var exitCall, parkedCall = &call{}, &call{}

// runOne runs c on in and does the pool's bookkeeping. It returns the next
// queued call for in (nil when in was parked as idle), or exit when in
// leaves the pool (its slot released); and, for a borrower, whether in's
// goroutine waits in leave for it.
func (f *function) runOne(in *instance, c *call) (next *call, exit, leaving bool) {
	first := in.initDur > 0 // the first call of an instance runs cold code: not a measure
	f.counts.invocations.Add(1)
	if in.provisioned {
		f.counts.provisionedInvocations.Add(1)
	}
	dur, alive := in.invoke(c)
	f.mu.Lock()
	defer f.mu.Unlock()
	leaving, in.leaving = in.leaving, false
	f.lastDone = time.Now()
	f.tuner.completed(f.lastDone)
	if _, _, restore := f.tuner.judge(f.lastDone); restore {
		f.startLocked(false) // one fewer served worse: the instance comes back
	}
	switch {
	case first || !alive: // a cold call, a timeout or a crash says nothing of the steady state
	case f.avgDur == 0:
		f.avgDur = dur
	default:
		f.avgDur += (dur - f.avgDur) / 8
	}
	// Decide once, under the lock: an instance that parks itself as idle
	// may be handed a call at once, so it must not exit on its own after.
	exit = !alive || f.retired
	if age := f.reg.opts.MaxInstanceAge; age > 0 && time.Since(in.startedAt) > age {
		exit = true // its credentials would expire under it
	}
	if !exit && f.tuner.surplus > 0 && !in.provisioned && in.mux == nil && f.slots.running-f.slots.starting > 1 {
		// A trial found this function served as well with one
		// instance fewer: this one leaves.
		f.tuner.surplus--
		f.tuner.left(f.lastDone)
		exit = true
	}
	if !exit && !in.provisioned && in.mux == nil {
		fast := f.avgDur > 0 && f.avgDur < f.reg.opts.ScaleDelay && f.conc <= 1
		f.tuner.maybeShrink(f.lastDone, fast, f.slots.running-f.slots.starting)
	}
	if exit {
		f.slots.release(1) // before the replacement asks for a place
		f.checkedLocked()
		if in.provisioned && !f.retired && in.mux == nil {
			f.startLocked(true) // replace it: provisioned instances are always there
		} // (a shared process is replaced when its last slot lets go: mux.release)
		return nil, true, leaving
	}
	next = f.nextLocked(in)
	f.checkedLocked()
	return next, false, leaving
}

// borrow runs c on idle pipe instance in from the caller's goroutine, then
// gives in back: to its own goroutine when that one has something to do,
// else to the idle stack (runOne's nextLocked).
func (f *function) borrow(in *instance, c *call) {
	next, exit, leaving := f.runOne(in, c)
	switch {
	case exit:
		in.work <- exitCall
	case next != nil:
		in.work <- next
	case leaving:
		// Its goroutine found it gone from the idle stack and waits for
		// it: it is back there, idle.
		in.work <- parkedCall
	}
}

// nextLocked returns the next queued call for in, or parks in as idle.
func (f *function) nextLocked(in *instance) *call {
	if c := f.popLocked(); c != nil {
		return c
	}
	if in.provisioned {
		f.idleProv = append(f.idleProv, in)
		return nil
	}
	f.idle = append(f.idle, in)
	in.idle.Reset(f.reg.opts.IdleTimeout)
	return nil
}

// replaceProvisioned starts the replacement of a provisioned instance that
// left on its own (it reached MaxInstanceAge idle).
func (f *function) replaceProvisioned(in *instance) {
	if !in.provisioned || in.mux != nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.retired {
		f.startLocked(true)
	}
}

// leave takes an idle instance out of the pool so it can exit. If a caller
// already took it, leave returns that caller's call instead.
func (f *function) leave(in *instance) *call {
	f.mu.Lock()
	if in.provisioned {
		if i := slices.Index(f.idleProv, in); i >= 0 {
			f.idleProv = slices.Delete(f.idleProv, i, i+1)
			f.slots.release(1)
			f.checkedLocked()
			f.mu.Unlock()
			return nil
		}
	} else if i := slices.Index(f.idle, in); i >= 0 {
		f.idle = slices.Delete(f.idle, i, i+1)
		f.slots.release(1)
		f.checkedLocked()
		f.mu.Unlock()
		return nil
	}
	in.leaving = true // a caller has it: it sends a call or a sentinel
	f.mu.Unlock()
	return <-in.work
}
