package main

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/cloudlet/cloudlet/internal/server"
)

// platform is Cloudlet, started in this process through the real server
// package, as `cloudlet up` starts it.
type platform struct {
	name      string // how the report calls it
	srv       *server.Server
	gw        string
	log       *os.File
	cgroup    string // the cgroup parent of its instances
	stemCells int    // as in platformOpts
}

// noSandbox runs instances unisolated (-no-sandbox).
var noSandbox bool

// platformOpts say how one of the bench's Cloudlet servers runs.
type platformOpts struct {
	name      string
	stemCells int  // -1: none; 0: the default
	plain     bool // no sandbox, whatever -no-sandbox says
}

func startCloudlet(dataDir, logPath string, po platformOpts) (*platform, error) {
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cgroup := "cloudlet-bench-" + strings.ReplaceAll(po.name, " ", "-")
	srv, err := server.New(server.Options{
		DataDir:      dataDir,
		GatewayAddr:  "127.0.0.1:0",
		APIAddr:      "127.0.0.1:0",
		NoSandbox:    noSandbox || po.plain,
		StemCells:    po.stemCells,
		CgroupParent: cgroup,
		Logger:       slog.New(slog.NewTextHandler(lf, &slog.HandlerOptions{Level: slog.LevelInfo})),
	})
	if err != nil {
		lf.Close()
		return nil, fmt.Errorf("cloudlet: %w", err)
	}
	if err := srv.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("cloudlet: %w", err)
	}
	if ok, why := srv.Registry().Isolated(); ok {
		progress("cloudlet (%s): instances sandboxed (bubblewrap, cgroups)", po.name)
	} else {
		progress("cloudlet (%s): instances NOT sandboxed: %s", po.name, why)
	}
	return &platform{name: po.name, srv: srv, gw: srv.GatewayURL(), log: lf, cgroup: cgroup, stemCells: po.stemCells}, nil
}

// stemStarts counts the instances of function made from stem cells.
func (p *platform) stemStarts(function string) int64 {
	for _, f := range p.srv.Registry().Stats().Functions {
		if f.Name == function {
			return f.StemStarts
		}
	}
	return 0
}

// waitStemCells waits until at least n stem cells are ready.
func (p *platform) waitStemCells(n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for p.srv.Registry().Stats().StemCellsReady < n {
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: fewer than %d stem cells ready after %v", p.name, n, timeout)
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

func (p *platform) close() {
	if p == nil {
		return
	}
	p.srv.Close()
	p.log.Close()
}

// deploy deploys the project in dir at stage dev and returns the full name
// of each function by its key in serverless.yml.
func (p *platform) deploy(dir string) (map[string]string, error) {
	d, err := p.srv.Deploy(dir, "dev")
	if err != nil {
		return nil, fmt.Errorf("deploy %s: %w", dir, err)
	}
	names := make(map[string]string, len(d.Functions))
	for _, f := range d.Functions {
		names[f.Key] = f.Name
	}
	return names, nil
}

// waitNoInstances polls until no instance runs (a deploy retires every
// instance; they stop once their process has exited).
func (p *platform) waitNoInstances(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for p.srv.Registry().Instances() != 0 {
		if time.Now().After(deadline) {
			return fmt.Errorf("cloudlet still has %d instances %v after a deploy", p.srv.Registry().Instances(), timeout)
		}
		time.Sleep(200 * time.Microsecond)
	}
	return nil
}

// initDuration finds, among the function's log lines after seq, the REPORT
// line of a cold start and returns its Init Duration in milliseconds.
func (p *platform) initDuration(function string, after uint64, timeout time.Duration) (float64, error) {
	deadline := time.Now().Add(timeout)
	for {
		lines, changed := p.srv.Logs().Since(function, after)
		for _, ln := range lines {
			if !strings.HasPrefix(ln.Text, "REPORT RequestId: ") {
				continue
			}
			_, v, ok := strings.Cut(ln.Text, "\tInit Duration: ")
			if !ok {
				return 0, fmt.Errorf("%s: the first REPORT after a deploy has no Init Duration: %q", function, ln.Text)
			}
			var ms float64
			if _, err := fmt.Sscanf(v, "%g ms", &ms); err != nil {
				return 0, fmt.Errorf("%s: cannot read Init Duration in %q", function, ln.Text)
			}
			return ms, nil
		}
		if len(lines) > 0 {
			after = lines[len(lines)-1].Seq
		}
		select {
		case <-changed:
		case <-time.After(time.Until(deadline)):
			return 0, fmt.Errorf("%s: no REPORT line within %v", function, timeout)
		}
	}
}
