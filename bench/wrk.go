package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

const wrkPath = "/usr/bin/wrk"

// load is one wrk setting: threads and keep-alive connections.
type load struct {
	name     string // "c16", "c1"
	threads  int
	conns    int
	duration time.Duration
	script   string // a Lua script (-s), or none
}

func (l load) args(url string) []string {
	args := []string{"-t" + strconv.Itoa(l.threads), "-c" + strconv.Itoa(l.conns),
		"-d" + wrkDuration(l.duration), "--latency"}
	if l.script != "" {
		args = append(args, "-s", l.script)
	}
	return append(args, url)
}

// command is the exact command line, for the report.
func (l load) command(url string) string {
	return "wrk " + strings.Join(l.args(url), " ")
}

func wrkDuration(d time.Duration) string {
	if d%time.Second == 0 {
		return strconv.Itoa(int(d/time.Second)) + "s"
	}
	return strconv.Itoa(int(d/time.Millisecond)) + "ms"
}

// wrkResult is what one wrk run measured.
type wrkResult struct {
	rps      float64
	p50, p99 time.Duration
	requests int64
	non2xx   int64
	sockErrs int64
}

func (r wrkResult) errors() int64 { return r.non2xx + r.sockErrs }

var (
	reRPS      = regexp.MustCompile(`(?m)^Requests/sec:\s+([0-9.]+)`)
	rePct      = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s|m)\s*$`)
	reRequests = regexp.MustCompile(`(?m)^\s+([0-9]+) requests in `)
	reNon2xx   = regexp.MustCompile(`(?m)^\s+Non-2xx or 3xx responses:\s+([0-9]+)`)
	reSockErrs = regexp.MustCompile(`(?m)^\s+Socket errors: connect ([0-9]+), read ([0-9]+), write ([0-9]+), timeout ([0-9]+)`)
)

// runWrk runs wrk against url and parses its report.
func runWrk(ctx context.Context, l load, url string) (wrkResult, error) {
	ctx, cancel := context.WithTimeout(ctx, l.duration+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, wrkPath, l.args(url)...)
	cmd.Env = baseEnv
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := start(cmd); err != nil {
		return wrkResult{}, err
	}
	if err := cmd.Wait(); err != nil {
		return wrkResult{}, fmt.Errorf("%s: %w: %s%s", l.command(url), err, out.String(), errOut.String())
	}
	r, err := parseWrk(out.String())
	if err != nil {
		return r, fmt.Errorf("%s: %w\n%s", l.command(url), err, out.String())
	}
	return r, nil
}

func parseWrk(s string) (wrkResult, error) {
	var r wrkResult
	m := reRPS.FindStringSubmatch(s)
	if m == nil {
		return r, fmt.Errorf("no Requests/sec in wrk's output")
	}
	r.rps, _ = strconv.ParseFloat(m[1], 64)
	for _, m := range rePct.FindAllStringSubmatch(s, -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second, "m": time.Minute}[m[3]]
		d := time.Duration(v * float64(unit))
		if m[1] == "50" {
			r.p50 = d
		} else {
			r.p99 = d
		}
	}
	if r.p50 == 0 || r.p99 == 0 {
		return r, fmt.Errorf("no latency distribution in wrk's output (run with --latency)")
	}
	if m := reRequests.FindStringSubmatch(s); m != nil {
		r.requests, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if m := reNon2xx.FindStringSubmatch(s); m != nil {
		r.non2xx, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if m := reSockErrs.FindStringSubmatch(s); m != nil {
		for _, v := range m[1:] {
			n, _ := strconv.ParseInt(v, 10, 64)
			r.sockErrs += n
		}
	}
	return r, nil
}

// ensureWrk installs the Debian package wrk when it is missing and we are root.
func ensureWrk(ctx context.Context) error {
	if _, err := os.Stat(wrkPath); err == nil {
		return nil
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("%s is missing: install the Debian package wrk (apt-get install wrk)", wrkPath)
	}
	progress("installing wrk with apt-get")
	env := toolEnv("DEBIAN_FRONTEND=noninteractive")
	if _, err := output(ctx, env, "", "apt-get", "install", "-y", "-q", "wrk"); err != nil {
		if _, err := output(ctx, env, "", "apt-get", "update", "-q"); err != nil {
			return err
		}
		if _, err := output(ctx, env, "", "apt-get", "install", "-y", "-q", "wrk"); err != nil {
			return err
		}
	}
	return nil
}

// wrkVersion is wrk's banner, e.g. "wrk debian/4.1.0-3+b2 [epoll]".
func wrkVersion() string {
	cmd := exec.Command(wrkPath, "-v")
	cmd.Env = baseEnv
	b, _ := cmd.CombinedOutput() // wrk -v exits 1
	line, _, _ := strings.Cut(string(b), "\n")
	line, _, _ = strings.Cut(line, " Copyright")
	return strings.TrimSpace(line)
}
