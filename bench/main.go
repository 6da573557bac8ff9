// Command bench measures Cloudlet against its ceilings and its peer in one
// run, interleaved, as the team's measuring guide asks: `make bench`, or
// `go run ./bench -h` for the flags. See bench/README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

type config struct {
	rounds   int
	duration time.Duration
	warmup   time.Duration
	cold     int
	burst    int
	parts    map[string]bool
	skipPeer bool
	// part (i)
	ddbDuration time.Duration
	ddbItems    int
}

func main() {
	var cfg config
	var only string
	flag.IntVar(&cfg.rounds, "rounds", 3, "interleaved rounds of the warm comparisons")
	flag.DurationVar(&cfg.duration, "duration", 5*time.Second, "length of each measured wrk run")
	flag.DurationVar(&cfg.warmup, "warmup", time.Second, "wrk warm-up before each target's runs in a round")
	flag.IntVar(&cfg.cold, "cold", 50, "cold starts per runtime and platform")
	flag.IntVar(&cfg.burst, "burst", 50, "requests (so instances) in each burst of part e")
	flag.StringVar(&only, "only", "a,b,c,d,e,f,g,h,i,j,k,l", "parts to run: a (Node warm), b (Go warm), c (cold starts), d (serverless-offline), e (burst from zero, idle memory), f (warm, sandboxed vs not), g (I/O-bound handler, instanceConcurrency), h (authorization), i (DynamoDB vs dynalite), j (SQS vs goaws), k (asynchronous starts: Event invoke, sqs event), l (S3 vs gofakes3 and s3rver)")
	flag.BoolVar(&cfg.skipPeer, "skip-peer", false, "do not install or run the peers (serverless-offline in part d, dynalite in part i, goaws in part j, gofakes3 and s3rver in part l)")
	flag.DurationVar(&cfg.ddbDuration, "ddb-duration", 3*time.Second, "parts (i) and (j): length of each operation's run per target and round")
	flag.IntVar(&cfg.ddbItems, "ddb-items", 1000000, "part (i): items loaded to measure memory as a table grows (0: skip)")
	flag.BoolVar(&noSandbox, "no-sandbox", false, "run Cloudlet's instances as plain processes (to measure the sandbox's cost)")
	flag.Parse()
	cfg.parts = map[string]bool{}
	for _, p := range strings.Split(only, ",") {
		p = strings.TrimSpace(p)
		if !strings.Contains("abcdefghijkl", p) || len(p) != 1 {
			fmt.Fprintf(os.Stderr, "bench: -only %q: parts are a, b, c, d, e, f, g, h, i, j, k and l\n", only)
			os.Exit(2)
		}
		cfg.parts[p] = true
	}
	if cfg.skipPeer {
		delete(cfg.parts, "d")
	}
	if cfg.parts["f"] {
		cfg.parts["a"] = true // f adds a target to a's rounds
	}
	if cfg.rounds < 1 || cfg.cold < 1 || cfg.burst < 1 || cfg.duration < time.Second || cfg.warmup < time.Second {
		fmt.Fprintln(os.Stderr, "bench: -rounds and -cold must be at least 1, -duration and -warmup at least 1s")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, cfg)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

var began = time.Now()

// progress goes to stderr; the report goes to stdout.
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%5.1fs] %s\n", time.Since(began).Seconds(), fmt.Sprintf(format, args...))
}
