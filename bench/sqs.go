package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// sqsPart is part (j): Cloudlet's SQS against goaws (a Go module built
// from its registry), each driven by the same load generator: SigV4-signed
// Query-protocol requests (the protocol goaws speaks; Cloudlet serves it
// too) from 16 clients, interleaved round by round, beside this machine's
// fsync rate.
type sqsPart struct {
	peer  string
	ops   []*dynOp // reusing the DynamoDB part's shapes: per round, ops/s (messages/s) and latency
	fsync []float64
	conc  int
	per   time.Duration
}

const goawsVersion = "v0.4.5"

// queryClient sends signed Query-protocol requests.
type queryClient struct {
	endpoint string
	hc       *http.Client
	signer   *v4.Signer
}

func newQueryClient(endpoint string, conns int) *queryClient {
	return &queryClient{endpoint: endpoint, signer: v4.NewSigner(),
		hc: &http.Client{Transport: &http.Transport{MaxIdleConns: conns * 2, MaxIdleConnsPerHost: conns * 2}}}
}

func (c *queryClient) call(ctx context.Context, form url.Values) ([]byte, error) {
	form.Set("Version", "2012-11-05")
	body := form.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	sum := sha256.Sum256([]byte(body))
	if err := c.signer.SignHTTP(ctx, aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, req, hex.EncodeToString(sum[:]), "sqs", "us-east-1", time.Now()); err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("%s: %d %s", form.Get("Action"), resp.StatusCode, b)
	}
	return b, nil
}

func (c *queryClient) createQueue(ctx context.Context, name string) (string, error) {
	b, err := c.call(ctx, url.Values{"Action": {"CreateQueue"}, "QueueName": {name}})
	if err != nil {
		return "", err
	}
	var out struct {
		URL string `xml:"CreateQueueResult>QueueUrl"`
	}
	if err := xml.Unmarshal(b, &out); err != nil || out.URL == "" {
		return "", fmt.Errorf("CreateQueue: %s", b)
	}
	return out.URL, nil
}

// sqsOps are the measured operations; each returns the messages it moved.
var sqsOps = []struct {
	name string
	do   func(ctx context.Context, c *queryClient, queue string, seq int64) (int, error)
}{
	{"SendMessage", func(ctx context.Context, c *queryClient, queue string, seq int64) (int, error) {
		_, err := c.call(ctx, url.Values{"Action": {"SendMessage"}, "QueueUrl": {queue}, "MessageBody": {payload[:64] + strconv.FormatInt(seq, 10)}})
		return 1, err
	}},
	{"SendMessageBatch (10)", func(ctx context.Context, c *queryClient, queue string, seq int64) (int, error) {
		f := url.Values{"Action": {"SendMessageBatch"}, "QueueUrl": {queue}}
		for i := 1; i <= 10; i++ {
			p := "SendMessageBatchRequestEntry." + strconv.Itoa(i) + "."
			f.Set(p+"Id", "m"+strconv.Itoa(i))
			f.Set(p+"MessageBody", payload[:64]+strconv.FormatInt(seq, 10))
		}
		_, err := c.call(ctx, f)
		return 10, err
	}},
	{"ReceiveMessage (10) + DeleteMessage", func(ctx context.Context, c *queryClient, queue string, seq int64) (int, error) {
		b, err := c.call(ctx, url.Values{"Action": {"ReceiveMessage"}, "QueueUrl": {queue}, "MaxNumberOfMessages": {"10"}, "VisibilityTimeout": {"60"}})
		if err != nil {
			return 0, err
		}
		var out struct {
			Handles []string `xml:"ReceiveMessageResult>Message>ReceiptHandle"`
		}
		if err := xml.Unmarshal(b, &out); err != nil {
			return 0, err
		}
		for _, h := range out.Handles {
			if _, err := c.call(ctx, url.Values{"Action": {"DeleteMessage"}, "QueueUrl": {queue}, "ReceiptHandle": {h}}); err != nil {
				return 0, err
			}
		}
		return len(out.Handles), nil
	}},
}

// driveSQS runs do from conc goroutines for d: messages per second.
func driveSQS(ctx context.Context, c *queryClient, queue string, conc int, d time.Duration,
	do func(context.Context, *queryClient, string, int64) (int, error)) opRun {
	return measure(ctx, conc, d, func(_ *rand.Rand, seq int64) (int, error) { return do(ctx, c, queue, seq) })
}

// startGoaws builds goaws from its module and runs it on a free port.
func startGoaws(ctx context.Context, tmp, logPath string) (*child, string, error) {
	bin := filepath.Join(tmp, "goaws-bin")
	if _, err := output(ctx, toolEnv("GOBIN="+bin, "GOFLAGS=-mod=mod"), tmp, "go", "install", "github.com/Admiral-Piett/goaws/app/cmd@"+goawsVersion); err != nil {
		return nil, "", fmt.Errorf("build goaws: %w", err)
	}
	port, err := freePort()
	if err != nil {
		return nil, "", err
	}
	conf := filepath.Join(tmp, "goaws.yaml")
	yml := fmt.Sprintf("Local:\n  Host: 127.0.0.1\n  Port: %d\n  Region: us-east-1\n  AccountId: \"000000000000\"\n  LogToFile: false\n  QueueAttributeDefaults:\n    VisibilityTimeout: 30\n    ReceiveMessageWaitTimeSeconds: 0\n", port)
	if err := os.WriteFile(conf, []byte(yml), 0o644); err != nil {
		return nil, "", err
	}
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, "", err
	}
	cmd := exec.Command(filepath.Join(bin, "cmd"), "-config", conf, "Local")
	cmd.Env = envWith()
	c, _, err := startChild("goaws", cmd, false, lf)
	if err != nil {
		return nil, "", err
	}
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/"
	deadline := time.Now().Add(30 * time.Second)
	for {
		if resp, err := http.Post(url, "application/x-www-form-urlencoded", bytes.NewReader([]byte("Action=ListQueues"))); err == nil {
			resp.Body.Close()
			return c, url, nil
		}
		if time.Now().After(deadline) {
			c.stop()
			return nil, "", fmt.Errorf("goaws did not listen within 30 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func runSQS(ctx context.Context, p *platform, tmp, resultsDir string, cfg config) (*sqsPart, error) {
	part := &sqsPart{conc: 16, per: cfg.ddbDuration}
	cl := newQueryClient(p.srv.APIURL()+"/", part.conc)
	clQueue, err := cl.createQueue(ctx, "bench")
	if err != nil {
		return nil, fmt.Errorf("(j) cloudlet: %w", err)
	}
	var pe *queryClient
	var peQueue string
	if !cfg.skipPeer {
		child, url, err := startGoaws(ctx, tmp, filepath.Join(resultsDir, "goaws.log"))
		if err != nil {
			return nil, fmt.Errorf("(j) %w (or run with -skip-peer)", err)
		}
		defer child.stop()
		part.peer = "goaws " + goawsVersion
		pe = newQueryClient(url, part.conc)
		if peQueue, err = pe.createQueue(ctx, "bench"); err != nil {
			return nil, fmt.Errorf("(j) goaws: %w", err)
		}
	}
	for _, op := range sqsOps {
		part.ops = append(part.ops, &dynOp{name: op.name})
	}
	for round := 0; round < cfg.rounds; round++ {
		f, err := fsyncRate(tmp, 2*time.Second)
		if err != nil {
			return nil, err
		}
		part.fsync = append(part.fsync, f)
		for i, op := range sqsOps {
			r := driveSQS(ctx, cl, clQueue, part.conc, part.per, op.do)
			part.ops[i].cl = append(part.ops[i].cl, r)
			line := fmt.Sprintf("(j) round %d/%d %s: cloudlet %.0f msg/s p50 %v", round+1, cfg.rounds, op.name, r.rps, r.p50)
			if pe != nil {
				q := driveSQS(ctx, pe, peQueue, part.conc, part.per, op.do)
				part.ops[i].pe = append(part.ops[i].pe, q)
				line += fmt.Sprintf(", goaws %.0f msg/s p50 %v", q.rps, q.p50)
			}
			progress("%s", line)
		}
	}
	return part, nil
}

func (r *report) sqsTables(b *strings.Builder) {
	d := r.sqs
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	w("## (j) SQS: Cloudlet vs %s, the same load generator\n\n", orDash(d.peer))
	w("SigV4-signed Query-protocol requests (the protocol goaws speaks) from %d clients, %v per operation and target, interleaved. ", d.conc, d.per)
	w("Figures are messages per second (a batch counts its 10). Cloudlet's sends are durable when answered (SQLite, synchronous=FULL, group commit); goaws keeps its queues in memory.\n\n")
	w("| Operation | Cloudlet msg/s | p50 | p99 | %s msg/s | p50 | p99 | Cloudlet ÷ peer |\n|---|---|---|---|---|---|---|---|\n", orDash(d.peer))
	for _, op := range d.ops {
		cr, pr := rpsOf(op.cl), rpsOf(op.pe)
		w("| %s | %s | %s | %s | %s | %s | %s | %s |\n", op.name, spread(cr, fmtRPS), fmtMs(median(durMs(op.cl, false))), fmtMs(median(durMs(op.cl, true))),
			spreadOrDash(pr, fmtRPS), fmtMsOrDash(durMs(op.pe, false)), fmtMsOrDash(durMs(op.pe, true)), spreadOrDash(ratios(cr, pr), fmtRatio))
	}
	var errs []string
	for _, op := range d.ops {
		var c, p int64
		for _, x := range op.cl {
			c += x.errors
		}
		for _, x := range op.pe {
			p += x.errors
		}
		errs = append(errs, fmt.Sprintf("%s %d/%d", op.name, c, p))
	}
	w("\nErrors: %s (Cloudlet/peer, all rounds).\n\n", strings.Join(errs, ", "))
	if len(d.ops) > 1 {
		w("This machine's fsync rate in the same run: %s per second with one writer; Cloudlet's durable SendMessageBatch rate is %s of it.\n\n",
			spread(d.fsync, fmtRPS), spread(ratios(rpsOf(d.ops[1].cl), d.fsync), fmtRatio))
	}
}
