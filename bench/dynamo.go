package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// dynamoPart is part (i): Cloudlet's DynamoDB against dynalite (LevelDB
// on disk) with the same client, the Go SDK v2, for each operation at 16
// concurrent clients, interleaved round by round; this machine's fsync
// rate measured in the same run beside the write rate; and Cloudlet's
// memory and read latency as a table grows to -ddb-items items.
type dynamoPart struct {
	peer      string
	ops       []*dynOp
	fsync     []float64 // fsyncs per second, one writer, per round
	perCommit []float64 // PutItem writes per store commit, per round
	items     int
	memory    []memPoint
	conc      int
	perRun    time.Duration
	loadDur   time.Duration
}

type dynOp struct {
	name   string
	cl, pe []opRun // per round
}

type opRun struct {
	rps      float64
	elapsed  time.Duration
	p50, p99 time.Duration
	errors   int64
}

type memPoint struct {
	items            int
	heapMB, rssMB    float64
	getP50, queryP50 time.Duration
}

// ensureDynalite runs `npm ci` in dir when dynalite is missing.
func ensureDynalite(ctx context.Context, dir string) error {
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "dynalite", "cli.js")); err == nil {
		return nil
	}
	progress("(i) installing dynalite: npm ci in %s", dir)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	_, err := output(ctx, toolEnv(), dir, "npm", "ci", "--no-audit", "--no-fund")
	return err
}

func npmVersion(dir, pkg string) string {
	b, err := os.ReadFile(filepath.Join(dir, "node_modules", pkg, "package.json"))
	if err != nil {
		return "?"
	}
	var p struct{ Version string }
	json.Unmarshal(b, &p)
	return pkg + " " + p.Version
}

// startDynalite runs dynalite on a free port with its LevelDB in dir.
func startDynalite(dir, dataDir, logPath string) (*child, string, error) {
	port, err := freePort()
	if err != nil {
		return nil, "", err
	}
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, "", err
	}
	cmd := exec.Command("node", filepath.Join(dir, "node_modules", "dynalite", "cli.js"), "--port", strconv.Itoa(port), "--path", dataDir,
		"--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0")
	cmd.Env = envWith()
	c, _, err := startChild("dynalite", cmd, false, lf)
	if err != nil {
		return nil, "", err
	}
	url := "http://127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
		if err == nil {
			conn.Close()
			return c, url, nil
		}
		if time.Now().After(deadline) {
			c.stop()
			return nil, "", fmt.Errorf("dynalite did not listen within 30 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func ddbClient(url string, conns int) *dynamodb.Client {
	tr := &http.Transport{MaxIdleConns: conns * 2, MaxIdleConnsPerHost: conns * 2, IdleConnTimeout: time.Minute}
	return dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(url), RetryMaxAttempts: 1,
		HTTPClient: &http.Client{Transport: tr},
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, nil
		})})
}

const (
	dynTable    = "bench"
	queryParts  = 20  // partitions of 100 items for Query
	queryItems  = 100 // items per partition
	payloadSize = 100 // bytes of the data attribute
)

var payload = strings.Repeat("x", payloadSize)

func benchItem(pk string, sk int) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberN{Value: strconv.Itoa(sk)},
		"data": &types.AttributeValueMemberS{Value: payload}, "n": &types.AttributeValueMemberN{Value: "0"},
	}
}

// prepareTable creates the bench table and its Query partitions.
func prepareTable(ctx context.Context, db *dynamodb.Client) error {
	_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: aws.String(dynTable), BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("sk"), AttributeType: types.ScalarAttributeTypeN},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String("sk"), KeyType: types.KeyTypeRange},
		},
	})
	if err != nil {
		return err
	}
	for p := 0; p < queryParts; p++ {
		for i := 0; i < queryItems; i += 25 {
			var reqs []types.WriteRequest
			for j := i; j < i+25; j++ {
				reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: benchItem("q"+strconv.Itoa(p), j)}})
			}
			if _, err := db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{dynTable: reqs}}); err != nil {
				return err
			}
		}
	}
	return nil
}

// dynOps are the measured operations: each call does one.
var dynOps = []struct {
	name string
	do   func(ctx context.Context, db *dynamodb.Client, r *rand.Rand, seq int64) error
}{
	{"PutItem", func(ctx context.Context, db *dynamodb.Client, r *rand.Rand, seq int64) error {
		_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(dynTable), Item: benchItem("w"+strconv.Itoa(r.IntN(1000)), int(seq))})
		return err
	}},
	{"GetItem", func(ctx context.Context, db *dynamodb.Client, r *rand.Rand, seq int64) error {
		_, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(dynTable), Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "q" + strconv.Itoa(r.IntN(queryParts))}, "sk": &types.AttributeValueMemberN{Value: strconv.Itoa(r.IntN(queryItems))}}})
		return err
	}},
	{"Query (100 items)", func(ctx context.Context, db *dynamodb.Client, r *rand.Rand, seq int64) error {
		out, err := db.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(dynTable), KeyConditionExpression: aws.String("pk = :p"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: "q" + strconv.Itoa(r.IntN(queryParts))}}})
		if err == nil && len(out.Items) != queryItems {
			err = fmt.Errorf("query answered %d items, want %d", len(out.Items), queryItems)
		}
		return err
	}},
	{"UpdateItem (conditional)", func(ctx context.Context, db *dynamodb.Client, r *rand.Rand, seq int64) error {
		_, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(dynTable), Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "q" + strconv.Itoa(r.IntN(queryParts))}, "sk": &types.AttributeValueMemberN{Value: strconv.Itoa(r.IntN(queryItems))}},
			UpdateExpression: aws.String("SET n = n + :one"), ConditionExpression: aws.String("attribute_exists(pk) AND n >= :zero"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":one": &types.AttributeValueMemberN{Value: "1"}, ":zero": &types.AttributeValueMemberN{Value: "0"}}})
		return err
	}},
	{"BatchWriteItem (25 items)", func(ctx context.Context, db *dynamodb.Client, r *rand.Rand, seq int64) error {
		reqs := make([]types.WriteRequest, 25)
		pk := "b" + strconv.FormatInt(seq, 10)
		for i := range reqs {
			reqs[i] = types.WriteRequest{PutRequest: &types.PutRequest{Item: benchItem(pk, i)}}
		}
		out, err := db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{dynTable: reqs}})
		if err == nil && len(out.UnprocessedItems) > 0 {
			err = fmt.Errorf("unprocessed items")
		}
		return err
	}},
}

// drive runs do from conc goroutines for d and measures it.
func drive(ctx context.Context, db *dynamodb.Client, conc int, d time.Duration, do func(context.Context, *dynamodb.Client, *rand.Rand, int64) error) opRun {
	return measure(ctx, conc, d, func(r *rand.Rand, seq int64) (int, error) { return 1, do(ctx, db, r, seq) })
}

// measure runs call from conc goroutines for d: the units its successful
// calls report (operations, or messages) per second, and the latency of
// each call.
func measure(ctx context.Context, conc int, d time.Duration, call func(r *rand.Rand, seq int64) (int, error)) opRun {
	var seq, errs, units atomic.Int64
	lat := make([][]time.Duration, conc)
	start := time.Now()
	stop := start.Add(d)
	var wg sync.WaitGroup
	for g := 0; g < conc; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), uint64(start.UnixNano())))
			for time.Now().Before(stop) && ctx.Err() == nil {
				t0 := time.Now()
				n, err := call(r, seq.Add(1))
				if err != nil {
					errs.Add(1)
					continue
				}
				units.Add(int64(n))
				lat[g] = append(lat[g], time.Since(t0))
			}
		}(g)
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []float64
	for _, l := range lat {
		for _, x := range l {
			all = append(all, float64(x))
		}
	}
	sort.Float64s(all)
	run := opRun{rps: float64(units.Load()) / elapsed.Seconds(), elapsed: elapsed, errors: errs.Load()}
	if len(all) > 0 {
		run.p50, run.p99 = time.Duration(percentile(all, 50)), time.Duration(percentile(all, 99))
	}
	return run
}

// fsyncRate is how many 100-byte append+fsync pairs one writer does per
// second in dir: the ceiling of one-commit-per-write durability.
func fsyncRate(dir string, d time.Duration) (float64, error) {
	f, err := os.CreateTemp(dir, "fsync-")
	if err != nil {
		return 0, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	buf := make([]byte, 100)
	n := 0
	start := time.Now()
	for time.Since(start) < d {
		if _, err := f.Write(buf); err != nil {
			return 0, err
		}
		if err := f.Sync(); err != nil {
			return 0, err
		}
		n++
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

func rssMB() float64 { return rssOf("self") }

// rssOf is the resident memory of the process proc names under /proc
// ("self", or a pid), MB.
func rssOf(proc string) float64 {
	b, err := os.ReadFile("/proc/" + proc + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

func heapMB() float64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapInuse) / (1 << 20)
}

func runDynamo(ctx context.Context, p *platform, peerDir, tmp, resultsDir string, cfg config) (*dynamoPart, error) {
	part := &dynamoPart{conc: 16, perRun: cfg.ddbDuration, items: cfg.ddbItems}
	cl := ddbClient(p.srv.APIURL(), part.conc)
	if err := prepareTable(ctx, cl); err != nil {
		return nil, fmt.Errorf("(i) cloudlet: prepare the table: %w", err)
	}
	var pe *dynamodb.Client
	if !cfg.skipPeer {
		if err := ensureDynalite(ctx, peerDir); err != nil {
			return nil, fmt.Errorf("(i) install dynalite (or run with -skip-peer): %w", err)
		}
		part.peer = npmVersion(peerDir, "dynalite")
		child, url, err := startDynalite(peerDir, filepath.Join(tmp, "dynalite-data"), filepath.Join(resultsDir, "dynalite.log"))
		if err != nil {
			return nil, fmt.Errorf("(i) %w", err)
		}
		defer child.stop()
		pe = ddbClient(url, part.conc)
		if err := prepareTable(ctx, pe); err != nil {
			return nil, fmt.Errorf("(i) dynalite: prepare the table: %w", err)
		}
	}
	for _, op := range dynOps {
		part.ops = append(part.ops, &dynOp{name: op.name})
	}
	for round := 0; round < cfg.rounds; round++ {
		f, err := fsyncRate(tmp, 2*time.Second)
		if err != nil {
			return nil, fmt.Errorf("(i) fsync rate: %w", err)
		}
		part.fsync = append(part.fsync, f)
		progress("(i) round %d/%d: fsync %.0f/s", round+1, cfg.rounds, f)
		for i, op := range dynOps {
			commits := p.srv.Store().Commits()
			r := drive(ctx, cl, part.conc, part.perRun, op.do)
			if i == 0 {
				if c := p.srv.Store().Commits() - commits; c > 0 {
					part.perCommit = append(part.perCommit, r.rps*r.elapsed.Seconds()/float64(c))
				}
			}
			part.ops[i].cl = append(part.ops[i].cl, r)
			line := fmt.Sprintf("(i) round %d/%d %s: cloudlet %.0f/s p50 %v", round+1, cfg.rounds, op.name, r.rps, r.p50)
			if pe != nil {
				q := drive(ctx, pe, part.conc, part.perRun, op.do)
				part.ops[i].pe = append(part.ops[i].pe, q)
				line += fmt.Sprintf(", dynalite %.0f/s p50 %v", q.rps, q.p50)
			}
			progress("%s", line)
		}
	}
	// memory and latency as the table grows (Cloudlet only)
	if part.items > 0 {
		if err := growTable(ctx, cl, part); err != nil {
			return nil, err
		}
	}
	return part, nil
}

// growTable loads part.items items into a table of their own, noting
// memory and read latency at 0, a quarter, half and all of them.
func growTable(ctx context.Context, db *dynamodb.Client, part *dynamoPart) error {
	marks := []int{0, part.items / 4, part.items / 2, part.items}
	loaded := 0
	start := time.Now()
	snapshot := func() {
		get := drive(ctx, db, 1, time.Second, dynOps[1].do)
		q := drive(ctx, db, 1, time.Second, dynOps[2].do)
		mp := memPoint{items: loaded, heapMB: heapMB(), rssMB: rssMB(), getP50: get.p50, queryP50: q.p50}
		part.memory = append(part.memory, mp)
		progress("(i) %d items: heap %.0f MB, RSS %.0f MB, GetItem p50 %v, Query p50 %v", loaded, mp.heapMB, mp.rssMB, mp.getP50, mp.queryP50)
	}
	for _, m := range marks {
		for loaded < m {
			n := min(m-loaded, 25*16*50)
			var next atomic.Int64
			next.Store(int64(loaded))
			var wg sync.WaitGroup
			var failed atomic.Int64
			for g := 0; g < 16; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := next.Add(25) - 25
						if i >= int64(loaded+n) {
							return
						}
						reqs := make([]types.WriteRequest, 0, 25)
						for j := i; j < i+25 && j < int64(loaded+n); j++ {
							reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: benchItem("g"+strconv.FormatInt(j/100, 10), int(j%100))}})
						}
						if _, err := db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{dynTable: reqs}}); err != nil {
							failed.Add(1)
						}
					}
				}()
			}
			wg.Wait()
			if failed.Load() > 0 {
				return fmt.Errorf("(i) loading items: %d batches failed", failed.Load())
			}
			loaded += n
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
		snapshot()
	}
	part.loadDur = time.Since(start)
	return nil
}

func (r *report) dynamoTables(b *strings.Builder) {
	d := r.dynamo
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	w("## (i) DynamoDB: Cloudlet vs %s, the same client\n\n", orDash(d.peer))
	w("The Go SDK v2 (retries off), %d concurrent clients, %v per operation and target, interleaved (Cloudlet then the peer, operation by operation, round by round). ", d.conc, d.perRun)
	w("Items of 4 attributes (~130 bytes); Query reads a partition of %d; UpdateItem is `SET n = n + :one` under `attribute_exists(pk) AND n >= :zero`. ", queryItems)
	w("Cloudlet's writes are durable when acknowledged (SQLite WAL, synchronous=FULL, group commit); dynalite keeps LevelDB on disk and does not fsync (LevelDB's default, sync: false), so its writes can be lost on a crash.\n\n")
	w("| Operation | Cloudlet ops/s | p50 | p99 | %s ops/s | p50 | p99 | Cloudlet ÷ peer |\n|---|---|---|---|---|---|---|---|\n", orDash(d.peer))
	for _, op := range d.ops {
		cr, pr := rpsOf(op.cl), rpsOf(op.pe)
		w("| %s | %s | %s | %s | %s | %s | %s | %s |\n", op.name, spread(cr, fmtRPS), fmtMs(median(durMs(op.cl, false))), fmtMs(median(durMs(op.cl, true))),
			spreadOrDash(pr, fmtRPS), fmtMsOrDash(durMs(op.pe, false)), fmtMsOrDash(durMs(op.pe, true)), spreadOrDash(ratios(cr, pr), fmtRatio))
	}
	w("\nErrors: ")
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
	w("%s (Cloudlet/peer, all rounds).\n\n", strings.Join(errs, ", "))
	if len(d.ops) > 0 && len(d.fsync) > 0 {
		put := rpsOf(d.ops[0].cl)
		w("Group commit: this machine does %s fsyncs per second with one writer (100-byte append + fsync, same file system, each round); ", spread(d.fsync, fmtRPS))
		w("Cloudlet's durable PutItem rate at 16 clients is %s of that (round by round), with %s writes sharing each commit (the store's commit count); ", spread(ratios(put, d.fsync), fmtRatio), spread(d.perCommit, func(v float64) string { return fmt.Sprintf("%.1f", v) }))
		if len(d.ops) > 4 {
			items := rpsOf(d.ops[4].cl)
			for i := range items {
				items[i] *= 25
			}
			w("BatchWriteItem writes %s durable items per second, %s the fsync rate.\n\n", spread(items, fmtRPS), spread(ratios(items, d.fsync), fmtRatio))
		}
	}
	if len(d.memory) > 0 {
		w("Memory as the table grows (Cloudlet; %d items loaded by BatchWriteItem from 16 clients in %s; heap in use after a GC, RSS of the whole bench process): \n\n", d.items, d.loadDur.Round(time.Second))
		w("| Items | Heap | RSS | GetItem p50 (1 client) | Query of 100 p50 (1 client) |\n|---|---|---|---|---|\n")
		for _, m := range d.memory {
			w("| %d | %.0f MB | %.0f MB | %s | %s |\n", m.items, m.heapMB, m.rssMB, fmtMs(ms(m.getP50)), fmtMs(ms(m.queryP50)))
		}
		w("\n")
	}
}

func orDash(s string) string {
	if s == "" {
		return "no peer (-skip-peer)"
	}
	return s
}

func rpsOf(rs []opRun) []float64 {
	out := make([]float64, len(rs))
	for i, r := range rs {
		out[i] = r.rps
	}
	return out
}

func durMs(rs []opRun, p99 bool) []float64 {
	out := make([]float64, len(rs))
	for i, r := range rs {
		if p99 {
			out[i] = ms(r.p99)
		} else {
			out[i] = ms(r.p50)
		}
	}
	return out
}

func spreadOrDash(xs []float64, f func(float64) string) string {
	if len(xs) == 0 {
		return "–"
	}
	return spread(xs, f)
}

func fmtMsOrDash(xs []float64) string {
	if len(xs) == 0 {
		return "–"
	}
	return fmtMs(median(xs))
}
