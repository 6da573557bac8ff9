package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

const helloWorld = "Hello, World!"

// run does the whole benchmark and writes the report.
func run(ctx context.Context, cfg config) error {
	root, err := findRoot()
	if err != nil {
		return err
	}
	benchDir := filepath.Join(root, "bench")
	resultsDir := filepath.Join(benchDir, "results")
	if err := os.MkdirAll(resultsDir, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "cloudlet-bench-")
	if err == nil {
		// As root, instances run as a user of their own: without the
		// sandbox (part c's third platform) they reach the projects here by
		// their paths.
		err = os.Chmod(tmp, 0o755)
	}
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	if err := ensureWrk(ctx); err != nil {
		return err
	}
	rep := &report{cfg: cfg, machine: describeMachine(ctx, root)}
	rep.command = "go run ./bench " + strings.Join(os.Args[1:], " ")

	// Builds, outside the measurements.
	goProject := filepath.Join(tmp, "go-project")
	goCeiling := filepath.Join(tmp, "gohttp")
	if cfg.parts["b"] || cfg.parts["c"] {
		progress("building examples/go-hello and the Go ceiling")
		if err := os.MkdirAll(goProject, 0o755); err != nil {
			return err
		}
		yml, err := os.ReadFile(filepath.Join(benchDir, "projects", "go", "serverless.yml"))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(goProject, "serverless.yml"), yml, 0o644); err != nil {
			return err
		}
		for _, b := range [][2]string{{filepath.Join(goProject, "bootstrap"), "./examples/go-hello"}, {goCeiling, "./bench/ceiling/gohttp"}} {
			if _, err := output(ctx, toolEnv("CGO_ENABLED=0"), root, "go", "build", "-o", b[0], b[1]); err != nil {
				return err
			}
		}
		rep.commands = append(rep.commands,
			"CGO_ENABLED=0 go build -o <tmp>/go-project/bootstrap ./examples/go-hello   # + bench/projects/go/serverless.yml",
			"CGO_ENABLED=0 go build -o <tmp>/gohttp ./bench/ceiling/gohttp")
	}
	peerDir := filepath.Join(benchDir, "peer")
	if cfg.parts["d"] {
		if err := ensurePeer(ctx, peerDir); err != nil {
			return fmt.Errorf("install serverless-offline (or run with -skip-peer): %w", err)
		}
		rep.peer = peerVersions(peerDir)
	}

	// The platforms: Cloudlet as `cloudlet up` runs it (sandboxed, stem
	// cells), the same without stem cells (parts c and e), and without the
	// sandbox (part f).
	p, err := startCloudlet(filepath.Join(tmp, "cloudlet-data"), filepath.Join(resultsDir, "cloudlet.log"), platformOpts{name: "stem cells"})
	if err != nil {
		return err
	}
	defer p.close()
	progress("cloudlet gateway at %s", p.gw)
	var noStem, plain *platform
	if cfg.parts["c"] || cfg.parts["e"] || cfg.parts["g"] {
		if noStem, err = startCloudlet(filepath.Join(tmp, "cloudlet-data-nostem"), filepath.Join(resultsDir, "cloudlet-nostem.log"), platformOpts{name: "no stem cells", stemCells: -1}); err != nil {
			return err
		}
		defer noStem.close()
	}
	if cfg.parts["c"] || cfg.parts["f"] {
		if plain, err = startCloudlet(filepath.Join(tmp, "cloudlet-data-plain"), filepath.Join(resultsDir, "cloudlet-plain.log"), platformOpts{name: "no sandbox", plain: true}); err != nil {
			return err
		}
		defer plain.close()
	}

	warmup := load{name: "warm-up", threads: 2, conns: 16, duration: cfg.warmup}
	loads := []load{
		{name: "c16", threads: 2, conns: 16, duration: cfg.duration},
		{name: "c1", threads: 1, conns: 1, duration: cfg.duration},
	}
	rep.warmupCmd = warmup.command("URL")
	for _, l := range loads {
		rep.loadCmds = append(rep.loadCmds, l.command("URL"))
	}

	if cfg.parts["a"] || cfg.parts["d"] {
		part, err := nodePart(ctx, cfg, p, plain, benchDir, resultsDir, tmp, peerDir, rep, warmup, loads)
		if err != nil {
			return err
		}
		rep.node = part
	}
	if cfg.parts["b"] {
		part, err := goPart(ctx, cfg, p, goProject, goCeiling, rep, warmup, loads)
		if err != nil {
			return err
		}
		rep.gopart = part
		for i := 0; i < cfg.rounds; i++ {
			d, err := goFloor(ctx, filepath.Join(goProject, "bootstrap"), root, 5000)
			if err != nil {
				return fmt.Errorf("(b) the function against a minimal Runtime API: %w", err)
			}
			progress("(b) round %d/%d the function alone: %v per invocation", i+1, cfg.rounds, d)
			rep.goFloor = append(rep.goFloor, d)
		}
	}
	if cfg.parts["c"] {
		rts := []*coldRuntime{
			{name: "Node nodejs20.x", dir: filepath.Join(benchDir, "projects", "node"), path: "/hello", want: helloWorld,
				fnKey: "hello", process: []string{"node", "-e", "0"}},
			{name: "Python python3.11", dir: filepath.Join(benchDir, "projects", "python"), path: "/hello", want: helloWorld,
				fnKey: "hello", process: []string{pythonPath(), "-c", "pass"}},
			{name: "Go provided.al2023", dir: goProject, path: "/hello/1", want: helloWorld,
				fnKey: "hello", process: []string{goCeiling, "-exit"}},
		}
		progress("(c) cold starts: %d per runtime and platform", cfg.cold)
		plats := []*platform{noStem, p}
		if plain != nil && !noSandbox {
			plats = append(plats, plain) // with stem cells, without the sandbox: what the sandbox adds
		}
		if err := runCold(ctx, plats, rts, cfg.cold); err != nil {
			return err
		}
		rep.cold = rts
		for _, pl := range plats {
			rep.coldPlats = append(rep.coldPlats, pl.name)
		}
	}
	if cfg.parts["e"] {
		progress("(e) bursts of %d from zero instances, %d rounds", cfg.burst, cfg.rounds)
		part, err := runBurst(ctx, []*platform{noStem, p}, benchDir, cfg.burst, cfg.rounds)
		if err != nil {
			return err
		}
		rep.burst = part
	}
	if cfg.parts["g"] {
		progress("(g) an I/O-bound handler, one invocation per instance and instanceConcurrency 64")
		part, err := runIO(ctx, cfg, noStem, benchDir, warmup, rep)
		if err != nil {
			return err
		}
		rep.io = part
	}
	if cfg.parts["h"] {
		progress("(h) authorization")
		part, err := runIAM(ctx, p, root, benchDir, cfg.rounds)
		if err != nil {
			return err
		}
		rep.iam = part
	}
	if cfg.parts["i"] {
		progress("(i) DynamoDB")
		part, err := runDynamo(ctx, p, filepath.Join(benchDir, "peer-dynamodb"), tmp, resultsDir, cfg)
		if err != nil {
			return err
		}
		rep.dynamo = part
	}
	if cfg.parts["j"] {
		progress("(j) SQS")
		part, err := runSQS(ctx, p, tmp, resultsDir, cfg)
		if err != nil {
			return err
		}
		rep.sqs = part
	}
	if cfg.parts["l"] {
		progress("(l) S3")
		part, err := runS3(ctx, p, tmp, resultsDir, cfg)
		if err != nil {
			return err
		}
		rep.s3 = part
	}
	if cfg.parts["k"] {
		progress("(k) asynchronous starts")
		part, err := runAsync(ctx, p, benchDir, cfg.rounds)
		if err != nil {
			return err
		}
		rep.async = part
	}
	rep.elapsed = time.Since(began)
	rep.loadAfter = loadAverage()

	text := rep.markdown()
	fmt.Print(text)
	out := filepath.Join(resultsDir, "latest.md")
	if err := os.WriteFile(out, []byte(text), 0o644); err != nil {
		return err
	}
	progress("report written to %s", out)
	return nil
}

// nodePart is (a) and (d): the Node handler behind Cloudlet (one instance,
// default pool), the bare Node server and serverless-offline.
func nodePart(ctx context.Context, cfg config, p, plain *platform, benchDir, resultsDir, tmp, peerDir string, rep *report, warmup load, loads []load) (*warmPart, error) {
	project := filepath.Join(benchDir, "projects", "node")
	if _, err := p.deploy(project); err != nil {
		return nil, err
	}
	part := &warmPart{title: "(a)"}
	if cfg.parts["a"] {
		handler := filepath.Join(project, "handler.js")
		script := filepath.Join(benchDir, "ceiling", "server.js")
		cmd := exec.Command("node", script, handler, "0")
		cmd.Env = baseEnv
		c, port, err := startChild("node ceiling", cmd, true, io.Discard)
		if err != nil {
			return nil, err
		}
		defer c.stop()
		rep.commands = append(rep.commands, "env -i "+strings.Join(baseEnv, " ")+" node bench/ceiling/server.js "+handler+" 0")
		part.targets = append(part.targets,
			target{key: "ceiling", name: "bare Node `http` (ceiling)", url: fmt.Sprintf("http://127.0.0.1:%d/hello", port), want: helloWorld},
			target{key: "cloudlet-1", name: "Cloudlet, 1 instance (a1)", url: p.gw + "/hello-one", want: helloWorld})
	}
	if plain != nil {
		if _, err := plain.deploy(project); err != nil {
			return nil, err
		}
		part.targets = append(part.targets,
			target{key: "plain-1", name: "Cloudlet without sandbox, 1 instance (f)", url: plain.gw + "/hello-one", want: helloWorld})
	}
	part.targets = append(part.targets,
		target{key: "cloudlet-pool", name: "Cloudlet, default pool (a2)", url: p.gw + "/hello", want: helloWorld})
	if cfg.parts["d"] {
		logf, err := os.Create(filepath.Join(resultsDir, "serverless-offline.log"))
		if err != nil {
			return nil, err
		}
		defer logf.Close()
		progress("(d) starting serverless-offline")
		c, base, shown, err := startPeer(ctx, peerDir, project, tmp, logf)
		if err != nil {
			return nil, fmt.Errorf("%w (log: bench/results/serverless-offline.log)", err)
		}
		defer c.stop()
		rep.commands = append(rep.commands, strings.Join(shown, " "))
		part.targets = append(part.targets,
			target{key: "peer", name: "serverless-offline (d)", url: base + "/hello", want: helloWorld})
	}
	if err := checkTargets(ctx, part.targets); err != nil {
		return nil, err
	}
	if err := runRounds(ctx, part, cfg.rounds, warmup, loads); err != nil {
		return nil, err
	}
	return part, nil
}

// goPart is (b): examples/go-hello behind Cloudlet against a bare net/http
// server doing the same.
func goPart(ctx context.Context, cfg config, p *platform, goProject, goCeiling string, rep *report, warmup load, loads []load) (*warmPart, error) {
	if _, err := p.deploy(goProject); err != nil {
		return nil, err
	}
	cmd := exec.Command(goCeiling, "-addr", "127.0.0.1:0")
	cmd.Env = baseEnv
	c, port, err := startChild("go ceiling", cmd, true, io.Discard)
	if err != nil {
		return nil, err
	}
	defer c.stop()
	rep.commands = append(rep.commands, "env -i "+strings.Join(baseEnv, " ")+" <tmp>/gohttp -addr 127.0.0.1:0")
	part := &warmPart{title: "(b)", targets: []target{
		{key: "ceiling", name: "bare Go `net/http` (ceiling)", url: fmt.Sprintf("http://127.0.0.1:%d/hello/1", port), want: helloWorld},
		{key: "cloudlet-1", name: "Cloudlet, 1 instance (b1)", url: p.gw + "/hello-one/1", want: helloWorld},
		{key: "cloudlet-pool", name: "Cloudlet, default pool (b2)", url: p.gw + "/hello/1", want: helloWorld},
	}}
	if err := checkTargets(ctx, part.targets); err != nil {
		return nil, err
	}
	if err := runRounds(ctx, part, cfg.rounds, warmup, loads); err != nil {
		return nil, err
	}
	return part, nil
}
