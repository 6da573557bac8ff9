package lambda

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudlet/cloudlet/internal/runtimes"
	"github.com/cloudlet/cloudlet/internal/sandbox"
	"github.com/cloudlet/cloudlet/internal/sdk"
	"github.com/cloudlet/cloudlet/internal/telemetry"
)

// Options configures a Registry.
type Options struct {
	RuntimeDir string // where the embedded bootstraps are installed
	// SDK provides the AWS SDKs Lambda's runtimes ship (nil: none).
	SDK       *sdk.Cache
	Region    string // default us-east-1
	AccountID string // default 000000000000
	// Endpoint is the AWS API endpoint functions reach Cloudlet's services at
	// (AWS_ENDPOINT_URL), e.g. http://127.0.0.1:4566.
	Endpoint string
	// MaxConcurrency bounds instances across all functions (the account's
	// concurrency). Default: what fits the machine (FitConcurrency).
	MaxConcurrency int
	// IdleTimeout stops an instance that had no work for this long. Default 5 minutes.
	IdleTimeout time.Duration
	// ThrottleWait is how long an invocation waits for a busy function's
	// instance before it is throttled. Default 1 s.
	ThrottleWait time.Duration
	// InitTimeout bounds a runtime's initialisation. Default 10 s, as on AWS.
	InitTimeout time.Duration
	// ScaleDelay is how long a call waits for a busy instance before it
	// starts another one (a function with no instance starts one at once).
	// Default 5 ms.
	ScaleDelay time.Duration
	// Credentials issues the credentials one new instance of a function
	// gets (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN);
	// release, called when the instance is gone, revokes them. Nil gives
	// none.
	Credentials func(function string) (c InstanceCredentials, release func())
	// MaxInstanceAge retires an instance after the call that finds it
	// older, so that its credentials never expire under it (0: never).
	MaxInstanceAge time.Duration
	Logs           *telemetry.Logs
	Logger         *slog.Logger
	// Sandbox isolates instances; nil runs them as plain processes.
	Sandbox *sandbox.Sandbox
	// PidsMax bounds the processes and threads of one instance (default 1024).
	PidsMax int
	// StemCells is how many pre-started instances (stem cells) to keep ready
	// for each runtime in use; 0 starts every instance from scratch.
	StemCells int
	// Hide lists host folders (the data directory) that instances must not
	// see even when they lie inside a function's code folder.
	Hide []string
}

// FunctionSpec is what Deploy needs to know about one function.
type FunctionSpec struct {
	Name                string
	Runtime             string
	Handler             string
	TaskRoot            string // absolute folder with the function's code
	MemorySize          int    // MB
	Timeout             int    // seconds
	EphemeralStorage    int    // MB of /tmp; 0 means 512
	Environment         map[string]string
	ReservedConcurrency *int
	// ProvisionedConcurrency instances are started at deploy and kept
	// initialised; it must not exceed ReservedConcurrency.
	ProvisionedConcurrency int
	// InstanceConcurrency lets one instance run up to that many invocations
	// at once (Node runtimes only; 0 or 1: one at a time, as on Lambda).
	InstanceConcurrency int
	Role                string // optional; derived when empty
}

// Registry holds the deployed functions and runs their invocations.
type Registry struct {
	opts      Options
	log       *slog.Logger
	fns       atomic.Pointer[map[string]*function]
	account   account        // instances across all functions, against MaxConcurrency
	cpu       atomic.Uint32  // round-robin CPU for the next instance
	wg        sync.WaitGroup // every instance goroutine, of every version
	deployMu  sync.Mutex
	closed    atomic.Bool
	sdkWarned sync.Map // SDK kits that could not be had, said once
	stems     stems
	countMu   sync.Mutex // guards counts
	counts    map[string]*counters
}

// counters count a function's events since the registry started; they
// survive deploys.
type counters struct {
	processStarts atomic.Int64 // instances started as new processes
	stemStarts    atomic.Int64 // instances made from stem cells
	throttles     atomic.Int64
	invocations   atomic.Int64
	// invocations run by provisioned instances (the rest spilled over)
	provisionedInvocations atomic.Int64
}

// countersOf returns the counters of the function called name.
func (r *Registry) countersOf(name string) *counters {
	r.countMu.Lock()
	defer r.countMu.Unlock()
	if r.counts == nil {
		r.counts = map[string]*counters{}
	}
	c := r.counts[name]
	if c == nil {
		c = &counters{}
		r.counts[name] = c
	}
	return c
}

// FunctionStats is a snapshot of one function's instances and counters.
type FunctionStats struct {
	Name string
	// Instances is how many run now (starting included), Busy how many run
	// an invocation, Starting how many initialise, Queued how many
	// invocations wait for an instance.
	Instances, Busy, Starting, Queued int
	// ReservedConcurrency is the function's limit, or -1 for none.
	ReservedConcurrency int
	// Provisioned is the function's provisioned concurrency.
	Provisioned int
	// Since the registry started: cold starts from new processes and from
	// stem cells, throttled invocations, invocations that ran.
	ProcessStarts, StemStarts, Throttles, Invocations int64
	// ProvisionedInvocations ran on provisioned instances.
	ProvisionedInvocations int64
}

// Stats is a snapshot of the registry, for metrics.
type Stats struct {
	Functions      []FunctionStats // by name
	StemCellsReady int
	MaxConcurrency int // the account's concurrency limit
}

// Stats returns a snapshot of every deployed function.
func (r *Registry) Stats() Stats {
	st := Stats{StemCellsReady: r.stems.readyCount(), MaxConcurrency: r.opts.MaxConcurrency}
	for _, cfg := range r.Functions() {
		f, ok := r.lookup(cfg.Name)
		if !ok {
			continue
		}
		fs := FunctionStats{Name: cfg.Name, ReservedConcurrency: -1}
		if cfg.ReservedConcurrency != nil {
			fs.ReservedConcurrency = *cfg.ReservedConcurrency
		}
		f.mu.Lock()
		fs.Instances, fs.Starting, fs.Queued = f.slots.running, f.slots.starting, len(f.queue)
		fs.Busy = f.slots.running - f.slots.starting - len(f.idle) - len(f.idleProv)
		fs.Provisioned = f.provisioned
		f.mu.Unlock()
		c := f.counts
		fs.ProcessStarts, fs.StemStarts = c.processStarts.Load(), c.stemStarts.Load()
		fs.Throttles, fs.Invocations = c.throttles.Load(), c.invocations.Load()
		fs.ProvisionedInvocations = c.provisionedInvocations.Load()
		st.Functions = append(st.Functions, fs)
	}
	return st
}

// NewRegistry returns an empty registry.
func NewRegistry(opts Options) (*Registry, error) {
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.AccountID == "" {
		opts.AccountID = "000000000000"
	}
	if opts.MaxConcurrency <= 0 {
		opts.MaxConcurrency = FitConcurrency()
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 5 * time.Minute
	}
	if opts.ThrottleWait <= 0 {
		opts.ThrottleWait = time.Second
	}
	if opts.ScaleDelay <= 0 {
		opts.ScaleDelay = 5 * time.Millisecond
	}
	if opts.InitTimeout <= 0 {
		opts.InitTimeout = 10 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Logs == nil {
		l, err := telemetry.NewLogs("")
		if err != nil {
			return nil, err
		}
		opts.Logs = l
	}
	if opts.RuntimeDir == "" {
		return nil, errors.New("lambda: Options.RuntimeDir is required")
	}
	if opts.Sandbox == nil {
		opts.Sandbox = sandbox.Plain("no sandbox configured")
	}
	if err := runtimes.Install(opts.RuntimeDir); err != nil {
		return nil, fmt.Errorf("install runtimes: %w", err)
	}
	r := &Registry{opts: opts, log: opts.Logger}
	r.account.max = int64(opts.MaxConcurrency)
	r.stems.r = r
	empty := map[string]*function{}
	r.fns.Store(&empty)
	return r, nil
}

// FitConcurrency is the default account concurrency: as many 128 MB
// instances (Lambda's smallest) as three quarters of the machine's memory
// holds, at least 10 per CPU and at most AWS's default of 1000. Memory, not
// CPU, is what runs out first: idle and I/O-bound instances cost no CPU.
func FitConcurrency() int {
	n := 10 * runtime.NumCPU()
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				fmt.Sscanf(strings.TrimSpace(v), "%d", &kb)
			}
		}
		n = max(n, int(kb*3/4/(128<<10)))
	}
	return min(n, 1000)
}

// ARN returns the unqualified ARN of a function.
func (r *Registry) ARN(name string) string {
	return "arn:aws:lambda:" + r.opts.Region + ":" + r.opts.AccountID + ":function:" + name
}

// Deploy replaces the deployed functions with specs, as one transaction: if
// any function cannot be prepared, nothing changes.
func (r *Registry) Deploy(specs []FunctionSpec) error {
	r.deployMu.Lock()
	defer r.deployMu.Unlock()
	if r.closed.Load() {
		return ErrStopped
	}
	next := make(map[string]*function, len(specs))
	digests := map[string]digest{} // functions of a project share one code folder: walk it once
	var errs []error
	for _, s := range specs {
		if _, dup := next[s.Name]; dup {
			errs = append(errs, fmt.Errorf("function %s: defined twice", s.Name))
			continue
		}
		d, ok := digests[s.TaskRoot]
		if !ok {
			d.sum, d.size = codeDigest(s.TaskRoot)
			digests[s.TaskRoot] = d
		}
		f, err := r.prepare(s, d)
		if err != nil {
			errs = append(errs, fmt.Errorf("function %s: %w", s.Name, err))
			continue
		}
		next[s.Name] = f
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	old := r.fns.Swap(&next)
	for _, f := range *old {
		f.stop()
	}
	r.stems.provide(next)
	for _, f := range next {
		f.provision()
	}
	return nil
}

type digest struct {
	sum  string
	size int64
}

func (r *Registry) prepare(s FunctionSpec, code digest) (*function, error) {
	if s.MemorySize <= 0 {
		s.MemorySize = 1024
	}
	if s.Timeout <= 0 {
		s.Timeout = 6
	}
	rs := runtimes.Spec{Runtime: s.Runtime, Handler: s.Handler, TaskRoot: s.TaskRoot}
	if !runtimes.Supported(s.Runtime) {
		return nil, fmt.Errorf("runtime %q is not supported", s.Runtime)
	}
	if err := runtimes.CheckHandler(rs); err != nil {
		return nil, err
	}
	launch, err := runtimes.Prepare(r.opts.RuntimeDir, rs)
	if err != nil {
		return nil, err
	}
	if err := r.opts.Sandbox.CheckCode(s.TaskRoot); err != nil {
		return nil, err
	}
	role := s.Role
	if role == "" {
		role = "arn:aws:iam::" + r.opts.AccountID + ":role/" + s.Name + "-role"
	}
	cfg := Config{
		Name: s.Name, ARN: r.ARN(s.Name), Runtime: s.Runtime, Handler: s.Handler,
		MemorySize: s.MemorySize, Timeout: s.Timeout, Environment: s.Environment,
		Role: role, CodeSha256: code.sum, CodeSize: code.size, LastModified: time.Now().UTC(),
		ReservedConcurrency: s.ReservedConcurrency, EphemeralStorage: max(512, s.EphemeralStorage),
	}
	if s.InstanceConcurrency > 1 && !strings.HasPrefix(s.Runtime, "nodejs") {
		return nil, fmt.Errorf("instanceConcurrency: runtime %s runs one invocation at a time per instance; only nodejs runtimes run several", s.Runtime)
	}
	if s.ProvisionedConcurrency < 0 || s.ReservedConcurrency != nil && s.ProvisionedConcurrency > *s.ReservedConcurrency {
		return nil, fmt.Errorf("provisioned concurrency %d is negative or above the reserved concurrency", s.ProvisionedConcurrency)
	}
	limit := r.opts.MaxConcurrency
	if s.ReservedConcurrency != nil && *s.ReservedConcurrency < limit {
		limit = *s.ReservedConcurrency
	}
	box := &sandbox.Config{
		TaskRoot: s.TaskRoot, Runtime: r.opts.RuntimeDir, MemoryMB: s.MemorySize, Hide: r.opts.Hide, PidsMax: r.opts.PidsMax,
		TmpMB:    s.EphemeralStorage,
		ReadOnly: []string{interpreterPrefix(launch.Path, s.TaskRoot)},
	}
	r.addSDK(s, box, launch)
	launch = viewLaunch(r.opts.Sandbox, box, launch)
	f := &function{
		reg: r, cfg: cfg, taskRoot: s.TaskRoot, launch: launch, box: box, log: r.opts.Logs.For(s.Name),
		slots:   slots{limit: limit, acct: &r.account},
		timeout: time.Duration(s.Timeout) * time.Second, provisioned: s.ProvisionedConcurrency, conc: max(1, s.InstanceConcurrency),
		stopped: make(chan struct{}),
	}
	viewed := s
	viewed.TaskRoot = r.opts.Sandbox.View(box, s.TaskRoot)
	f.env = r.baseEnv(f, viewed)
	if f.conc > 1 {
		f.env = append(f.env, "CLOUDLET_INSTANCE_CONCURRENCY="+strconv.Itoa(f.conc))
	}
	f.stem, f.stemSpec = r.stemFor(f, s.Environment)
	f.counts = r.countersOf(s.Name)
	return f, nil
}

// viewLaunch rewrites the paths of a launch as the instance sees them.
func viewLaunch(sb *sandbox.Sandbox, box *sandbox.Config, l *runtimes.Launch) *runtimes.Launch {
	v := *l
	v.Path = sb.View(box, l.Path)
	v.Args = make([]string, len(l.Args))
	for i, a := range l.Args {
		v.Args[i] = sb.View(box, a)
	}
	v.Env = make([]string, len(l.Env))
	for i, e := range l.Env {
		k, val, _ := strings.Cut(e, "=")
		parts := strings.Split(val, ":") // a path list (NODE_PATH) or one path
		for j, p := range parts {
			parts[j] = sb.View(box, p)
		}
		v.Env[i] = k + "=" + strings.Join(parts, ":")
	}
	return &v
}

// SDK paths inside the sandbox, where Lambda's runtimes have them (Node) or
// near (Python, whose runtime folder is Cloudlet's own).
const (
	sdkNodeModules = sandbox.RuntimeDir + "/node_modules"
	sdkPython      = sandbox.RuntimeDir + "/sdk/python"
)

// addSDK shows the AWS SDK that f's runtime ships on Lambda (package sdk):
// Node resolves it from /var/runtime/node_modules (NODE_PATH, as on Lambda)
// and /node_modules (which ES modules reach too), after the function's own
// node_modules; Python finds it on sys.path after the code. Without it the
// function deploys all the same (it may bundle its own), with a warning.
func (r *Registry) addSDK(s FunctionSpec, box *sandbox.Config, l *runtimes.Launch) {
	kit := sdk.For(s.Runtime)
	if r.opts.SDK == nil || kit == "" {
		return
	}
	dir, err := r.opts.SDK.Ensure(kit)
	if err != nil {
		if _, warned := r.sdkWarned.LoadOrStore(kit, true); !warned {
			r.log.Warn("functions run without the AWS SDK their runtime ships on Lambda", "runtime", s.Runtime, "err", err)
		}
		return
	}
	switch kit {
	case sdk.Python:
		box.Binds = append(box.Binds, sandbox.Bind{Host: dir, At: sdkPython})
		l.Env = append(l.Env, "_CLOUDLET_SDK_PATH="+dir)
	default:
		nm := filepath.Join(dir, "node_modules")
		box.Binds = append(box.Binds, sandbox.Bind{Host: nm, At: sdkNodeModules}, sandbox.Bind{Host: nm, At: "/node_modules"})
		for i, e := range l.Env {
			if v, ok := strings.CutPrefix(e, "NODE_PATH="); ok {
				l.Env[i] = "NODE_PATH=" + nm + ":" + v
			}
		}
	}
}

// interpreterPrefix is the installation folder of an interpreter outside
// /usr (e.g. a pyenv version), which the sandbox must show read-only; "" for
// programs in /usr or in the function's own code.
func interpreterPrefix(path, taskRoot string) string {
	if strings.HasPrefix(path, "/usr/") || taskRoot != "" && strings.HasPrefix(path, taskRoot+"/") {
		return ""
	}
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	if strings.HasPrefix(path, "/usr/") {
		return ""
	}
	return filepath.Dir(filepath.Dir(path)) // <prefix>/bin/python3.x → <prefix>
}

// InstanceCredentials are the AWS credentials of one instance.
type InstanceCredentials struct {
	KeyID, Secret, Token string
}

// instanceEnv is what one new instance of f gets beyond f.env: its log
// stream, how it initialises and its own credentials.
func (f *function) instanceEnv(in *instance, provisioned bool) []string {
	env := make([]string, 0, len(f.env)+5)
	env = append(env, f.env...)
	env = append(env, "AWS_LAMBDA_LOG_STREAM_NAME="+in.stream, initType(provisioned))
	if issue := f.reg.opts.Credentials; issue != nil {
		c, release := issue(f.cfg.Name)
		if c.KeyID != "" {
			env = append(env, "AWS_ACCESS_KEY_ID="+c.KeyID, "AWS_SECRET_ACCESS_KEY="+c.Secret)
			if c.Token != "" {
				env = append(env, "AWS_SESSION_TOKEN="+c.Token)
			}
		}
		in.release = release
	}
	return env
}

// baseEnv is every variable an instance of f gets, but its log stream,
// Runtime API address and credentials, which are per instance.
func (r *Registry) baseEnv(f *function, s FunctionSpec) []string {
	env := []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"LANG=C.UTF-8",
		"TZ=:UTC",
		"_HANDLER=" + s.Handler,
		"LAMBDA_TASK_ROOT=" + s.TaskRoot,
		"AWS_LAMBDA_FUNCTION_NAME=" + s.Name,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=" + strconv.Itoa(f.cfg.MemorySize),
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/" + s.Name,
		"AWS_REGION=" + r.opts.Region,
		"AWS_DEFAULT_REGION=" + r.opts.Region,
		"CLOUDLET_ACCOUNT_ID=" + r.opts.AccountID,
	}
	if r.opts.Endpoint != "" {
		env = append(env, "AWS_ENDPOINT_URL="+r.opts.Endpoint)
	}
	env = append(env, f.launch.Env...)
	keys := make([]string, 0, len(s.Environment))
	for k := range s.Environment {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+s.Environment[k])
	}
	return env
}

// codeDigest summarises the function's folder: file names, sizes and
// modification times (not contents, which could be large), plus the total
// size, so that a change of code changes CodeSha256.
func codeDigest(root string) (string, int64) {
	h := sha256.New()
	var total int64
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			if n := d.Name(); p != root && (n == ".cloudlet" || n == ".git") {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		total += info.Size()
		fmt.Fprintf(h, "%s\x00%d\x00%d\n", p, info.Size(), info.ModTime().UnixNano())
		return nil
	})
	return base64.StdEncoding.EncodeToString(h.Sum(nil)), total
}

// lookup finds a function by name or ARN (optionally qualified with $LATEST).
func (r *Registry) lookup(nameOrARN string) (*function, bool) {
	name := nameOrARN
	if strings.HasPrefix(name, "arn:") {
		// arn:aws:lambda:region:account:function:name[:qualifier]
		parts := strings.Split(name, ":")
		if len(parts) < 7 || parts[5] != "function" {
			return nil, false
		}
		if len(parts) == 8 && parts[7] != "$LATEST" {
			return nil, false
		}
		name = parts[6]
	} else if i := strings.Index(name, ":function:"); i >= 0 {
		name = name[i+len(":function:"):]
	}
	if i := strings.IndexByte(name, ':'); i >= 0 {
		if name[i+1:] != "$LATEST" {
			return nil, false
		}
		name = name[:i]
	}
	f, ok := (*r.fns.Load())[name]
	return f, ok
}

// Functions implements Catalog.
func (r *Registry) Functions() []Config {
	m := *r.fns.Load()
	out := make([]Config, 0, len(m))
	for _, f := range m {
		out = append(out, f.cfg)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Function implements Catalog.
func (r *Registry) Function(nameOrARN string) (Config, bool) {
	f, ok := r.lookup(nameOrARN)
	if !ok {
		return Config{}, false
	}
	return f.cfg, true
}

// Invoke implements Invoker.
func (r *Registry) Invoke(ctx context.Context, req *Request) (*Result, error) {
	if len(req.Payload) > MaxSyncPayload {
		return nil, ErrPayloadTooLarge
	}
	for {
		if r.closed.Load() {
			return nil, ErrStopped
		}
		f, ok := r.lookup(req.Function)
		if !ok {
			return nil, ErrFunctionNotFound
		}
		res, err := f.invoke(ctx, req)
		if err == errRetired {
			continue // a deploy replaced the function while we waited: go to the new one
		}
		return res, err
	}
}

// Isolated reports whether instances run sandboxed, and if not, why.
func (r *Registry) Isolated() (bool, string) { return r.opts.Sandbox.Isolated() }

// Instances reports how many instances run now, across all functions.
func (r *Registry) Instances() int { return int(r.account.n.Load()) }

// Close stops every instance and refuses further invocations.
func (r *Registry) Close() {
	r.deployMu.Lock()
	defer r.deployMu.Unlock()
	if r.closed.Swap(true) {
		return
	}
	for _, f := range *r.fns.Load() {
		f.stop()
	}
	// Instances of versions retired by earlier deploys may still be busy.
	r.wg.Wait()
	r.stems.close()
}
