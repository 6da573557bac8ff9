package main

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// ioPart is part (g): an I/O-bound handler (it waits 20 ms) under 64
// connections, run one invocation per instance (as on Lambda) and with
// instanceConcurrency 64, against a bare Node server running it.
type ioPart struct {
	warm *warmPart
	// after the rounds: instances of each function and the memory of their
	// processes
	instances map[string]int
	memory    map[string]*fnMemory
	names     map[string]string // function key → full name
}

type fnMemory struct {
	processes  int
	rss, pss   float64 // KB, summed over the function's processes (runtime and sandbox)
	cgroupUsed float64 // KB, summed over its instances' cgroups
}

func runIO(ctx context.Context, cfg config, p *platform, benchDir string, warmup load, rep *report) (*ioPart, error) {
	project := filepath.Join(benchDir, "projects", "io")
	names, err := p.deploy(project)
	if err != nil {
		return nil, err
	}
	if err := p.waitNoInstances(30 * time.Second); err != nil {
		return nil, err
	}
	handler := filepath.Join(project, "handler.js")
	cmd := exec.Command("node", filepath.Join(benchDir, "ceiling", "server.js"), handler, "0")
	cmd.Env = baseEnv
	c, port, err := startChild("node ceiling (io)", cmd, true, io.Discard)
	if err != nil {
		return nil, err
	}
	defer c.stop()
	part := &ioPart{warm: &warmPart{title: "(g)", targets: []target{
		{key: "ceiling", name: "bare Node `http` (ceiling)", url: fmt.Sprintf("http://127.0.0.1:%d/io", port), want: helloWorld},
		{key: "one", name: "Cloudlet, one invocation per instance", url: p.gw + "/io", want: helloWorld},
		{key: "multi", name: "Cloudlet, `instanceConcurrency: 64`", url: p.gw + "/io-multi", want: helloWorld},
	}}}
	if err := checkTargets(ctx, part.warm.targets); err != nil {
		return nil, err
	}
	loads := []load{{name: "c64", threads: 2, conns: 64, duration: cfg.duration}}
	rep.commands = append(rep.commands, loads[0].command("URL")+"   # part (g)")
	if err := runRounds(ctx, part.warm, cfg.rounds, warmup, loads); err != nil {
		return nil, err
	}
	part.instances = map[string]int{}
	for _, f := range p.srv.Registry().Stats().Functions {
		part.instances[f.Name] = f.Instances
	}
	part.memory = functionMemory(p)
	part.names = names
	return part, nil
}

// functionMemory sums, per function, the memory of its instances' processes
// on a platform without stem cells (a process's /proc/<pid>/environ then
// names its function).
func functionMemory(p *platform) map[string]*fnMemory {
	out := map[string]*fnMemory{}
	groups, usageFile, _ := instanceGroups(p)
	for _, g := range groups {
		pids := strings.Fields(readString(filepath.Join(g, "cgroup.procs")))
		fn := ""
		for _, pid := range pids {
			for _, kv := range strings.Split(readString("/proc/"+pid+"/environ"), "\x00") {
				if v, ok := strings.CutPrefix(kv, "AWS_LAMBDA_FUNCTION_NAME="); ok {
					fn = v
				}
			}
		}
		if fn == "" {
			continue
		}
		m := out[fn]
		if m == nil {
			m = &fnMemory{}
			out[fn] = m
		}
		m.cgroupUsed += float64(readInt(filepath.Join(g, usageFile))) / 1024
		for _, pid := range pids {
			m.processes++
			m.rss += float64(statusKB("/proc/"+pid+"/status", "VmRSS:"))
			m.pss += float64(statusKB("/proc/"+pid+"/smaps_rollup", "Pss:"))
		}
	}
	return out
}
