package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/sys/unix"
)

// s3Part is part (l): Cloudlet's S3 against gofakes3 (a Go module built
// from its registry, filesystem backend) and s3rver (npm), each driven by
// the same client (the AWS SDK for Go v2): PUT and GET of 4 KiB objects
// from 16 clients, and then the same from wrk (16 connections) replaying
// requests the SDK's signer signed; and PUT and GET of one 1 GiB object,
// beside this machine's sequential write (with fsync) and read of a 1 GiB
// file in the same run.
type s3Part struct {
	targets []string
	small   map[string]map[string][]opRun     // op → target → rounds
	wrk     map[string]map[string][]wrkResult // the same operations from wrk: op → target → rounds
	wrkCmd  string
	bigMBs  map[string]map[string][]float64
	disk    map[string][]float64 // write, read MB/s per round
	rssMB   []float64            // Cloudlet's resident memory growth during its 1 GiB PUT and GET, per round
	rssPeak []float64            // and the most it was then
	conc    int
	per     time.Duration
}

const (
	gofakes3Version = "v1.2.0"
	s3rverVersion   = "3.7.1"
	bigSize         = 1 << 30
)

func s3ClientFor(url, id, secret string) *s3.Client {
	return s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(url), UsePathStyle: true,
		// what every peer takes: no aws-chunked checksum trailers
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		HTTPClient:                 &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}},
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}, nil
		})})
}

func startGofakes3(ctx context.Context, tmp, logPath string) (*child, string, error) {
	bin := filepath.Join(tmp, "gofakes3-bin")
	if _, err := output(ctx, toolEnv("GOBIN="+bin, "GOFLAGS=-mod=mod"), tmp, "go", "install", "github.com/johannesboyne/gofakes3/cmd/gofakes3@"+gofakes3Version); err != nil {
		return nil, "", fmt.Errorf("build gofakes3: %w", err)
	}
	data := filepath.Join(tmp, "gofakes3-data")
	return launchPeer("gofakes3", logPath, func(port string) *exec.Cmd {
		return exec.Command(filepath.Join(bin, "gofakes3"), "-backend", "fs", "-fs.path", data, "-fs.create", "-initialbucket", "bench",
			"-host", "127.0.0.1:"+port, "-quiet")
	})
}

// launchPeer starts the peer cmd makes for a free port, logging to
// logPath, and waits until it answers HTTP.
func launchPeer(name, logPath string, cmdFor func(port string) *exec.Cmd) (*child, string, error) {
	port, err := freePort()
	if err != nil {
		return nil, "", err
	}
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, "", err
	}
	cmd := cmdFor(strconv.Itoa(port))
	cmd.Env = envWith()
	c, _, err := startChild(name, cmd, false, lf)
	if err != nil {
		return nil, "", err
	}
	url := "http://127.0.0.1:" + strconv.Itoa(port)
	return c, url, waitHTTP(c, url+"/")
}

func startS3rver(ctx context.Context, tmp, logPath string) (*child, string, error) {
	dir := filepath.Join(tmp, "s3rver")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, "", err
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "s3rver")); err != nil {
		if _, err := output(ctx, toolEnv(), dir, "npm", "install", "--no-audit", "--no-fund", "--loglevel=error", "s3rver@"+s3rverVersion); err != nil {
			return nil, "", fmt.Errorf("install s3rver: %w", err)
		}
	}
	data := filepath.Join(tmp, "s3rver-data")
	os.MkdirAll(data, 0o755)
	return launchPeer("s3rver", logPath, func(port string) *exec.Cmd {
		return exec.Command("node", filepath.Join(dir, "node_modules", "s3rver", "bin", "s3rver.js"), "--address", "127.0.0.1", "--port", port,
			"--directory", data, "--silent", "--configure-bucket", "bench")
	})
}

func waitHTTP(c *child, url string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			c.stop()
			return fmt.Errorf("%s did not listen within 30 s", c.name)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// pattern is a reader of n deterministic bytes that holds none of them.
type pattern struct{ n int64 }

var patternBlock = func() []byte {
	b := make([]byte, 1<<20)
	for i := range b {
		b[i] = byte(i * 31)
	}
	return b
}()

func (p pattern) ReadAt(b []byte, off int64) (int, error) {
	if off >= p.n {
		return 0, io.EOF
	}
	n := len(b)
	if int64(n) > p.n-off {
		n = int(p.n - off)
	}
	for done := 0; done < n; {
		at := int((off + int64(done)) % int64(len(patternBlock)))
		done += copy(b[done:n], patternBlock[at:])
	}
	if n < len(b) {
		return n, io.EOF
	}
	return n, nil
}

// diskSpeed writes and fsyncs, then reads, a file of size bytes: MB/s.
func diskSpeed(dir string, size int64) (write, read float64, err error) {
	f, err := os.CreateTemp(dir, "disk-")
	if err != nil {
		return 0, 0, err
	}
	defer os.Remove(f.Name())
	buf := make([]byte, 1<<20)
	for i := range buf {
		buf[i] = byte(i * 31)
	}
	t0 := time.Now()
	for n := int64(0); n < size; n += int64(len(buf)) {
		if _, err := f.Write(buf); err != nil {
			f.Close()
			return 0, 0, err
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return 0, 0, err
	}
	write = float64(size) / 1e6 / time.Since(t0).Seconds()
	// read it from the disk, not from the page cache
	unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
	f.Close()
	t0 = time.Now()
	rf, err := os.Open(f.Name())
	if err != nil {
		return 0, 0, err
	}
	n, _ := io.CopyBuffer(io.Discard, rf, buf)
	rf.Close()
	read = float64(n) / 1e6 / time.Since(t0).Seconds()
	return write, read, nil
}

// startCloudletProcess runs `cloudlet server` as a process of its own,
// as the peers run, so that the bench's clients and Cloudlet do not share
// one Go scheduler (in one process the store's writer, back from each
// fsync, waits for a P behind the clients' goroutines).
func startCloudletProcess(ctx context.Context, tmp, logPath string) (*child, string, error) {
	bin := filepath.Join(tmp, "cloudlet-bin", "cloudlet")
	if _, err := output(ctx, toolEnv(), ".", "go", "build", "-o", bin, "./cmd/cloudlet"); err != nil {
		return nil, "", fmt.Errorf("build cloudlet: %w", err)
	}
	data := filepath.Join(tmp, "cloudlet-s3-data")
	return launchPeer("cloudlet", logPath, func(port string) *exec.Cmd {
		return exec.Command(bin, "server", "--data-dir", data, "--api-addr", "127.0.0.1:"+port, "--gateway-addr", "127.0.0.1:0",
			"--stem-cells", "0", "--log-level", "warn")
	})
}

func runS3(ctx context.Context, p *platform, tmp, resultsDir string, cfg config) (*s3Part, error) {
	part := &s3Part{conc: 16, per: cfg.ddbDuration, small: map[string]map[string][]opRun{}, bigMBs: map[string]map[string][]float64{}, disk: map[string][]float64{}}
	cl, url, err := startCloudletProcess(ctx, tmp, filepath.Join(resultsDir, "cloudlet-s3.log"))
	if err != nil {
		return nil, fmt.Errorf("(l) %w", err)
	}
	defer cl.stop()
	clients := map[string]*s3.Client{"Cloudlet": s3ClientFor(url, "test", "test")}
	urls, keys := map[string]string{"Cloudlet": url}, map[string]string{"Cloudlet": "test"}
	part.targets = []string{"Cloudlet"}
	if _, err := clients["Cloudlet"].CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bench")}); err != nil {
		return nil, fmt.Errorf("(l) cloudlet: %w", err)
	}
	if !cfg.skipPeer {
		for _, peer := range []struct {
			name  string
			start func(context.Context, string, string) (*child, string, error)
		}{{"gofakes3 " + gofakes3Version, startGofakes3}, {"s3rver " + s3rverVersion, startS3rver}} {
			c, url, err := peer.start(ctx, tmp, filepath.Join(resultsDir, strings.Fields(peer.name)[0]+".log"))
			if err != nil {
				return nil, fmt.Errorf("(l) %w (or run with -skip-peer)", err)
			}
			defer c.stop()
			key := "test"
			if strings.HasPrefix(peer.name, "s3rver") {
				key = "S3RVER" // s3rver's own key pair
			}
			clients[peer.name] = s3ClientFor(url, key, key)
			urls[peer.name], keys[peer.name] = url, key
			part.targets = append(part.targets, peer.name)
		}
	}
	body := bytes.Repeat([]byte("0123456789abcdef"), 256) // 4 KiB
	var seq atomic.Int64
	ops := []struct {
		name string
		do   func(c *s3.Client, r *rand.Rand) error
	}{
		{"PUT 4 KiB", func(c *s3.Client, r *rand.Rand) error {
			_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bench"), Key: aws.String("obj/" + strconv.FormatInt(seq.Add(1)%2000, 10)),
				Body: bytes.NewReader(body)})
			return err
		}},
		{"GET 4 KiB", func(c *s3.Client, r *rand.Rand) error {
			out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bench"), Key: aws.String("obj/" + strconv.Itoa(r.IntN(1000)))})
			if err != nil {
				return err
			}
			_, err = io.Copy(io.Discard, out.Body)
			out.Body.Close()
			return err
		}},
	}
	for _, name := range part.targets { // the objects GET reads
		for i := 0; i < 1000; i++ {
			if _, err := clients[name].PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bench"), Key: aws.String("obj/" + strconv.Itoa(i)), Body: bytes.NewReader(body)}); err != nil {
				return nil, fmt.Errorf("(l) %s: preload: %w", name, err)
			}
		}
	}
	part.wrk = map[string]map[string][]wrkResult{}
	for _, op := range ops {
		part.small[op.name] = map[string][]opRun{}
		part.wrk[op.name] = map[string][]wrkResult{}
	}
	wl := load{threads: 2, conns: part.conc, duration: part.per}
	for _, k := range []string{"PUT 1 GiB", "GET 1 GiB"} {
		part.bigMBs[k] = map[string][]float64{}
	}
	unsigned := s3.WithAPIOptions(v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)
	for round := 0; round < cfg.rounds; round++ {
		w, r, err := diskSpeed(tmp, bigSize)
		if err != nil {
			return nil, fmt.Errorf("(l) disk speed: %w", err)
		}
		part.disk["write"], part.disk["read"] = append(part.disk["write"], w), append(part.disk["read"], r)
		line := fmt.Sprintf("(l) round %d/%d: disk write %.0f MB/s read %.0f MB/s", round+1, cfg.rounds, w, r)
		for _, op := range ops {
			for _, name := range part.targets {
				c := clients[name]
				run := measure(ctx, part.conc, part.per, func(r *rand.Rand, _ int64) (int, error) { return 1, op.do(c, r) })
				part.small[op.name][name] = append(part.small[op.name][name], run)
				line += fmt.Sprintf("; %s %s %.0f/s", name, op.name, run.rps)
			}
		}
		// The same operations from wrk, which replays requests signed
		// beforehand: the SDK client's own CPU (about 150 us a PUT) no
		// longer takes the servers' share of the two CPUs.
		for _, op := range ops {
			for _, name := range part.targets {
				script := filepath.Join(tmp, "s3-wrk.lua")
				if err := writeSignedScript(script, urls[name], keys[name], op.name, body); err != nil {
					return nil, fmt.Errorf("(l) %w", err)
				}
				l := wl
				l.script = script
				shown := l
				shown.script = "s3-wrk.lua"
				part.wrkCmd = shown.command("URL")
				res, err := runWrk(ctx, l, urls[name])
				if err != nil {
					return nil, fmt.Errorf("(l) %s: %w", name, err)
				}
				if res.errors() > 0 {
					return nil, fmt.Errorf("(l) %s: wrk %s: %d of %d requests failed", name, op.name, res.errors(), res.requests)
				}
				part.wrk[op.name][name] = append(part.wrk[op.name][name], res)
				line += fmt.Sprintf("; %s wrk %s %.0f/s", name, op.name, res.rps)
			}
		}
		for _, name := range part.targets {
			c := clients[name]
			proc := "" // a peer's memory is not measured (rssOf answers 0)
			if name == "Cloudlet" {
				proc = strconv.Itoa(cl.cmd.Process.Pid)
			}
			h0 := rssOf(proc)
			peak := h0
			done, stopped := make(chan struct{}), make(chan struct{})
			go func() {
				defer close(stopped)
				t := time.NewTicker(50 * time.Millisecond)
				defer t.Stop()
				for {
					select {
					case <-done:
						return
					case <-t.C:
						peak = max(peak, rssOf(proc))
					}
				}
			}()
			t0 := time.Now()
			_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bench"), Key: aws.String("big"), Body: io.NewSectionReader(pattern{bigSize}, 0, bigSize),
				ContentLength: aws.Int64(bigSize)}, unsigned)
			if err != nil {
				close(done)
				<-stopped
				return nil, fmt.Errorf("(l) %s: PUT 1 GiB: %w", name, err)
			}
			put := float64(bigSize) / 1e6 / time.Since(t0).Seconds()
			t0 = time.Now()
			out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bench"), Key: aws.String("big")})
			var n int64
			if err == nil {
				n, err = io.Copy(io.Discard, out.Body)
				out.Body.Close()
			}
			close(done)
			<-stopped
			if err != nil || n != bigSize {
				return nil, fmt.Errorf("(l) %s: GET 1 GiB: %d bytes, %v", name, n, err)
			}
			get := float64(bigSize) / 1e6 / time.Since(t0).Seconds()
			part.bigMBs["PUT 1 GiB"][name] = append(part.bigMBs["PUT 1 GiB"][name], put)
			part.bigMBs["GET 1 GiB"][name] = append(part.bigMBs["GET 1 GiB"][name], get)
			if name == "Cloudlet" {
				part.rssMB, part.rssPeak = append(part.rssMB, peak-h0), append(part.rssPeak, peak)
			}
			c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("bench"), Key: aws.String("big")})
			line += fmt.Sprintf("; %s 1 GiB PUT %.0f MB/s GET %.0f MB/s", name, put, get)
		}
		progress("%s", line)
	}
	return part, nil
}

// writeSignedScript writes a wrk script that cycles through requests
// signed now with the SDK's SigV4 signer for url and key: PUTs of body to
// obj/0 … obj/1999, or GETs of obj/0 … obj/999 (what the preload wrote).
// A signature holds for 15 minutes; each run gets a script of its own.
func writeSignedScript(path, url, key, op string, body []byte) error {
	method, n, payload := "PUT", 2000, body
	if strings.HasPrefix(op, "GET") {
		method, n, payload = "GET", 1000, nil
	}
	sum := sha256.Sum256(payload)
	hash := hex.EncodeToString(sum[:])
	signer, creds, now := v4.NewSigner(), aws.Credentials{AccessKeyID: key, SecretAccessKey: key}, time.Now()
	var b strings.Builder
	b.WriteString("local signed = {\n")
	for i := 0; i < n; i++ {
		p := "/bench/obj/" + strconv.Itoa(i)
		req, err := http.NewRequest(method, url+p, bytes.NewReader(payload))
		if err != nil {
			return err
		}
		req.Header.Set("X-Amz-Content-Sha256", hash)
		if err := signer.SignHTTP(context.Background(), creds, req, hash, "s3", "us-east-1", now); err != nil {
			return err
		}
		fmt.Fprintf(&b, "{%q, %q, %q},\n", p, req.Header.Get("Authorization"), req.Header.Get("X-Amz-Date"))
	}
	b.WriteString("}\n")
	bodyExpr := "nil"
	if payload != nil {
		bodyExpr = fmt.Sprintf("string.rep(%q, %d)", "0123456789abcdef", len(payload)/16)
		if string(bytes.Repeat([]byte("0123456789abcdef"), len(payload)/16)) != string(payload) {
			return fmt.Errorf("wrk script: the body is not the bench's pattern")
		}
	}
	fmt.Fprintf(&b, `local body = %s
local reqs, i = {}, 0
local threads = 0
function setup(thread)
  thread:set("first", threads * math.floor(#signed / 2)) -- wrk -t2: the threads start half the keys apart
  threads = threads + 1
end
function init(args)
  for j, s in ipairs(signed) do
    reqs[j] = wrk.format(%q, s[1], {["Authorization"] = s[2], ["X-Amz-Date"] = s[3], ["X-Amz-Content-Sha256"] = %q}, body)
  end
  i = first %% #reqs
end
function request()
  i = i %% #reqs + 1
  return reqs[i]
end
`, bodyExpr, method, hash)
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func (r *report) s3Tables(b *strings.Builder) {
	d := r.s3
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	w("\n## (l) S3: Cloudlet vs %s, the same client\n\n", strings.Join(d.targets[1:], " and "))
	w("The AWS SDK for Go v2 S3 client for every target (path-style, no checksum trailers), %d clients, %v per operation and target, interleaved; every target, Cloudlet too (`cloudlet server`), a process of its own. Cloudlet's PUTs are durable when answered (body fsynced and renamed, then its metadata committed); gofakes3 (filesystem backend) and s3rver write files without fsync.\n\n", d.conc, d.per)
	w("| Operation | target | ops/s | p50 | p99 | Cloudlet ÷ target |\n|---|---|---|---|---|---|\n")
	for _, op := range []string{"PUT 4 KiB", "GET 4 KiB"} {
		cl := rpsOf(d.small[op]["Cloudlet"])
		for _, t := range d.targets {
			runs := d.small[op][t]
			ratio := "—"
			if t != "Cloudlet" {
				ratio = spread(ratios(cl, rpsOf(runs)), fmtRatio)
			}
			w("| %s | %s | %s | %s | %s | %s |\n", op, t, spread(rpsOf(runs), fmtRPS), fmtMs(median(durMs(runs, false))), fmtMs(median(durMs(runs, true))), ratio)
		}
	}
	w("\nThe same operations from wrk (`%s`, keep-alive), replaying requests signed with the SDK's SigV4 signer just before each run (PUTs cycle through 2000 keys, GETs through the 1000 preloaded): the load generator's CPU is then about a tenth of the SDK client's, the same for every target.\n\n", d.wrkCmd)
	w("| Operation | target | req/s | p50 | p99 | Cloudlet ÷ target |\n|---|---|---|---|---|---|\n")
	for _, op := range []string{"PUT 4 KiB", "GET 4 KiB"} {
		rps := func(r wrkResult) float64 { return r.rps }
		cl := mapResults(d.wrk[op]["Cloudlet"], rps)
		for _, t := range d.targets {
			runs := d.wrk[op][t]
			ratio := "—"
			if t != "Cloudlet" {
				ratio = spread(ratios(cl, mapResults(runs, rps)), fmtRatio)
			}
			p50 := mapResults(runs, func(r wrkResult) float64 { return float64(r.p50) / 1e6 })
			p99 := mapResults(runs, func(r wrkResult) float64 { return float64(r.p99) / 1e6 })
			w("| %s | %s | %s | %s | %s | %s |\n", op, t, spread(mapResults(runs, rps), fmtRPS), fmtMs(median(p50)), fmtMs(median(p99)), ratio)
		}
	}
	w("\nOne 1 GiB object (PUT with UNSIGNED-PAYLOAD, as clients send large bodies; GET streamed), MB/s, beside this machine's sequential write with fsync and read of a 1 GiB file (read from the disk: its pages are dropped first; the GETs may read from the page cache):\n\n")
	w("| | disk | %s |\n|---|---|%s\n", strings.Join(d.targets, " | "), strings.Repeat("---|", len(d.targets)))
	for _, k := range []string{"PUT 1 GiB", "GET 1 GiB"} {
		disk := d.disk["write"]
		if strings.HasPrefix(k, "GET") {
			disk = d.disk["read"]
		}
		cells := []string{}
		for _, t := range d.targets {
			cells = append(cells, spread(d.bigMBs[k][t], func(v float64) string { return fmt.Sprintf("%.0f", v) }))
		}
		w("| %s | %s | %s |\n", k, spread(disk, func(v float64) string { return fmt.Sprintf("%.0f", v) }), strings.Join(cells, " | "))
	}
	w("\nCloudlet ÷ disk: PUT %s, GET %s. Cloudlet's resident memory grew by at most %s MB during its 1 GiB PUT and GET (after the 4 KiB runs), to %s MB.\n",
		spread(ratios(d.bigMBs["PUT 1 GiB"]["Cloudlet"], d.disk["write"]), fmtRatio), spread(ratios(d.bigMBs["GET 1 GiB"]["Cloudlet"], d.disk["read"]), fmtRatio),
		spread(d.rssMB, func(v float64) string { return fmt.Sprintf("%.0f", v) }), spread(d.rssPeak, func(v float64) string { return fmt.Sprintf("%.0f", v) }))
}
