package cli

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/cloudlet/cloudlet/internal/iam"
	"github.com/cloudlet/cloudlet/internal/server"
	"github.com/cloudlet/cloudlet/internal/watch"
)

// serverFlags are the flags of the commands that run a server.
type serverFlags struct {
	dataDir        string
	gatewayAddr    string
	apiAddr        string
	region         string
	accessKey      string
	secretKey      string
	idleTimeout    time.Duration
	maxConcurrency int
	logLevel       string
	noSandbox      bool
	stemCells      int
	iamMode        string
}

func (f *serverFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.dataDir, "data-dir", "", "data directory (default .cloudlet/ in the project folder)")
	fl.StringVar(&f.gatewayAddr, "gateway-addr", server.DefaultGatewayAddr, "address of the HTTP gateway")
	fl.StringVar(&f.apiAddr, "api-addr", server.DefaultAPIAddr, "address of the AWS API endpoint")
	fl.StringVar(&f.region, "region", server.DefaultRegion, "region")
	fl.StringVar(&f.accessKey, "access-key", server.DefaultAccessKey, "admin access key ID (required to change when listening beyond loopback)")
	fl.StringVar(&f.secretKey, "secret-key", server.DefaultSecretKey, "admin secret access key")
	fl.DurationVar(&f.idleTimeout, "idle-timeout", 5*time.Minute, "stop an instance after this long without work (scale to zero)")
	fl.IntVar(&f.maxConcurrency, "max-concurrency", 0, "instances across all functions (default: as many 128 MB instances as 3/4 of memory holds, 10 per CPU to 1000)")
	fl.StringVar(&f.logLevel, "log-level", "info", "platform log level: debug, info, warn, error")
	fl.BoolVar(&f.noSandbox, "no-sandbox", false, "run instances as plain processes, not isolated")
	fl.StringVar(&f.iamMode, "iam", "enforce", "what a call its caller's policies do not allow gets: enforce (refused, AccessDenied) or soft (logged, let through)")
	fl.IntVar(&f.stemCells, "stem-cells", server.DefaultStemCells, "pre-started runtimes kept ready per runtime in use, so cold starts skip the process start (0: none)")
}

func (f *serverFlags) start(stderr io.Writer, dataDir string, awaitDeploy bool) (*server.Server, error) {
	serverRuntime()
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	var mode iam.Mode
	switch f.iamMode {
	case "enforce":
	case "soft":
		mode = iam.Soft
	default:
		return nil, fmt.Errorf("--iam %q: want enforce or soft", f.iamMode)
	}
	s, err := server.New(server.Options{
		DataDir: dataDir, GatewayAddr: f.gatewayAddr, APIAddr: f.apiAddr, Region: f.region,
		AccessKey: f.accessKey, SecretKey: f.secretKey, IdleTimeout: f.idleTimeout,
		MaxConcurrency: f.maxConcurrency, NoSandbox: f.noSandbox, Logger: logger,
		StemCells: stemCellsOption(f.stemCells), AwaitDeploy: awaitDeploy, IAM: mode,
	})
	if err != nil {
		return nil, err
	}
	if err := s.Start(); err != nil {
		return nil, err
	}
	return s, nil
}

// serverRuntime tunes Go's runtime for serving, unless the environment
// sets GOGC or GOMAXPROCS:
//   - The heap may grow to 5× what is live between collections (Go's
//     default is 2×): the live heap is small and most of what a server
//     allocates lives for one request, so the collector ran often (about
//     a tenth of a 4 KiB GET's CPU at 2×).
//   - One scheduler slot more than the CPUs Go would use: the store's one
//     writer spends most of its time in fsync, and back from it waited
//     for a slot behind the request goroutines. 4 KiB PUTs from wrk, six
//     interleaved rounds on 2 CPUs: +7% (14.2k/s against 13.3k/s). Go's
//     count follows a container's CPU limit at start; set by hand, it no
//     longer follows a limit changed later (restart the server).
//
// Once per process: a process that starts servers again (tests) keeps the
// first setting, not one slot more each time.
var serverRuntime = sync.OnceFunc(func() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + 1)
	}
})

func newServer() *cobra.Command {
	var f serverFlags
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the platform without deploying anything (deploy later with `cloudlet deploy`)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dataDir := f.dataDir
			if dataDir == "" {
				dataDir = ".cloudlet"
			}
			s, err := f.start(cmd.ErrOrStderr(), dataDir, false)
			if err != nil {
				return err
			}
			defer s.Close()
			fmt.Fprintf(cmd.OutOrStdout(), "Cloudlet is running\n  gateway: %s\n  AWS API: %s\n  IAM:     %s\n", s.GatewayURL(), s.APIURL(), iamBanner(f.iamMode))
			<-cmd.Context().Done()
			return nil
		},
	}
	f.register(cmd)
	return cmd
}

func newUp() *cobra.Command {
	var f serverFlags
	var dir, stage string
	var noWatch bool
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run the platform, deploy the project in --dir and redeploy when its files change",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			abs, err := filepath.Abs(dir)
			if err != nil {
				return err
			}
			// Nothing is started, or created, for a folder that is not there.
			if st, err := os.Stat(abs); err != nil || !st.IsDir() {
				return fmt.Errorf("--dir %s: no such project folder (it should hold serverless.yml)", dir)
			}
			dataDir := f.dataDir
			if dataDir == "" {
				dataDir = filepath.Join(abs, ".cloudlet")
			}
			s, err := f.start(cmd.ErrOrStderr(), dataDir, true)
			if err != nil {
				return err
			}
			defer s.Close()
			fmt.Fprintf(out, "Cloudlet is running\n  gateway: %s\n  AWS API: %s\n  IAM:     %s\n", s.GatewayURL(), s.APIURL(), iamBanner(f.iamMode))
			deploy := func() {
				start := time.Now()
				d, err := s.Deploy(abs, stage)
				if err != nil {
					if s.Current() != nil {
						fmt.Fprintf(out, "Deploy failed (the previous version keeps serving):\n%s\n", indent(err.Error()))
					} else {
						fmt.Fprintf(out, "Deploy failed (nothing is deployed yet; fix the error and save to retry):\n%s\n", indent(err.Error()))
					}
					return
				}
				printDeployment(out, d, s.GatewayURL(), time.Since(start))
			}
			deploy()
			if noWatch {
				<-cmd.Context().Done()
				return nil
			}
			absData, _ := filepath.Abs(dataDir)
			return watch.Watch(cmd.Context(), abs, 100*time.Millisecond, []string{absData}, func() {
				fmt.Fprintln(out, "Change detected, redeploying…")
				deploy()
			}, func(err error) {
				fmt.Fprintf(cmd.ErrOrStderr(), "watching for changes: %v (redeploying to be safe)\n", err)
			})
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&dir, "dir", ".", "project folder (with serverless.yml)")
	cmd.Flags().StringVar(&stage, "stage", "", "stage (default: provider.stage or dev)")
	cmd.Flags().BoolVar(&noWatch, "no-watch", false, "do not redeploy on file changes")
	return cmd
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n  ")
}

func printDeployment(out io.Writer, d *server.Deployment, gatewayURL string, took time.Duration) {
	fmt.Fprintf(out, "Deployed %s (stage %s) in %s\n", d.Service, d.Stage, took.Round(time.Millisecond))
	for _, w := range d.Warnings {
		fmt.Fprintf(out, "  warning: %s\n", w)
	}
	for _, fn := range d.Functions {
		fmt.Fprintf(out, "  %s (%s)\n", fn.Key, fn.Name)
		for _, r := range fn.Routes {
			method, path, _ := strings.Cut(r, " ")
			if path == "*" {
				path = "/{proxy+}"
			}
			fmt.Fprintf(out, "    %-6s %s%s\n", method, gatewayURL, path)
		}
	}
}

// stemCellsOption maps the flag to server.Options.StemCells, where 0 means
// the default and a negative number none.
func stemCellsOption(n int) int {
	if n <= 0 {
		return -1
	}
	return n
}

func iamBanner(mode string) string {
	if mode == "soft" {
		return "soft (calls the caller's role does not allow are logged and let through; see `cloudlet iam report`)"
	}
	return "enforce (functions get only what their role allows; see `cloudlet iam report`)"
}
