package lambda

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cloudlet/cloudlet/internal/runtimes"
	"github.com/cloudlet/cloudlet/internal/sandbox"
)

// Stem cells are instances started before any function needs them: the
// runtime's interpreter and bootstrap are loaded, inside a sandbox with an
// empty /var/task, and wait. A cold start that finds one ready skips the
// process start, the sandbox set-up and the interpreter's own start-up: the
// cell's cgroup takes the function's limits, the function's code is mounted
// at its /var/task, and one frame gives it the function's environment, after
// which it loads the handler like any new instance (runtimes/doc.go, "Stem
// cells"). Init Duration then counts from the specialisation.
//
// Runtimes that run the function's own executable (provided.*, go1.x) get
// exec stem cells: a pre-started process in the sandbox that, told the
// program and its environment, execs it (runtimes.ExecStem).
//
// Cells are interchangeable when they run the same program with the same
// sandbox settings (stemKey). For every key a deployed function uses, the
// registry keeps Options.StemCells cells ready, starting replacements one at
// a time per key, at the least CPU share, once the cold start that took a
// cell is over.

// stemMemoryMB is a stem cell's memory limit until it is specialised.
const stemMemoryMB = 10240

// stemKey identifies interchangeable stem cells.
type stemKey struct {
	path, args string // the program, as the sandbox shows it
	tmpMB      int
	readOnly   string
	binds      string // the SDK folders shown
}

// stemSpec is how to start the cells of one key.
type stemSpec struct {
	launch *runtimes.Launch
	box    sandbox.Config
}

type stemSet struct {
	spec     stemSpec
	ready    []*instance
	starting int
	want     int
	failed   bool // the last start failed: no more until the next deploy
}

type stems struct {
	r      *Registry
	mu     sync.Mutex
	sets   map[stemKey]*stemSet
	closed bool
	wg     sync.WaitGroup
}

// stemFor says which stem cells can become instances of f, and how to
// start them, or nil when none can: f's own runtime for those spoken over
// the pipe, when nothing in f's environment must be there when the
// interpreter starts; an exec stem (runtimes.ExecStem) for those that run
// f's own executable.
func (r *Registry) stemFor(f *function, env map[string]string) (*stemKey, *stemSpec) {
	if r.opts.StemCells <= 0 {
		return nil, nil
	}
	for k := range env {
		if runtimes.StartupOnly(k) {
			return nil, nil
		}
	}
	spec := &stemSpec{launch: f.launch, box: *f.box}
	if f.launch.Protocol != runtimes.Pipe {
		l, err := runtimes.ExecStem(r.opts.RuntimeDir)
		if err != nil {
			return nil, nil
		}
		spec.box.ReadOnly = []string{interpreterPrefix(l.Path, "")}
		spec.launch = viewLaunch(r.opts.Sandbox, &spec.box, l)
	}
	// A cell starts with the least CPU share: starting one never competes
	// with the instances at work (or the cold start that took the last).
	spec.box.TaskRoot, spec.box.Hide, spec.box.MemoryMB, spec.box.CPUShares = "", nil, stemMemoryMB, 2
	return &stemKey{
		path:     spec.launch.Path,
		args:     strings.Join(spec.launch.Args, "\x00"),
		tmpMB:    spec.box.TmpMB,
		readOnly: strings.Join(spec.box.ReadOnly, "\x00"),
		binds:    fmt.Sprint(spec.box.Binds),
	}, spec
}

// provide sets the keys that deployed functions use: cells of other keys
// are stopped, and missing ones started.
func (s *stems) provide(fns map[string]*function) {
	want := map[stemKey]stemSpec{}
	for _, f := range fns {
		if f.stem != nil {
			want[*f.stem] = *f.stemSpec
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if s.sets == nil {
		s.sets = map[stemKey]*stemSet{}
	}
	for k, set := range s.sets {
		if _, ok := want[k]; !ok {
			set.want = 0
			for _, in := range set.ready {
				s.closeLater(in)
			}
			set.ready = nil
		}
	}
	for k, spec := range want {
		set := s.sets[k]
		if set == nil {
			set = &stemSet{spec: spec}
			s.sets[k] = set
		}
		set.want, set.failed = s.r.opts.StemCells, false
		s.refillLocked(set)
	}
}

// take hands out a ready cell of key k, or nil. Its replacement starts
// when refill is called, once the cell has become an instance.
func (s *stems) take(k stemKey) *instance {
	s.mu.Lock()
	defer s.mu.Unlock()
	set := s.sets[k]
	if set == nil {
		return nil
	}
	for len(set.ready) > 0 {
		in := set.ready[0]
		set.ready = set.ready[1:]
		select {
		case <-in.exited: // died while it waited
			s.closeLater(in)
			continue
		default:
			return in
		}
	}
	return nil
}

// refill starts replacements for the cells of key k that were taken.
func (s *stems) refill(k stemKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if set := s.sets[k]; set != nil {
		s.refillLocked(set)
	}
}

func (s *stems) refillLocked(set *stemSet) {
	if s.closed || set.failed || set.starting > 0 || len(set.ready) >= set.want {
		return
	}
	set.starting++
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		in, err := s.r.startStem(set.spec)
		s.mu.Lock()
		set.starting--
		switch {
		case err != nil:
			set.failed = true
			s.r.log.Warn("stem cell did not start; cold starts start processes", "err", err)
		case s.closed || len(set.ready) >= set.want:
			s.mu.Unlock()
			in.close()
			return
		default:
			set.ready = append(set.ready, in)
			s.refillLocked(set)
		}
		s.mu.Unlock()
	}()
}

// closeLater closes a cell in the background; close waits for it.
func (s *stems) closeLater(in *instance) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		in.close()
	}()
}

// close stops every cell and waits for the starts in progress.
func (s *stems) close() {
	s.mu.Lock()
	s.closed = true
	var all []*instance
	for _, set := range s.sets {
		all = append(all, set.ready...)
		set.ready = nil
	}
	s.mu.Unlock()
	for _, in := range all {
		in.close()
	}
	s.wg.Wait()
}

// ready counts the cells ready now (for tests and metrics).
func (s *stems) readyCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, set := range s.sets {
		n += len(set.ready)
	}
	return n
}

// startStem starts one stem cell and waits until its runtime is loaded.
func (r *Registry) startStem(spec stemSpec) (*instance, error) {
	in := newInstance(nil)
	box := spec.box
	cell, err := r.opts.Sandbox.NewCell()
	if err != nil {
		return nil, err
	}
	box.Cell = cell
	in.cell = cell
	limits, err := r.opts.Sandbox.Limit("i-"+NewRequestID(), &box)
	if err != nil {
		cell.Close()
		return nil, err
	}
	env := []string{"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", "CLOUDLET_STEM=1"}
	l := *spec.launch
	if err := in.spawn(r.opts.Sandbox, &l, &box, env, limits); err != nil {
		return nil, err
	}
	t := time.AfterFunc(r.opts.InitTimeout, in.kill)
	kind, body, buf, err := runtimes.ReadFrame(&in.rsR, nil)
	in.rbuf = buf
	if !t.Stop() || err != nil || kind != runtimes.KindReady {
		in.close()
		if err == nil {
			err = fmt.Errorf("stem cell sent %q %s", kind, body)
		}
		return nil, fmt.Errorf("stem cell %s: %w", spec.launch.Path, err)
	}
	return in, nil
}

// specialise makes the stem cell in an instance of f. fallback reports a
// failure of the platform before the function's code ran (the cell is
// closed, and f should start an instance the ordinary way); otherwise err
// is the function's own initialisation error.
func (f *function) specialise(in *instance, cpu int, provisioned bool) (fallback bool, err error) {
	in.f = f
	in.stream = newStream()
	in.startedAt = time.Now()
	fail := func(err error) (bool, error) {
		in.close()
		return true, err
	}
	if err := in.limits.Resize(f.cfg.MemorySize, 0); err != nil {
		return fail(err)
	}
	if err := in.cell.Attach(f.taskRoot, f.reg.opts.Hide); err != nil {
		return fail(err)
	}
	if cpu >= 0 {
		in.pin(cpu)
	}
	env := f.instanceEnv(in, provisioned)
	if f.launch.Protocol == runtimes.Pipe {
		in.wbuf = runtimes.AppendSpecialise(in.wbuf[:0], env)
	} else {
		api, err := newRuntimeAPI(in, in.limits)
		if err != nil {
			return fail(err)
		}
		in.api = api
		env = append(env, "AWS_LAMBDA_RUNTIME_API="+api.addr)
		in.wbuf = runtimes.AppendExec(in.wbuf[:0], f.launch.Path, env)
	}
	err = writeAll(in.evW, in.wbuf)
	if in.api != nil {
		// The program speaks the Runtime API; the cell's pipes are done with.
		unix.Close(in.evW)
		unix.Close(in.rsR.fd)
		in.evW, in.rsR.fd = -1, -1
	}
	if err != nil {
		return fail(err)
	}
	f.counts.stemStarts.Add(1)
	in.startLogs()
	if err := in.waitReady(); err != nil {
		in.close()
		return false, err
	}
	in.initDur = time.Since(in.startedAt)
	return false, nil
}

// pin restricts every thread of the instance to cpu, as an instance started
// by a pinned thread is (the cell was started by another thread).
func (in *instance) pin(cpu int) {
	var set unix.CPUSet
	set.Set(cpu)
	tids := in.limits.Tasks()
	if in.limits == nil {
		entries, _ := os.ReadDir("/proc/" + strconv.Itoa(in.pid) + "/task")
		for _, e := range entries {
			if id, err := strconv.Atoi(e.Name()); err == nil {
				tids = append(tids, id)
			}
		}
	}
	for _, id := range tids {
		unix.SchedSetaffinity(id, &set)
	}
}
