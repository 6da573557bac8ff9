package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"time"

	"github.com/cloudlet/cloudlet/internal/server"
)

// coldRuntime is one runtime of part (c).
type coldRuntime struct {
	name    string // "Node (nodejs20.x)"
	dir     string // project folder
	path    string // request path
	want    string
	fnKey   string   // function key in serverless.yml
	process []string // baseline: start and exit of the bare process, clean env

	startMs []float64
	series  map[string]*coldSeries // by platform name
}

// coldSeries is one runtime's cold starts on one platform.
type coldSeries struct {
	coldMs, initMs []float64
	fromStem       int // samples served by an instance made from a stem cell
}

// runCold measures cold starts: before every sample the project is
// redeployed (a deploy retires every instance) and we wait until no instance
// runs (and, on a platform with stem cells, until one is ready); the sample
// is the client's time from sending the request to the end of the response,
// on a new connection. Runtimes, platforms and the baseline (the bare
// process starting and exiting) are interleaved sample by sample.
func runCold(ctx context.Context, plats []*platform, rts []*coldRuntime, n int) error {
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for _, rt := range rts {
		rt.series = map[string]*coldSeries{}
		for _, p := range plats {
			rt.series[p.name] = &coldSeries{}
		}
	}
	for i := 0; i <= n; i++ { // sample 0 warms the page cache and is not counted
		for _, rt := range rts {
			if err := ctx.Err(); err != nil {
				return err
			}
			startMs, err := processStart(ctx, rt.process)
			if err != nil {
				return fmt.Errorf("%s baseline: %w", rt.name, err)
			}
			if i > 0 {
				rt.startMs = append(rt.startMs, startMs)
			}
			for _, p := range plats {
				names, err := p.deploy(rt.dir)
				if err != nil {
					return err
				}
				fn := names[rt.fnKey]
				if err := p.waitNoInstances(10 * time.Second); err != nil {
					return err
				}
				// Every platform quiet: its stem cells all started (a cell
				// starting elsewhere would take CPU from this cold start).
				for _, q := range plats {
					if q.stemCells >= 0 && len(q.srv.Registry().Stats().Functions) > 0 {
						if err := q.waitStemCells(server.DefaultStemCells, 10*time.Second); err != nil {
							return err
						}
					}
				}
				stems := p.stemStarts(fn)
				after := p.srv.Logs().Last(fn)
				req, _ := http.NewRequestWithContext(ctx, "GET", p.gw+rt.path, nil)
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					return fmt.Errorf("%s cold start: %w", rt.name, err)
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				el := time.Since(t0)
				if err != nil || resp.StatusCode != 200 || !strings.Contains(string(body), rt.want) {
					return fmt.Errorf("%s cold start: %d %s %v, want 200 with %s", rt.name, resp.StatusCode, body, err, rt.want)
				}
				initMs, err := p.initDuration(fn, after, 5*time.Second)
				if err != nil {
					return err
				}
				if i == 0 {
					continue
				}
				s := rt.series[p.name]
				s.coldMs = append(s.coldMs, ms(el))
				s.initMs = append(s.initMs, initMs)
				if p.stemStarts(fn) > stems {
					s.fromStem++
				}
			}
		}
		if i > 0 && (i%10 == 0 || i == n) {
			var parts []string
			for _, rt := range rts {
				for _, p := range plats {
					if s := rt.series[p.name]; len(s.coldMs) > 0 {
						parts = append(parts, fmt.Sprintf("%s/%s %s", rt.name, p.name, fmtMs(median(s.coldMs))))
					}
				}
			}
			progress("(c) %d/%d cold starts each: %s", i, n, strings.Join(parts, ", "))
		}
	}
	return nil
}

// processStart times argv from fork to exit, with the minimal environment.
func processStart(ctx context.Context, argv []string) (float64, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = baseEnv
	t0 := time.Now()
	if err := start(cmd); err != nil {
		return 0, err
	}
	if err := cmd.Wait(); err != nil {
		return 0, fmt.Errorf("%s: %w", strings.Join(argv, " "), err)
	}
	return ms(time.Since(t0)), nil
}
