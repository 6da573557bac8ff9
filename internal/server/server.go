package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudlet/cloudlet/internal/async"
	"github.com/cloudlet/cloudlet/internal/awsapi"
	"github.com/cloudlet/cloudlet/internal/dynamodb"
	"github.com/cloudlet/cloudlet/internal/eventsource"
	"github.com/cloudlet/cloudlet/internal/gateway"
	"github.com/cloudlet/cloudlet/internal/iam"
	"github.com/cloudlet/cloudlet/internal/lambda"
	"github.com/cloudlet/cloudlet/internal/manifest"
	"github.com/cloudlet/cloudlet/internal/metrics"
	"github.com/cloudlet/cloudlet/internal/s3"
	"github.com/cloudlet/cloudlet/internal/sandbox"
	"github.com/cloudlet/cloudlet/internal/schedule"
	"github.com/cloudlet/cloudlet/internal/sdk"
	"github.com/cloudlet/cloudlet/internal/sqs"
	"github.com/cloudlet/cloudlet/internal/store"
	"github.com/cloudlet/cloudlet/internal/telemetry"
)

// Defaults shared by the server and the client commands.
const (
	DefaultGatewayAddr = "127.0.0.1:3000"
	DefaultAPIAddr     = "127.0.0.1:4566"
	DefaultRegion      = "us-east-1"
	DefaultAccountID   = "000000000000"
	DefaultAccessKey   = "test"
	DefaultSecretKey   = "test"
)

// Options configures a Server. Zero values take the defaults above.
type Options struct {
	DataDir        string // required: runtimes, logs
	GatewayAddr    string
	APIAddr        string
	Region         string
	AccessKey      string
	SecretKey      string
	MaxConcurrency int
	IdleTimeout    time.Duration
	// Conns bounds connections and how long they may dawdle (defaults:
	// ConnLimits).
	Conns ConnLimits
	// AwaitDeploy keeps the health check answering "starting" until the
	// first Deploy has been applied or has failed (cloudlet up).
	AwaitDeploy bool
	// SDKCache is where the AWS SDKs that Lambda's runtimes ship are
	// installed (default: package sdk's).
	SDKCache string
	// NoSandbox runs instances as plain processes even where they could be
	// isolated.
	NoSandbox bool
	// StemCells is how many pre-started instances to keep ready per runtime
	// in use (cold starts then skip the process start); negative means none.
	// Zero means DefaultStemCells.
	StemCells int
	// CgroupParent names the cgroup under which instances' groups are made
	// (default "cloudlet"): servers sharing a machine may keep theirs apart.
	CgroupParent string
	// IAM says what a denied AWS call does: iam.Enforce (the default)
	// refuses it, iam.Soft logs it and lets it through.
	IAM iam.Mode
	// SweepInterval is how often DynamoDB's expired items are deleted and
	// its streams trimmed (default DefaultSweepInterval).
	SweepInterval time.Duration
	Logger        *slog.Logger
}

// DefaultSweepInterval is how often expired DynamoDB items, SQS messages
// past their retention and S3 objects their bucket's lifecycle expires
// are looked for.
const DefaultSweepInterval = 5 * time.Second

// DefaultStemCells is the number of stem cells kept per runtime in use.
const DefaultStemCells = 2

// Server is a running Cloudlet.
type Server struct {
	opts     Options
	log      *slog.Logger
	keys     *iam.Keys
	authz    *iam.Authorizer
	policies *functionPolicies // the functions' resource-based policies
	store    *store.Store      // service state (internal/store)
	// recordFailure, when set (tests), makes recording a deploy fail.
	recordFailure error
	roles         []*iam.Role       // the deployed roles (under deployMu)
	fnRoles       map[string]string // function → role name (under deployMu)
	logs          *telemetry.Logs
	registry      *lambda.Registry
	box           *sandbox.Sandbox
	gateway       *gateway.Gateway
	lambdaAPI     *awsapi.LambdaService
	dynamo        *dynamodb.Service
	queues        *sqs.Service
	objects       *s3.Service
	notifications atomic.Pointer[[]notification] // the deploy's s3 events
	sources       *eventsource.Runner            // stream events
	events        *async.Queue                   // Event invocations
	eventsOnce    sync.Once
	schedules     *schedule.Runner // schedule events
	schedulerAPI  *schedule.API    // EventBridge Scheduler's schedules
	background    sync.WaitGroup   // the DynamoDB sweeper

	gwLn, apiLn   net.Listener
	gwSrv, apiSrv *http.Server
	ready         atomic.Bool
	stopping      chan struct{} // closed when Close begins: streams (logs --tail) end
	stopOnce      sync.Once
	version       atomic.Int64           // of the last deployment applied
	deployErr     atomic.Pointer[string] // of the last deploy attempt, nil when it succeeded
	attempted     atomic.Bool            // a deploy was attempted (or none is awaited)

	deployMu sync.Mutex
	current  atomic.Pointer[Deployment]
}

// Deployment describes what is deployed now.
type Deployment struct {
	Dir       string
	Service   string
	Stage     string
	Version   int // 1 for the first deployment this server applied, then one more each time
	Functions []DeployedFunction
	Warnings  []string
	At        time.Time
}

// DeployedFunction is one function of a Deployment and its HTTP routes.
type DeployedFunction struct {
	Key    string   `json:"key"`
	Name   string   `json:"name"`
	Routes []string `json:"routes,omitempty"`
	// Buckets are the buckets whose object events run the function.
	Buckets []string `json:"buckets,omitempty"`
	// Streams are the tables whose streams feed the function.
	Streams []string `json:"streams,omitempty"`
	// Queues are the queues that feed the function.
	Queues []string `json:"queues,omitempty"`
}

// New builds a server; Start makes it listen.
func New(opts Options) (*Server, error) {
	if opts.DataDir == "" {
		return nil, errors.New("server: a data directory is required")
	}
	if opts.GatewayAddr == "" {
		opts.GatewayAddr = DefaultGatewayAddr
	}
	if opts.APIAddr == "" {
		opts.APIAddr = DefaultAPIAddr
	}
	if opts.Region == "" {
		opts.Region = DefaultRegion
	}
	if opts.AccessKey == "" {
		opts.AccessKey = DefaultAccessKey
	}
	if opts.SecretKey == "" {
		opts.SecretKey = DefaultSecretKey
	}
	if opts.StemCells == 0 {
		opts.StemCells = DefaultStemCells
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	for _, a := range []string{opts.GatewayAddr, opts.APIAddr} {
		if !isLoopback(a) && opts.AccessKey == DefaultAccessKey && opts.SecretKey == DefaultSecretKey {
			return nil, fmt.Errorf("refusing to listen on %s with the default admin credentials test/test: set --access-key and --secret-key", a)
		}
	}
	dataDir, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, err
	}
	opts.DataDir = dataDir
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	s := &Server{opts: opts, log: opts.Logger, keys: iam.NewKeys(opts.AccessKey, opts.SecretKey), stopping: make(chan struct{})}
	s.authz = iam.NewAuthorizer(s.keys, opts.IAM)
	if s.logs, err = telemetry.NewLogs(filepath.Join(dataDir, "logs")); err != nil {
		return nil, err
	}
	return s, nil
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Isolated reports whether instances run sandboxed, and if not, why (after Start).
func (s *Server) Isolated() (bool, string) {
	if s.box == nil {
		return false, "not started"
	}
	return s.box.Isolated()
}

// Start listens on both addresses and serves until Close.
func (s *Server) Start() error {
	var err error
	if s.apiLn, err = net.Listen("tcp", s.opts.APIAddr); err != nil {
		return fmt.Errorf("listen for the AWS API on %s: %w", s.opts.APIAddr, err)
	}
	if s.gwLn, err = net.Listen("tcp", s.opts.GatewayAddr); err != nil {
		s.apiLn.Close()
		return fmt.Errorf("listen for the HTTP gateway on %s: %w", s.opts.GatewayAddr, err)
	}
	box := sandbox.Unisolated("--no-sandbox was given")
	if !s.opts.NoSandbox {
		parent := s.opts.CgroupParent
		if parent == "" {
			parent = "cloudlet"
		}
		box = sandbox.New(parent, filepath.Join(s.opts.DataDir, "cells"))
	}
	s.box = box
	if uid := box.UID(); uid >= 0 {
		s.log.Info("function code runs as an unprivileged host user of its own, never as root", "uid", uid)
	}
	if ok, why := box.Isolated(); !ok {
		s.log.Warn("instances are NOT isolated: they run as plain processes that can see this machine, other functions and the data directory", "reason", why)
	}
	s.registry, err = lambda.NewRegistry(lambda.Options{
		Sandbox:        box,
		SDK:            sdk.NewCache(s.opts.SDKCache, s.log),
		Hide:           []string{s.opts.DataDir},
		RuntimeDir:     filepath.Join(s.opts.DataDir, "runtime"),
		Region:         s.opts.Region,
		AccountID:      DefaultAccountID,
		Endpoint:       s.APIURL(),
		MaxConcurrency: s.opts.MaxConcurrency,
		IdleTimeout:    s.opts.IdleTimeout,
		StemCells:      max(0, s.opts.StemCells),
		Credentials: func(fn string) (lambda.InstanceCredentials, func()) {
			k, release, ok := s.keys.IssueFunction(fn)
			if !ok {
				return lambda.InstanceCredentials{}, nil
			}
			return lambda.InstanceCredentials{KeyID: k.ID, Secret: k.Secret, Token: k.Token}, release
		},
		// An instance leaves before its credentials expire.
		MaxInstanceAge: iam.SessionTTL - 30*time.Minute,
		Logs:           s.logs,
		Logger:         s.log,
	})
	if err != nil {
		s.apiLn.Close()
		s.gwLn.Close()
		return err
	}
	s.gateway = gateway.New(s.registry, s.log)
	if s.store, err = store.Open(s.opts.DataDir); err != nil {
		s.registry.Close()
		s.apiLn.Close()
		s.gwLn.Close()
		return err
	}
	if err := s.migrateDeployedFile(); err != nil {
		s.store.Close()
		s.registry.Close()
		s.apiLn.Close()
		s.gwLn.Close()
		return fmt.Errorf("move the deployed state into the store: %w", err)
	}
	s.lambdaAPI = awsapi.NewLambda(s.registry, s.registry, s.opts.Region, DefaultAccountID, s.log)
	if s.policies, err = loadPolicies(s.store, s.opts.DataDir); err != nil {
		s.store.Close()
		s.registry.Close()
		s.apiLn.Close()
		s.gwLn.Close()
		return err
	}
	s.lambdaAPI.SetPolicies(s.policies)
	s.events = async.New(s.store, s.registry, s.log)
	s.events.SetDeliverer(destinations{s})
	s.events.SetFunctionLog(s.logs)
	s.lambdaAPI.SetEventQueue(s.events)
	s.lambdaAPI.SetEventInvokeConfigs(s.events)
	s.schedules = schedule.NewRunner(s.store, s.events, s.opts.Region, DefaultAccountID, s.log)
	s.schedules.Authorize = s.authorizeScheduleTarget
	s.schedulerAPI = s.schedules.API(func(nameOrARN string) (string, bool) {
		cfg, ok := s.registry.Function(nameOrARN)
		return cfg.Name, ok
	})
	s.dynamo = dynamodb.New(s.store, s.opts.Region, DefaultAccountID, s.log)
	s.queues = sqs.New(s.store, s.opts.Region, DefaultAccountID, s.log)
	blobs, err := s3.NewDiskBlobs(filepath.Join(s.opts.DataDir, "s3"))
	if err == nil {
		s.objects = s3.New(s.store, blobs, s.opts.Region, DefaultAccountID, s.log)
		s.objects.SetNotifier(s.notifyObject)
		s.objects.SetDestinations(s.notificationTarget)
		s.objects.SetTestEvents(s.sendTestEvent)
		var n int
		if n, err = s.objects.Sweep(context.Background()); n > 0 {
			s.log.Info("s3: removed bodies no object names (an upload cut short, or replaced before a crash)", "count", n)
		}
	}
	if err != nil {
		s.store.Close()
		s.registry.Close()
		s.apiLn.Close()
		s.gwLn.Close()
		return fmt.Errorf("object storage: %w", err)
	}
	if err := s.queues.LoadPolicies(context.Background()); err != nil {
		s.store.Close()
		s.registry.Close()
		s.apiLn.Close()
		s.gwLn.Close()
		return fmt.Errorf("read the queues' policies: %w", err)
	}
	s.sources = eventsource.NewRunner(s.store, s.dynamo, s.queues, s.registry, s.registry.ARN, s.log)
	sweep := s.opts.SweepInterval
	if sweep <= 0 {
		sweep = DefaultSweepInterval
	}
	sweepCtx, stopSweep := context.WithCancel(context.Background())
	s.background.Add(2)
	go func() { defer s.background.Done(); s.sweep(sweepCtx, sweep) }()
	go func() { defer s.background.Done(); <-s.stopping; stopSweep() }()
	api := awsapi.New(awsapi.Options{
		Authorizer: s.authz,
		Region:     s.opts.Region,
		AccountID:  DefaultAccountID,
		Logger:     s.log,
		Health:     s.health,
		Services: map[string]awsapi.Service{
			"lambda":    s.lambdaAPI,
			"sts":       awsapi.NewSTS(s.keys),
			"dynamodb":  s.dynamo,
			"sqs":       s.queues,
			"scheduler": s.schedulerAPI,
			"s3":        s.objects,
			"cloudlet":  s.newAdminService(),
		},
	})
	// Not a ServeMux: it would clean S3 keys such as a//b or ../x out of
	// their paths.
	metricsHandler := metrics.Handler(s.registry, s.authz, s.events)
	mux := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == metrics.Path && r.URL.RawQuery == "" && r.Header.Get("Authorization") == "" {
			metricsHandler.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	})
	lim := s.opts.Conns.withDefaults(raiseFileLimit())
	s.apiSrv = &http.Server{Handler: mux, ReadHeaderTimeout: lim.ReadHeader, ReadTimeout: lim.APIRead, IdleTimeout: lim.Idle,
		MaxHeaderBytes: 64 << 10}
	s.gwSrv = &http.Server{Handler: s.gateway, ReadHeaderTimeout: lim.ReadHeader, ReadTimeout: lim.GatewayRead, IdleTimeout: lim.Idle,
		MaxHeaderBytes: gateway.MaxHeaderBytes}
	go s.apiSrv.Serve(limitListen(s.apiLn, lim.MaxConns))
	go s.gwSrv.Serve(limitListen(s.gwLn, lim.MaxConns))
	// Events run once what was deployed is back; if it could not be
	// restored, once a deploy succeeds.
	if s.restore() {
		s.startEvents()
	}
	if !s.opts.AwaitDeploy {
		s.attempted.Store(true)
	}
	s.ready.Store(true)
	s.log.Info("cloudlet ready", "gateway", s.GatewayURL(), "api", s.APIURL(), "data", s.opts.DataDir)
	return nil
}

// restore redeploys what this data directory served last, if anything.
// restore redeploys the last acknowledged deployment; it reports whether
// what was deployed is back (true when nothing was).
func (s *Server) restore() bool {
	st, ok, err := s.loadDeployed()
	if err != nil {
		s.log.Error("restore the last deployment", "err", err)
		return false
	}
	if !ok || st.Dir == "" {
		return true // nothing acknowledged yet (a pending deploy was never)
	}
	// Not Deploy: a restored version is not the deploy that cloudlet up
	// awaits before it reports ready.
	if _, err := s.deploy(st.Dir, st.Stage); err != nil {
		s.log.Error("restore the last deployment", "dir", st.Dir, "err", err)
		return false
	}
	return true
}

// startEvents starts the queue of Event invocations, once: after what was
// deployed is back, so that the events kept from before find their
// functions (a function not found drops its events).
func (s *Server) startEvents() {
	s.eventsOnce.Do(func() {
		if err := s.events.Start(); err != nil {
			s.log.Error("async: start the event queue", "err", err)
		}
		if err := s.queues.ResumeMoveTasks(context.Background()); err != nil {
			s.log.Error("sqs: resume the message move tasks", "err", err)
		}
		if err := s.schedulerAPI.Load(context.Background()); err != nil {
			s.log.Error("scheduler: load the schedules", "err", err)
		}
	})
}

// GatewayURL is the HTTP gateway's base URL.
func (s *Server) GatewayURL() string { return "http://" + s.gwLn.Addr().String() }

// APIURL is the AWS API endpoint's base URL.
func (s *Server) APIURL() string { return "http://" + s.apiLn.Addr().String() }

// Registry gives access to the function registry (for tests and benchmarks).
func (s *Server) Registry() *lambda.Registry { return s.registry }

// FireSchedule queues the event of the schedule named rule (its rule
// name, or its function's full name) as if it ticked now.
func (s *Server) FireSchedule(rule string) (bool, error) {
	return s.schedules.FireNow(context.Background(), rule)
}

// Store is the server's embedded database (for benchmarks: its commit count).
func (s *Server) Store() *store.Store { return s.store }

// Logs gives access to the function logs.
func (s *Server) Logs() *telemetry.Logs { return s.logs }

// Current returns what is deployed, or nil.
func (s *Server) Current() *Deployment { return s.current.Load() }

// Deploy loads the project in dir and makes it the deployed version. On error
// nothing changes. The health check reports the outcome.
func (s *Server) Deploy(dir, stage string) (*Deployment, error) {
	d, err := s.deploy(dir, stage)
	s.attempted.Store(true)
	return d, err
}

// health is the answer of GET /_cloudlet/health: ready once the server
// listens and, when a deploy is awaited (cloudlet up), once the first one
// has been applied or has failed; the body says what is deployed and why
// the last deploy failed, if it did.
func (s *Server) health() (bool, []byte) {
	if !s.ready.Load() || !s.attempted.Load() {
		return false, []byte(`{"status":"starting"}`)
	}
	type deployed struct {
		Service   string `json:"service"`
		Stage     string `json:"stage"`
		Version   int    `json:"version"`
		Functions int    `json:"functions"`
	}
	h := struct {
		Status      string    `json:"status"`
		Deployed    *deployed `json:"deployed"`
		DeployError string    `json:"deployError,omitempty"`
	}{Status: "ok"}
	if d := s.current.Load(); d != nil {
		h.Deployed = &deployed{d.Service, d.Stage, d.Version, len(d.Functions)}
	}
	if e := s.deployErr.Load(); e != nil {
		h.DeployError = *e
	}
	b, _ := json.Marshal(h)
	return true, b
}

func (s *Server) deploy(dir, stage string) (d *Deployment, err error) {
	s.deployMu.Lock()
	defer s.deployMu.Unlock()
	defer func() {
		// Recorded under the lock: the health check shows the newest outcome.
		if err != nil {
			msg := err.Error()
			s.deployErr.Store(&msg)
		} else {
			s.deployErr.Store(nil)
		}
	}()
	proj, err := manifest.Load(dir, manifest.Options{Stage: stage, Region: s.opts.Region, AccountID: DefaultAccountID, APIURL: s.APIURL()})
	if err != nil {
		return nil, err
	}
	d = &Deployment{Dir: proj.Dir, Service: proj.Service, Stage: proj.Provider.Stage, Warnings: proj.Warnings, At: time.Now()}
	specs := make([]lambda.FunctionSpec, 0, len(proj.Functions))
	var routes []gateway.Route
	var mappings []eventsource.Mapping
	var scheds []schedule.Schedule
	for _, fn := range proj.Functions {
		specs = append(specs, lambda.FunctionSpec{
			Name: fn.Name, Runtime: fn.Runtime, Handler: fn.Handler, TaskRoot: proj.Dir,
			MemorySize: fn.MemorySize, Timeout: fn.Timeout, Environment: fn.Environment, EphemeralStorage: fn.EphemeralStorageSize,
			ReservedConcurrency: fn.ReservedConcurrency, ProvisionedConcurrency: fn.ProvisionedConcurrency,
			InstanceConcurrency: fn.InstanceConcurrency,
			Role:                "arn:aws:iam::" + DefaultAccountID + ":role/" + fn.Role,
		})
		df := DeployedFunction{Key: fn.Key, Name: fn.Name}
		streams, queues, scheduleEvents := 0, 0, 0 // the function's events of each kind so far: their ids stay as other events come and go
		for i, ev := range fn.Events {
			if st := ev.Stream; st != nil {
				m := streamMapping(fn.Name, streams, st)
				streams++
				if _, err := m.Check(); err != nil {
					return nil, fmt.Errorf("%s:%d: functions.%s.events[%d].stream.filterPatterns: %w", filepath.Base(proj.File), ev.Line, fn.Key, i, err)
				}
				mappings = append(mappings, m)
				df.Streams = append(df.Streams, st.Table)
				continue
			}
			if sc := ev.Schedule; sc != nil {
				scheds = append(scheds, scheduleOf(fn.Name, scheduleEvents, sc)...)
				scheduleEvents++
				continue
			}
			if q := ev.SQS; q != nil {
				m := queueMapping(fn, queues, q, s.registry.Stats().MaxConcurrency)
				queues++
				if _, err := m.Check(); err != nil {
					return nil, fmt.Errorf("%s:%d: functions.%s.events[%d].sqs.filterPatterns: %w", filepath.Base(proj.File), ev.Line, fn.Key, i, err)
				}
				mappings = append(mappings, m)
				df.Queues = append(df.Queues, q.Queue)
				continue
			}
			if ev.S3 != nil {
				df.Buckets = append(df.Buckets, ev.S3.Bucket)
				continue
			}
			r := gateway.Route{Function: fn.Name}
			switch {
			case ev.HTTP != nil:
				r.Kind, r.Method, r.Path, r.CORS = gateway.REST, ev.HTTP.Method, ev.HTTP.Path, ev.HTTP.CORS
			case ev.HTTPAPI != nil:
				r.Kind, r.Method, r.Path, r.CORS = gateway.HTTPAPI, ev.HTTPAPI.Method, ev.HTTPAPI.Path, ev.HTTPAPI.CORS
			default:
				continue
			}
			routes = append(routes, r)
			df.Routes = append(df.Routes, r.Method+" "+r.Path)
		}
		d.Functions = append(d.Functions, df)
	}
	gwCfg := gateway.Config{Stage: d.Stage, Region: s.opts.Region, AccountID: DefaultAccountID}
	table, err := gateway.Compile(gwCfg, routes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(proj.File), err)
	}
	// Recorded durably before it is acknowledged: first as pending beside
	// the version a restart serves (a deploy that cannot even be recorded
	// fails before anything changes), then, once applied, as that version.
	prev, _, _ := s.loadDeployed()
	prev.Pending = nil
	next := deployedState{Dir: d.Dir, Stage: stage}
	pending := prev
	pending.Pending = &next
	if err := s.saveDeployed(pending); err != nil {
		return nil, fmt.Errorf("cannot record the deployment in the data directory %s: %w", s.opts.DataDir, err)
	}
	roles, fnRoles, err := projectRoles(proj)
	if err != nil {
		s.saveDeployed(prev)
		return nil, err
	}
	// The buckets' declarations are checked before anything is applied.
	var bucketSpecs []s3.BucketSpec
	for _, b := range proj.Buckets {
		bucketSpecs = append(bucketSpecs, s3.BucketSpec{Name: b.Name, Properties: b.Properties})
	}
	buckets, err := s3.CheckBuckets(bucketSpecs)
	if err != nil {
		s.saveDeployed(prev)
		return nil, err
	}
	// Tables first: the functions' environment names them.
	if err := s.dynamo.Apply(context.Background(), tableSpecs(proj)); err != nil {
		s.saveDeployed(prev)
		return nil, err
	}
	if err := s.queues.Apply(context.Background(), queueSpecs(proj)); err != nil {
		s.saveDeployed(prev)
		return nil, err
	}
	if err := s.objects.ApplyBuckets(context.Background(), buckets); err != nil {
		s.saveDeployed(prev)
		return nil, err
	}
	if err := s.checkQueueMappings(proj); err != nil {
		s.saveDeployed(prev)
		return nil, err
	}
	prevRoles, prevFnRoles := s.roles, s.fnRoles
	s.keys.Stage(roles, fnRoles) // provisioned instances start during the deploy
	if err := s.registry.Deploy(specs); err != nil {
		s.keys.Commit(prevRoles, prevFnRoles)
		s.saveDeployed(prev)
		return nil, err
	}
	s.keys.Commit(roles, fnRoles)
	s.roles, s.fnRoles = roles, fnRoles
	deployedFns := map[string]bool{}
	for _, fn := range proj.Functions {
		deployedFns[fn.Name] = true
	}
	if err := s.policies.forget(deployedFns); err != nil {
		s.log.Error("drop the resource policies of removed functions", "err", err)
	}
	if err := s.events.ApplyConfigs(context.Background(), asyncConfigs(proj), deployedFns); err != nil {
		s.log.Error("record the functions' asynchronous invocation settings", "err", err)
		return nil, fmt.Errorf("the deployment is applied but the functions' maximumRetryAttempts, maximumEventAge, destinations and onError cannot be recorded: %w", err)
	}
	if err := s.saveDeployed(next); err != nil {
		// Applied, but a restart would serve the version before.
		s.log.Error("record the deployment", "err", err)
		return nil, fmt.Errorf("the deployment is applied but cannot be recorded in the data directory %s (a restart would serve the previous version): %w", s.opts.DataDir, err)
	}
	s.gateway.Swap(table)
	ns := notificationsOf(proj)
	s.notifications.Store(&ns)
	s.sources.Set(mappings)
	s.schedules.Set(scheds)
	if s.ready.Load() {
		s.startEvents() // after a restore that failed: this deploy brings the functions back
	}
	for _, fn := range proj.Functions {
		s.logs.SetRetention(fn.Name, fn.LogRetentionInDays)
	}
	d.Version = int(s.version.Add(1))
	s.current.Store(d)
	s.log.Info("deployed", "service", d.Service, "stage", d.Stage, "functions", len(specs), "routes", len(routes))
	return d, nil
}

// Close stops listening, waits briefly for requests in flight and stops every
// instance.
func (s *Server) Close() error {
	s.ready.Store(false)
	s.stopOnce.Do(func() { close(s.stopping) })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, srv := range []*http.Server{s.gwSrv, s.apiSrv} {
		if srv != nil && srv.Shutdown(ctx) != nil {
			srv.Close() // requests still in flight after the grace period end
		}
	}
	if s.sources != nil {
		s.sources.Close()
	}
	if s.schedules != nil {
		s.schedules.Close()
	}
	if s.events != nil {
		s.events.Close()
	}
	if s.queues != nil {
		s.queues.Close()
	}
	if s.lambdaAPI != nil {
		s.lambdaAPI.Drain(ctx)
	}
	if s.registry != nil {
		s.registry.Close()
	}
	if s.box != nil {
		s.box.Close()
	}
	s.background.Wait()
	var err error
	if s.store != nil {
		err = s.store.Close()
	}
	return errors.Join(err, s.logs.Close())
}

// sweep deletes, every interval until ctx is done, DynamoDB's expired
// items (trimming its streams) and SQS messages past their retention.
func (s *Server) sweep(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if _, err := s.dynamo.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("dynamodb: sweeping expired items", "err", err)
		}
		if _, err := s.queues.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("sqs: dropping messages past their retention", "err", err)
		}
		if _, err := s.objects.Expire(ctx, time.Now()); err != nil && ctx.Err() == nil {
			s.log.Warn("s3: applying the buckets' lifecycle rules", "err", err)
		}
	}
}
