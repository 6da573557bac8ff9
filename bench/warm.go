package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// target is one HTTP server under load.
type target struct {
	key  string // short name used in ratios
	name string // as shown in the report
	url  string
	want string // a substring every answer must have
}

// series is what every round measured on one target, per load.
type series map[string][]wrkResult // load name → one result per round

func (s series) rps(load string) []float64 {
	return mapResults(s[load], func(r wrkResult) float64 { return r.rps })
}

func (s series) p50(load string) []float64 {
	return mapResults(s[load], func(r wrkResult) float64 { return ms(r.p50) })
}

func (s series) p99(load string) []float64 {
	return mapResults(s[load], func(r wrkResult) float64 { return ms(r.p99) })
}

func (s series) errors(load string) int64 {
	var n int64
	for _, r := range s[load] {
		n += r.errors()
	}
	return n
}

func mapResults(rs []wrkResult, f func(wrkResult) float64) []float64 {
	out := make([]float64, len(rs))
	for i, r := range rs {
		out[i] = f(r)
	}
	return out
}

// warmPart is one side-by-side comparison: (a)+(d) for Node, (b) for Go.
type warmPart struct {
	title   string
	targets []target
	results map[string]series
}

// check answers once from every target and verifies the body, so that a
// misrouted or failing server is not measured.
func checkTargets(ctx context.Context, targets []target) error {
	client := &http.Client{Timeout: 30 * time.Second}
	for _, t := range targets {
		req, _ := http.NewRequestWithContext(ctx, "GET", t.url, nil)
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("%s: GET %s: %w", t.name, t.url, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), t.want) {
			return fmt.Errorf("%s: GET %s: %d %s, want 200 with %s", t.name, t.url, resp.StatusCode, body, t.want)
		}
	}
	client.CloseIdleConnections()
	return nil
}

// runRounds measures every target at every load, interleaved: round 1 runs
// A B C…, round 2 again A B C…, so that drift on the shared machine hits
// every target alike. Each target gets a warm-up at the heavy load first.
func runRounds(ctx context.Context, p *warmPart, rounds int, warmup load, loads []load) error {
	p.results = map[string]series{}
	for _, t := range p.targets {
		p.results[t.key] = series{}
	}
	for r := 1; r <= rounds; r++ {
		for _, t := range p.targets {
			if _, err := runWrk(ctx, warmup, t.url); err != nil {
				return err
			}
			for _, l := range loads {
				res, err := runWrk(ctx, l, t.url)
				if err != nil {
					return err
				}
				p.results[t.key][l.name] = append(p.results[t.key][l.name], res)
				note := ""
				if res.errors() > 0 {
					note = fmt.Sprintf(" (%d errors)", res.errors())
				}
				progress("%s round %d/%d %-22s %-3s %8.0f req/s  p50 %-9s p99 %s%s",
					p.title, r, rounds, t.key, l.name, res.rps, fmtMs(ms(res.p50)), fmtMs(ms(res.p99)), note)
			}
		}
	}
	return nil
}
