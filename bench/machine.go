package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// machine is what the report says about where and on what it ran.
type machine struct {
	date, commit, dirty      string
	nproc                    int
	memory, kernel           string
	node, python, pythonPath string
	goVersion, wrk           string
	loadBefore               string
}

// loadAverage is /proc/loadavg's 1, 5 and 15 minute figures: other work on a
// shared machine shows there.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func describeMachine(ctx context.Context, root string) machine {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	m := machine{date: time.Now().Format("2006-01-02 15:04 MST"), nproc: runtime.NumCPU(), loadBefore: loadAverage()}
	m.commit, _ = output(ctx, toolEnv(), root, "git", "rev-parse", "--short", "HEAD")
	if st, err := output(ctx, toolEnv(), root, "git", "status", "--porcelain"); err == nil && st != "" {
		m.dirty = " (working tree has uncommitted changes)"
	}
	if n, err := output(ctx, baseEnv, "", "nproc"); err == nil {
		fmt.Sscan(n, &m.nproc)
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				var kb float64
				fmt.Sscan(strings.TrimSpace(v), &kb)
				m.memory = fmt.Sprintf("%.1f GiB", kb/(1<<20))
			}
		}
	}
	m.kernel, _ = output(ctx, baseEnv, "", "uname", "-r")
	m.node, _ = output(ctx, baseEnv, "", "node", "--version")
	m.pythonPath = pythonPath()
	if v, err := output(ctx, baseEnv, "", m.pythonPath, "--version"); err == nil {
		m.python = strings.TrimPrefix(v, "Python ")
	}
	if v, err := output(ctx, toolEnv(), root, "go", "env", "GOVERSION"); err == nil {
		m.goVersion = v
	} else {
		m.goVersion = runtime.Version()
	}
	m.wrk = wrkVersion()
	return m
}

// pythonPath is the interpreter Cloudlet runs python3.11 with: the system's
// python3.11 before any other on PATH (pyenv shims cost milliseconds a start).
func pythonPath() string {
	for _, p := range []string{"/usr/bin/python3.11", "/usr/local/bin/python3.11", "/usr/bin/python3"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "python3"
}

// findRoot walks up from the working directory to the module's go.mod.
func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(b), "module github.com/cloudlet/cloudlet\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run from inside the Cloudlet checkout (no go.mod of github.com/cloudlet/cloudlet above the working directory)")
		}
		dir = parent
	}
}
