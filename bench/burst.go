package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// barrier holds every request to /arrive until n have arrived, then lets
// them all go: part (e) times how long it takes n instances to be serving.
type barrier struct {
	mu         sync.Mutex
	n, arrived int
	first, all time.Time
	open       chan struct{}
}

func (b *barrier) reset(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.n, b.arrived, b.first, b.all, b.open = n, 0, time.Time{}, time.Time{}, make(chan struct{})
}

func (b *barrier) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	b.arrived++
	now := time.Now()
	if b.arrived == 1 {
		b.first = now
	}
	if b.arrived == b.n {
		b.all = now
		close(b.open)
	}
	open := b.open
	b.mu.Unlock()
	select {
	case <-open:
		io.WriteString(w, "open")
	case <-r.Context().Done():
	}
}

// wait waits until the barrier opens and returns the times of the first and
// the last arrival.
func (b *barrier) wait(ctx context.Context, timeout time.Duration) (time.Time, time.Time, error) {
	b.mu.Lock()
	open := b.open
	b.mu.Unlock()
	select {
	case <-open:
	case <-ctx.Done():
		return time.Time{}, time.Time{}, ctx.Err()
	case <-time.After(timeout):
		b.mu.Lock()
		defer b.mu.Unlock()
		return time.Time{}, time.Time{}, fmt.Errorf("only %d of %d arrived within %v", b.arrived, b.n, timeout)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.first, b.all, nil
}

func startBarrier() (*barrier, string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", nil, err
	}
	b := &barrier{}
	b.reset(1)
	srv := &http.Server{Handler: b}
	go srv.Serve(ln)
	return b, "http://" + ln.Addr().String(), func() { srv.Close() }, nil
}

// burstSeries is one target's bursts: milliseconds from the first request
// to the first and to the last arrival at the barrier.
type burstSeries struct {
	firstMs, allMs []float64
	fromStem       []int64 // instances made from stem cells, per burst
}

type burstPart struct {
	n       int
	project string
	order   []string // targets in report order
	series  map[string]*burstSeries
	memory  []*memoryResult
	bareRSS []float64 // part (f) baseline: bare Node processes, KB
}

// runBurst is parts (e) and (f): bursts of n requests at a function with no
// instance, on each platform, interleaved round by round with the baseline
// (n bare Node processes started at once, each arriving at the barrier the
// same way); after the last round, the memory of the n warm instances each
// platform then holds.
func runBurst(ctx context.Context, plats []*platform, benchDir string, n, rounds int) (*burstPart, error) {
	project := filepath.Join(benchDir, "projects", "burst")
	b, url, stop, err := startBarrier()
	if err != nil {
		return nil, err
	}
	defer stop()
	os.Setenv("CLOUDLET_BENCH_BARRIER", url)
	part := &burstPart{n: n, project: project, series: map[string]*burstSeries{}}
	part.order = append(part.order, "bare")
	for _, p := range plats {
		part.order = append(part.order, p.name)
	}
	for _, k := range part.order {
		part.series[k] = &burstSeries{}
	}
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxConnsPerHost: 0, MaxIdleConnsPerHost: n}}
	for r := 0; r < rounds; r++ {
		// The baseline: n bare processes at once.
		b.reset(n)
		t0 := time.Now()
		cmds := make([]*exec.Cmd, n)
		var wg sync.WaitGroup
		for i := range cmds {
			cmds[i] = exec.Command("node", filepath.Join(project, "arrive.js"))
			cmds[i].Env = envWith("BARRIER=" + url)
			cmds[i].SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			wg.Add(1)
			go func(c *exec.Cmd) {
				defer wg.Done()
				if err := c.Start(); err == nil {
					c.Wait()
				}
			}(cmds[i])
		}
		first, all, err := b.wait(ctx, 60*time.Second)
		wg.Wait()
		if err != nil {
			return nil, fmt.Errorf("(e) baseline: %w", err)
		}
		s := part.series["bare"]
		s.firstMs = append(s.firstMs, ms(first.Sub(t0)))
		s.allMs = append(s.allMs, ms(all.Sub(t0)))

		for _, p := range plats {
			names, err := p.deploy(project)
			if err != nil {
				return nil, err
			}
			fn := names["arrive"]
			if err := p.waitNoInstances(30 * time.Second); err != nil {
				return nil, err
			}
			if p.stemCells >= 0 {
				if err := p.waitStemCells(2, 20*time.Second); err != nil {
					return nil, err
				}
			}
			stems := p.stemStarts(fn)
			b.reset(n)
			errs := make(chan error, n)
			t0 := time.Now()
			for i := 0; i < n; i++ {
				go func() {
					resp, err := client.Get(p.gw + "/arrive")
					if err == nil {
						body, _ := io.ReadAll(resp.Body)
						resp.Body.Close()
						if resp.StatusCode != 200 || string(body) != "released" {
							err = fmt.Errorf("%d %s", resp.StatusCode, body)
						}
					}
					errs <- err
				}()
			}
			first, all, err := b.wait(ctx, 60*time.Second)
			for i := 0; i < n; i++ {
				if e := <-errs; e != nil && err == nil {
					err = e
				}
			}
			if err != nil {
				return nil, fmt.Errorf("(e) %s: %w", p.name, err)
			}
			s := part.series[p.name]
			s.firstMs = append(s.firstMs, ms(first.Sub(t0)))
			s.allMs = append(s.allMs, ms(all.Sub(t0)))
			s.fromStem = append(s.fromStem, p.stemStarts(fn)-stems)
			if r == rounds-1 {
				m, err := measureMemory(p)
				if err != nil {
					return nil, err
				}
				part.memory = append(part.memory, m)
			}
		}
		progress("(e) round %d/%d: all %d serving after: %s", r+1, rounds, n, burstLine(part))
	}
	rss, err := bareNodeRSS(ctx, filepath.Join(project, "handler.js"), 10)
	if err != nil {
		return nil, err
	}
	part.bareRSS = rss
	return part, nil
}

func burstLine(p *burstPart) string {
	var parts []string
	for _, k := range p.order {
		s := p.series[k]
		parts = append(parts, fmt.Sprintf("%s %s", k, fmtMs(s.allMs[len(s.allMs)-1])))
	}
	return strings.Join(parts, ", ")
}

// memoryResult is part (f) for one platform: its warm, idle instances.
type memoryResult struct {
	platform  string
	instances int
	cgroupKB  []float64 // memory charged to each instance's cgroup
	runtimeKB []float64 // RSS of the runtime process (node)
	sandboxKB []float64 // RSS of the instance's other processes (bubblewrap)
	// the same processes' proportional set size (shared pages divided among
	// their users) and private (unshared) memory
	runtimePSS, sandboxPSS, sandboxUSS []float64
}

// measureMemory reads the cgroup and the processes of every instance of p
// (its stem cells, which have the stem limit, excluded).
func measureMemory(p *platform) (*memoryResult, error) {
	m := &memoryResult{platform: p.name}
	groups, usageFile, limitFile := instanceGroups(p)
	for _, g := range groups {
		limit := readInt(filepath.Join(g, limitFile))
		if limit >= 10240<<20 {
			continue // a stem cell
		}
		pids := strings.Fields(readString(filepath.Join(g, "cgroup.procs")))
		if len(pids) == 0 {
			continue
		}
		m.instances++
		m.cgroupKB = append(m.cgroupKB, float64(readInt(filepath.Join(g, usageFile)))/1024)
		var rt, sb, rtPSS, sbPSS, sbUSS float64
		for _, pid := range pids {
			comm := strings.TrimSpace(readString("/proc/" + pid + "/comm"))
			rss := float64(statusKB("/proc/"+pid+"/status", "VmRSS:"))
			rollup := "/proc/" + pid + "/smaps_rollup"
			pss := float64(statusKB(rollup, "Pss:"))
			uss := float64(statusKB(rollup, "Private_Clean:") + statusKB(rollup, "Private_Dirty:"))
			if comm == "node" {
				rt, rtPSS = rt+rss, rtPSS+pss
			} else {
				sb, sbPSS, sbUSS = sb+rss, sbPSS+pss, sbUSS+uss
			}
		}
		m.runtimeKB = append(m.runtimeKB, rt)
		m.sandboxKB = append(m.sandboxKB, sb)
		m.runtimePSS = append(m.runtimePSS, rtPSS)
		m.sandboxPSS = append(m.sandboxPSS, sbPSS)
		m.sandboxUSS = append(m.sandboxUSS, sbUSS)
	}
	return m, nil
}

// instanceGroups lists the memory cgroups of p's instances (and stem
// cells), and names their usage and limit files (cgroup v1 or v2).
func instanceGroups(p *platform) (groups []string, usageFile, limitFile string) {
	root := filepath.Join("/sys/fs/cgroup/memory", p.cgroup)
	usageFile, limitFile = "memory.usage_in_bytes", "memory.limit_in_bytes"
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		root = filepath.Join("/sys/fs/cgroup", p.cgroup)
		usageFile, limitFile = "memory.current", "memory.max"
	}
	groups, _ = filepath.Glob(filepath.Join(root, "i-*"))
	return groups, usageFile, limitFile
}

// bareNodeRSS starts n bare Node processes that load the handler and wait,
// and returns the RSS of each once it has loaded it.
func bareNodeRSS(ctx context.Context, handler string, n int) ([]float64, error) {
	var out []float64
	for i := 0; i < n; i++ {
		cmd := exec.CommandContext(ctx, "node", "-e", "require("+strconv.Quote(handler)+"); console.log('ready'); setInterval(() => {}, 1 << 30)")
		cmd.Env = baseEnv
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		if err := start(cmd); err != nil {
			return nil, err
		}
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		rss := statusKB("/proc/"+strconv.Itoa(cmd.Process.Pid)+"/status", "VmRSS:")
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
		if strings.TrimSpace(line) != "ready" {
			return nil, fmt.Errorf("bare node: %q", line)
		}
		out = append(out, float64(rss))
	}
	sort.Float64s(out)
	return out, nil
}

func readString(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

func readInt(p string) int64 {
	v, _ := strconv.ParseInt(strings.TrimSpace(readString(p)), 10, 64)
	return v
}

// statusKB reads a "Key:   N kB" line of /proc/<pid>/status.
func statusKB(p, key string) int64 {
	for _, line := range strings.Split(readString(p), "\n") {
		if v, ok := strings.CutPrefix(line, key); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}
