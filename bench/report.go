package main

import (
	"fmt"
	"strings"
	"time"
)

// report collects what the run measured and renders it as markdown.
type report struct {
	cfg       config
	machine   machine
	command   string
	commands  []string
	warmupCmd string
	loadCmds  []string
	peer      string
	node      *warmPart
	gopart    *warmPart
	goFloor   []time.Duration // the Go function alone, per invocation, per round (floor.go)
	cold      []*coldRuntime
	coldPlats []string
	burst     *burstPart
	io        *ioPart
	iam       *iamPart
	dynamo    *dynamoPart
	sqs       *sqsPart
	async     *asyncPart
	s3        *s3Part
	elapsed   time.Duration
	loadAfter string
}

func (r *report) markdown() string {
	var b strings.Builder
	m := r.machine
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }

	w("# Cloudlet benchmark — %s\n\n", m.date)
	w("- Commit: `%s`%s\n", m.commit, m.dirty)
	w("- Machine: %d CPUs (`nproc`), %s memory, kernel %s; node %s, Python %s (`%s`), %s, %s\n",
		m.nproc, m.memory, m.kernel, m.node, m.python, m.pythonPath, m.goVersion, m.wrk)
	if r.peer != "" {
		w("- Peer: %s (bench/peer/package-lock.json)\n", r.peer)
	}
	w("- Run: `%s` (`make bench` runs `go run ./bench`), %d rounds, took %s\n", strings.TrimSpace(r.command), r.cfg.rounds, r.elapsed.Round(time.Second))
	w("- Load average (1, 5, 15 min) before the run: %s; after: %s (the machine is shared: other work shows here)\n\n", m.loadBefore, r.loadAfter)

	w("## Method\n\n")
	w("- Load: `wrk` with keep-alive connections (HTTP/1.1, wrk's default). Heavy: `%s` (2 threads, 16 connections). ", r.loadCmds[0])
	w("Light: `%s` (1 thread, 1 connection: wrk needs a connection per thread). ", r.loadCmds[1])
	w("Before each target's runs in every round, a warm-up `%s`, not counted.\n", r.warmupCmd)
	w("- Interleaved: every round runs each target in turn (A B C … A B C …); figures are the median [min–max] over rounds; ")
	w("ratios are computed round by round, pair by pair, then summarised the same way.\n")
	w("- %d CPUs: wrk runs on the same CPUs as the server it loads and takes a share of them, the same for every target.\n", m.nproc)
	w("- Cloudlet runs inside the bench process through `internal/server` (as `cloudlet up` runs it), all listeners on 127.0.0.1, random ports. ")
	w("REST (`http`) routes; the gateway answers `/hello` and `/dev/hello`. \"1 instance\" is `reservedConcurrency: 1`; the default pool starts an instance per concurrent request, up to the account concurrency (FitConcurrency).\n")
	w("- Environments: every measured child process (ceilings, baselines, wrk) gets only `%s`; Cloudlet gives its instances the same plus the Lambda variables. ", strings.Join(baseEnv, " "))
	w("serverless-offline gets that plus `HOME=<tmp>` and `SLS_TELEMETRY_DISABLED=1 SLS_NOTIFICATIONS_MODE=off`.\n")
	w("- Durability: nothing here is durable. Cloudlet appends function logs (START/END/REPORT and the function's output) to files in its data directory, buffered and not fsynced.\n\n")

	w("Commands (`<tmp>` is a temporary folder; URL as in the tables' targets):\n\n```\n")
	for _, c := range r.commands {
		w("%s\n", c)
	}
	w("%s   # warm-up\n", r.warmupCmd)
	for _, c := range r.loadCmds {
		w("%s\n", c)
	}
	w("```\n\n")

	if r.node != nil {
		w("## (a) Node handler, warm, and (d) serverless-offline\n\n")
		w("`nodejs20.x`, `exports.handler = async (event) => ({statusCode: 200, body: JSON.stringify({message: \"Hello, \" + (event.queryStringParameters?.name || \"World\") + \"!\"})})`, GET /hello. ")
		w("The ceiling runs the same handler function inside a bare Node `http` server. serverless-offline serves the same serverless.yml and handler.js (it has no `reservedConcurrency`; it is measured on the default-pool route).\n\n")
		r.warmTables(&b, r.node)
	}
	if r.gopart != nil {
		w("## (b) Go function (aws-lambda-go), warm\n\n")
		w("`examples/go-hello` built as `bootstrap`, `provided.al2023` (HTTP Lambda Runtime API), GET /hello/1. ")
		w("The ceiling is a bare Go `net/http` server doing the same: one log line to stdout, the same JSON.\n\n")
		r.warmTables(&b, r.gopart)
		if len(r.goFloor) > 0 {
			us := make([]float64, len(r.goFloor))
			for i, d := range r.goFloor {
				us[i] = float64(d.Microseconds())
			}
			med := median(us)
			lo, hi := minMax(us)
			w("The function alone — the same `bootstrap`, served by a minimal Runtime API in the bench (`bench/floor.go`: one goroutine on a locked thread pinned with the function to one CPU, no gateway, nothing of Cloudlet), the gateway's event — takes **%.0f µs** per invocation [%.0f–%.0f] (%.2fk/s): what aws-lambda-go itself costs per invocation here.\n\n",
				med, lo, hi, 1000/med)
		}
	}
	if r.cold != nil {
		r.coldTable(&b)
	}
	if r.burst != nil {
		r.burstTables(&b)
	}
	if r.io != nil {
		r.ioTables(&b)
	}
	if r.iam != nil {
		r.iamTables(w)
	}
	if r.dynamo != nil {
		r.dynamoTables(&b)
	}
	if r.sqs != nil {
		r.sqsTables(&b)
	}
	if r.s3 != nil {
		r.s3Tables(&b)
	}
	if r.async != nil {
		r.asyncTables(w)
	}
	if notes := r.notes(); len(notes) > 0 {
		w("## Notes\n\n")
		for _, n := range notes {
			w("- %s\n", n)
		}
		w("\n")
	}
	return b.String()
}

func (r *report) warmTables(b *strings.Builder, p *warmPart) {
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	ceil, hasCeil := p.results["ceiling"]
	peer, hasPeer := p.results["peer"]
	for _, l := range []string{"c16", "c1"} {
		if l == "c16" {
			w("Heavy load, 16 connections, 2 wrk threads:\n\n")
		} else {
			w("Light load, 1 connection, 1 wrk thread:\n\n")
		}
		head := "| server | req/s median [min–max] | p50 | p99 | req/s × ceiling | p50 × ceiling |"
		rule := "|---|---|---|---|---|---|"
		if hasPeer {
			head += " req/s × serverless-offline |"
			rule += "---|"
		}
		w("%s errors |\n%s---|\n", head, rule)
		for _, t := range p.targets {
			s := p.results[t.key]
			xCeil, xP50, xPeer := "–", "–", "–"
			if hasCeil && t.key != "ceiling" {
				xCeil = spread(ratios(s.rps(l), ceil.rps(l)), fmtRatio)
				xP50 = spread(ratios(s.p50(l), ceil.p50(l)), fmtRatio)
			}
			w("| %s | %s | %s | %s | %s | %s |", t.name, spread(s.rps(l), fmtRPS),
				spread(s.p50(l), fmtMs), spread(s.p99(l), fmtMs), xCeil, xP50)
			if hasPeer {
				if t.key != "peer" {
					xPeer = spread(ratios(s.rps(l), peer.rps(l)), fmtRatio)
				}
				w(" %s |", xPeer)
			}
			w(" %d |\n", s.errors(l))
		}
		w("\n")
	}
	w("Per round, req/s (heavy; light):\n\n")
	for _, t := range p.targets {
		s := p.results[t.key]
		w("- %s: %s; %s\n", t.name, joinF(s.rps("c16"), fmtRPS), joinF(s.rps("c1"), fmtRPS))
	}
	w("\n")
}

func joinF(xs []float64, f func(float64) string) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = f(x)
	}
	return strings.Join(parts, ", ")
}

func (r *report) coldTable(b *strings.Builder) {
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	n := 0
	if len(r.cold) > 0 {
		n = len(r.cold[0].startMs)
	}
	w("## (c) Cold starts, with and without stem cells\n\n")
	w("Platforms: sandboxed without stem cells (`--stem-cells 0`); sandboxed with stem cells (as `cloudlet up` runs); with stem cells but without the sandbox (`--no-sandbox`), to show what the sandbox adds. ")
	w("%d cold starts per runtime and platform (after one uncounted), interleaved sample by sample: baseline, then each platform. Before each, the project is redeployed (a deploy retires every instance) and the bench waits until `Registry().Instances() == 0` ", n)
	w("and until every platform with stem cells has all of them started (a cell starting on another platform would take CPU from the cold start); the figure is the client's time from sending GET to the end of the response, on a new connection. ")
	w("Init Duration is what Cloudlet logs in the REPORT line. The baseline is the bare process starting and exiting with the same clean environment ")
	w("(`node -e 0`, `python3.11 -c pass`, a static Go binary that exits at once), measured just before each sample. Percentiles by nearest rank. ")
	w("Go (`provided.al2023`, HTTP Runtime API) uses exec stem cells: a pre-started sandboxed process that execs the function's `bootstrap`.\n\n")
	w("| runtime | platform | from a stem cell | cold start median | p90 | p99 | min–max | Init Duration median | process start median (baseline) | cold start × baseline |\n")
	w("|---|---|---|---|---|---|---|---|---|---|\n")
	for _, rt := range r.cold {
		for _, pn := range r.coldPlats {
			s := rt.series[pn]
			if s == nil || len(s.coldMs) == 0 {
				continue
			}
			lo, hi := minMax(s.coldMs)
			w("| %s | %s | %d/%d | %s | %s | %s | %s–%s | %s | %s | %s |\n", rt.name, pn, s.fromStem, len(s.coldMs),
				fmtMs(median(s.coldMs)), fmtMs(percentile(s.coldMs, 90)), fmtMs(percentile(s.coldMs, 99)),
				fmtMs(lo), fmtMs(hi), fmtMs(median(s.initMs)), fmtMs(median(rt.startMs)),
				spread(ratios(s.coldMs, rt.startMs), fmtRatio))
		}
	}
	w("\n")
}

func (r *report) burstTables(b *strings.Builder) {
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p := r.burst
	w("## (e) Burst from zero: %d instances\n\n", p.n)
	w("`%s` (Node): each invocation GETs the bench's barrier, which answers nobody until %d requests have arrived, so a burst of %d concurrent requests (new connections) at a function with no instance is served only once %d instances run at once. ", "bench/projects/burst", p.n, p.n, p.n)
	w("Figures: time from the burst to the first and to the %dth arrival at the barrier; median [min–max] over %d rounds. ", p.n, len(p.series["bare"].allMs))
	w("Baseline: %d bare Node processes (`node bench/projects/burst/arrive.js`, the same handler) started at once, timed the same way.\n\n", p.n)
	w("| target | first serving | all %d serving | × baseline (all) | instances from stem cells, per burst |\n|---|---|---|---|---|\n", p.n)
	base := p.series["bare"]
	for _, k := range p.order {
		s := p.series[k]
		x, stems := "–", "–"
		if k != "bare" {
			x = spread(ratios(s.allMs, base.allMs), fmtRatio)
			var parts []string
			for _, v := range s.fromStem {
				parts = append(parts, fmt.Sprint(v))
			}
			stems = strings.Join(parts, ", ")
		}
		name := "Cloudlet, " + k
		if k == "bare" {
			name = fmt.Sprintf("%d bare `node` processes (baseline)", p.n)
		}
		w("| %s | %s | %s | %s | %s |\n", name, spread(s.firstMs, fmtMs), spread(s.allMs, fmtMs), x, stems)
	}
	w("\n## (e) Idle memory per warm instance\n\n")
	w("After the last burst, each platform holds %d warm, idle instances. Per instance: the memory charged to its cgroup, the RSS of its runtime process (`node`), and the RSS of its other processes (bubblewrap's two); PSS (shared pages divided among the processes sharing them) and private memory from `/proc/<pid>/smaps_rollup`. RSS counts the shared libraries and the node binary in full in every instance. ", p.n)
	w("Baseline: a bare `node` process that has loaded the same handler, RSS, %d processes. Medians [min–max] over instances, in MB (1 MB = 1024 KB).\n\n", len(p.bareRSS))
	w("| | instances | cgroup memory | runtime RSS | sandbox processes RSS | total RSS | total RSS − bare node | runtime PSS | sandbox processes PSS | sandbox processes private |\n|---|---|---|---|---|---|---|---|---|---|\n")
	mb := func(kb float64) string { return fmt.Sprintf("%.1f", kb/1024) }
	spreadMB := func(xs []float64) string { return spread(xs, mb) }
	bare := median(p.bareRSS)
	w("| bare `node` (baseline) | %d | – | %s | – | %s | – | – | – | – |\n", len(p.bareRSS), spreadMB(p.bareRSS), spreadMB(p.bareRSS))
	for _, m := range p.memory {
		total := make([]float64, len(m.runtimeKB))
		over := make([]float64, len(m.runtimeKB))
		for i := range total {
			total[i] = m.runtimeKB[i] + m.sandboxKB[i]
			over[i] = total[i] - bare
		}
		w("| Cloudlet, %s | %d | %s | %s | %s | %s | %s | %s | %s | %s |\n", m.platform, m.instances, spreadMB(m.cgroupKB), spreadMB(m.runtimeKB), spreadMB(m.sandboxKB), spreadMB(total), spreadMB(over),
			spreadMB(m.runtimePSS), spreadMB(m.sandboxPSS), spreadMB(m.sandboxUSS))
	}
	w("\n")
}

func (r *report) ioTables(b *strings.Builder) {
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p := r.io
	w("## (g) I/O-bound handler: one invocation per instance, or 64 at once\n\n")
	w("`bench/projects/io`: the handler waits 20 ms (as on a database or an API) and answers; `io` runs one invocation per instance, as on Lambda; `ioMulti` has `instanceConcurrency: 64`. ")
	w("Load: 64 connections, 2 wrk threads, on the sandboxed server without stem cells (so that each process's environment names its function). ")
	w("Ceiling: a bare Node `http` server running the handler. Instances and memory are read after the rounds (idle instances stay for the idle timeout).\n\n")
	w("| server | req/s median [min–max] | p50 | p99 | req/s × ceiling | errors |\n|---|---|---|---|---|---|\n")
	ceil := p.warm.results["ceiling"]
	for _, t := range p.warm.targets {
		s := p.warm.results[t.key]
		x := "–"
		if t.key != "ceiling" {
			x = spread(ratios(s.rps("c64"), ceil.rps("c64")), fmtRatio)
		}
		w("| %s | %s | %s | %s | %s | %d |\n", t.name, spread(s.rps("c64"), fmtRPS), spread(s.p50("c64"), fmtMs), spread(s.p99("c64"), fmtMs), x, s.errors("c64"))
	}
	w("\n| function | instances (slots) | processes | RSS, all processes | PSS, all processes | cgroup memory, all instances |\n|---|---|---|---|---|---|\n")
	for _, key := range []string{"io", "ioMulti"} {
		name := p.names[key]
		m := p.memory[name]
		if m == nil {
			m = &fnMemory{}
		}
		w("| `%s` | %d | %d | %.1f MB | %.1f MB | %.1f MB |\n", key, p.instances[name], m.processes, m.rss/1024, m.pss/1024, m.cgroupUsed/1024)
	}
	w("\n")
}

// notes lists what a reader must know to trust the tables.
func (r *report) notes() []string {
	var notes []string
	for _, p := range []*warmPart{r.node, r.gopart} {
		if p == nil {
			continue
		}
		for _, t := range p.targets {
			for _, l := range []string{"c16", "c1"} {
				if n := p.results[t.key].errors(l); n > 0 {
					notes = append(notes, fmt.Sprintf("%s %s: %s had %d non-2xx responses or socket errors; its figures include them.", p.title, l, t.name, n))
				}
			}
		}
	}
	return notes
}
