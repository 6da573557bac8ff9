package main

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// asyncPart is part (k): how soon a warm function's handler starts after
// its event is handed over, one event at a time: an Event invoke (202,
// then the durable queue), a message sent to a queue an sqs event reads
// (the poller), and, as the baseline in the same rounds, a synchronous
// invoke of the same function. The handler logs its start on the wall
// clock; the bench takes the time just before the call.
type asyncPart struct {
	n                 int
	sync, event, sqsT [][]time.Duration // per round
}

func runAsync(ctx context.Context, p *platform, benchDir string, rounds int) (*asyncPart, error) {
	if _, err := p.deploy(filepath.Join(benchDir, "projects", "async")); err != nil {
		return nil, err
	}
	api := p.srv.APIURL()
	creds := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, nil
	})
	lc := lambda.New(lambda.Options{Region: "us-east-1", BaseEndpoint: aws.String(api), Credentials: creds})
	qc := sqs.New(sqs.Options{Region: "us-east-1", BaseEndpoint: aws.String(api), Credentials: creds})
	qurl, err := qc.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("bench-async-jobs")})
	if err != nil {
		return nil, fmt.Errorf("(k) the queue: %w", err)
	}
	logs := p.srv.Logs()
	seq := 0
	// started waits for the log line of event n of function and returns
	// its start time.
	started := func(function string, n int) (time.Time, error) {
		want := "BENCHT " + strconv.Itoa(n) + " "
		deadline := time.Now().Add(30 * time.Second)
		var after uint64
		for {
			lines, changed := logs.Since(function, after)
			for _, l := range lines {
				after = l.Seq
				if i := strings.Index(l.Text, want); i >= 0 {
					ms, err := strconv.ParseFloat(strings.Fields(l.Text[i+len(want):])[0], 64)
					if err != nil {
						return time.Time{}, err
					}
					return time.UnixMicro(int64(ms * 1000)), nil
				}
			}
			select {
			case <-ctx.Done():
				return time.Time{}, ctx.Err()
			case <-changed:
			case <-time.After(time.Until(deadline)):
				return time.Time{}, fmt.Errorf("(k) %s never logged event %d", function, n)
			}
		}
	}
	kinds := []struct {
		name, function string
		send           func(n int) error
	}{
		{"sync", "bench-async-dev-event", func(n int) error {
			_, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("bench-async-dev-event"), Payload: []byte(`{"n":` + strconv.Itoa(n) + `}`)})
			return err
		}},
		{"event", "bench-async-dev-event", func(n int) error {
			_, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("bench-async-dev-event"), InvocationType: ltypes.InvocationTypeEvent,
				Payload: []byte(`{"n":` + strconv.Itoa(n) + `}`)})
			return err
		}},
		{"sqs", "bench-async-dev-worker", func(n int) error {
			_, err := qc.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: qurl.QueueUrl, MessageBody: aws.String(strconv.Itoa(n))})
			return err
		}},
	}
	part := &asyncPart{n: 200}
	measure := func(k int, count int) ([]time.Duration, error) {
		out := make([]time.Duration, 0, count)
		for i := 0; i < count; i++ {
			seq++
			t0 := time.Now()
			if err := kinds[k].send(seq); err != nil {
				return nil, fmt.Errorf("(k) %s: %w", kinds[k].name, err)
			}
			at, err := started(kinds[k].function, seq)
			if err != nil {
				return nil, err
			}
			out = append(out, at.Sub(t0))
		}
		return out, nil
	}
	for k := range kinds { // warm: instances, connections, pollers
		if _, err := measure(k, 30); err != nil {
			return nil, err
		}
	}
	for r := 0; r < rounds; r++ {
		var got [3][]time.Duration
		for k := range kinds {
			lat, err := measure(k, part.n)
			if err != nil {
				return nil, err
			}
			got[k] = lat
		}
		part.sync, part.event, part.sqsT = append(part.sync, got[0]), append(part.event, got[1]), append(part.sqsT, got[2])
		progress("(k) round %d/%d: handler start p50 — sync %v, Event %v, sqs %v", r+1, rounds, pct(got[0], 50), pct(got[1], 50), pct(got[2], 50))
	}
	return part, nil
}

func pct(ds []time.Duration, p int) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(a, b int) bool { return s[a] < s[b] })
	return s[min(len(s)-1, len(s)*p/100)]
}

func (r *report) asyncTables(w func(string, ...any)) {
	a := r.async
	w("\n## (k) Asynchronous starts (Event invoke, sqs event)\n\n")
	w("A warm Node function (bench/projects/async), one event at a time, %d per kind and round: the time from just before the call (Invoke, or SendMessage to the queue its sqs event reads; AWS SDK for Go v2) to the handler's first line, on the wall clock (the handler logs `performance.timeOrigin + performance.now()`). The synchronous invoke of the same function is the baseline, in the same rounds.\n\n", a.n)
	w("| kind | p50 median [min–max] over rounds | p99 median | target |\n|---|---|---|---|\n")
	row := func(name string, rounds [][]time.Duration, target string) {
		var p50s, p99s []float64
		for _, l := range rounds {
			p50s = append(p50s, float64(pct(l, 50).Microseconds())/1000)
			p99s = append(p99s, float64(pct(l, 99).Microseconds())/1000)
		}
		lo, hi := minMax(p50s)
		w("| %s | %.2f ms [%.2f–%.2f] | %.2f ms | %s |\n", name, median(p50s), lo, hi, median(p99s), target)
	}
	row("RequestResponse invoke (baseline)", a.sync, "")
	row("Event invoke → handler", a.event, "≤ 2 ms p50")
	row("SendMessage → sqs-triggered handler", a.sqsT, "≤ 10 ms p50")
	w("\n")
}
