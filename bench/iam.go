package main

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// iamPart is part (h): what authorization costs. In process, one decision
// of internal/iam (ns and allocations per call); end to end, the p50 of a
// signed GetFunctionConfiguration through the AWS endpoint made by the
// admin (never evaluated) and by a session of a project's role (evaluated
// against its statements), interleaved round by round.
type iamPart struct {
	nsPerOp, allocsPerOp float64
	admin, session       []time.Duration // p50 per round
	calls                int
}

// microbenchmark runs internal/iam's BenchmarkAuthorize and reads its
// ns/op and allocs/op.
func (h *iamPart) microbenchmark(ctx context.Context, root string) error {
	cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", "^BenchmarkAuthorize$", "-benchmem", "-count", "1", "./internal/iam/")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("(h) go test -bench Authorize: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 8 || !strings.HasPrefix(f[0], "BenchmarkAuthorize") {
			continue
		}
		for i := 1; i+1 < len(f); i++ {
			v, err := strconv.ParseFloat(f[i], 64)
			switch {
			case err != nil:
			case f[i+1] == "ns/op":
				h.nsPerOp = v
			case f[i+1] == "allocs/op":
				h.allocsPerOp = v
			}
		}
		return nil
	}
	return fmt.Errorf("(h) no BenchmarkAuthorize line in:\n%s", out)
}

func runIAM(ctx context.Context, p *platform, root, benchDir string, rounds int) (*iamPart, error) {
	part := &iamPart{calls: 500}
	if err := part.microbenchmark(ctx, root); err != nil {
		return nil, err
	}

	if _, err := p.deploy(filepath.Join(benchDir, "projects", "iam")); err != nil {
		return nil, err
	}
	api := p.srv.APIURL()
	creds := func(id, secret, token string) aws.CredentialsProvider {
		return aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: token}, nil
		})
	}
	out, err := sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(api), Credentials: creds("test", "test", "")}).
		AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::000000000000:role/bench-iam-dev-us-east-1-lambdaRole"), RoleSessionName: aws.String("bench")})
	if err != nil {
		return nil, fmt.Errorf("(h) assume the role: %w", err)
	}
	c := out.Credentials
	clients := []*lambda.Client{
		lambda.New(lambda.Options{Region: "us-east-1", BaseEndpoint: aws.String(api), Credentials: creds("test", "test", "")}),
		lambda.New(lambda.Options{Region: "us-east-1", BaseEndpoint: aws.String(api), Credentials: creds(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)}),
	}
	in := &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("bench-iam-dev-fn")}
	for _, cl := range clients {
		for w := 0; w < 300; w++ { // warm the connections and the caches
			if _, err := cl.GetFunctionConfiguration(ctx, in); err != nil {
				return nil, fmt.Errorf("(h) GetFunctionConfiguration: %w", err)
			}
		}
	}
	// Short blocks, alternating admin and session, so that both see the
	// same moments of a shared machine; the difference is taken pair by pair.
	blocks := 5 * rounds
	for r := 0; r < blocks; r++ {
		for i, cl := range clients {
			lat := make([]time.Duration, part.calls)
			for n := range lat {
				t0 := time.Now()
				if _, err := cl.GetFunctionConfiguration(ctx, in); err != nil {
					return nil, fmt.Errorf("(h) GetFunctionConfiguration: %w", err)
				}
				lat[n] = time.Since(t0)
			}
			sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
			p50 := lat[len(lat)/2]
			if i == 0 {
				part.admin = append(part.admin, p50)
			} else {
				part.session = append(part.session, p50)
			}
		}
		progress("(h) block %d/%d: p50 admin %v, role session %v", r+1, blocks, part.admin[r], part.session[r])
	}
	return part, nil
}

func (r *report) iamTables(w func(string, ...any)) {
	h := r.iam
	w("## (h) Authorization (internal/iam)\n\n")
	w("In process (`go test -run '^$' -bench '^BenchmarkAuthorize$' -benchmem ./internal/iam/`: one allowed decision against a role of four statements): **%.0f ns** and %.0f allocations per decision.\n\n", h.nsPerOp, h.allocsPerOp)
	w("End to end: %d blocks of %d sequential signed `GetFunctionConfiguration` calls through the AWS endpoint (AWS SDK for Go v2, keep-alive), alternating the admin (never evaluated) and a session of a project's role (evaluated against its statements; bench/projects/iam); p50 of each block, the difference pair by pair:\n\n", len(h.admin), h.calls)
	us := func(ds []time.Duration) []float64 {
		out := make([]float64, len(ds))
		for i, d := range ds {
			out[i] = float64(d.Nanoseconds()) / 1000
		}
		return out
	}
	a, s := us(h.admin), us(h.session)
	diff := make([]float64, len(a))
	for i := range a {
		diff[i] = s[i] - a[i]
	}
	lo, hi := minMax(a)
	w("| caller | p50 median [min–max] over blocks |\n|---|---|\n")
	w("| admin (not evaluated) | %.1f µs [%.1f–%.1f] |\n", median(a), lo, hi)
	lo, hi = minMax(s)
	w("| role session (evaluated) | %.1f µs [%.1f–%.1f] |\n", median(s), lo, hi)
	lo, hi = minMax(diff)
	w("\nRole session − admin, pair by pair: median **%+.1f µs** [%+.1f to %+.1f] per call (target ≤ 5 µs).\n\n", median(diff), lo, hi)
}
