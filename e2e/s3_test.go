package e2e

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// S3 with the aws CLI v2: mb, cp up and down, ls, presign, s3api
// head-object, rm, rb; and the CLI's view of S3's errors.
func TestAWSCLIv2S3(t *testing.T) {
	s := start(t)
	cli, run := awsCLIv2(t, s)
	dir := t.TempDir()
	src := filepath.Join(dir, "report.txt")
	os.WriteFile(src, []byte("quarterly numbers\n"), 0o644)
	big := filepath.Join(dir, "big.bin")
	os.WriteFile(big, []byte(strings.Repeat("0123456789abcdef", 4096)), 0o644) // 64 KiB

	run("s3", "mb", "s3://cli-bucket")
	run("s3", "cp", src, "s3://cli-bucket/docs/report.txt")
	run("s3", "cp", big, "s3://cli-bucket/docs/big.bin")
	if out := run("s3", "ls", "s3://cli-bucket/docs/"); !strings.Contains(out, "report.txt") || !strings.Contains(out, "65536 big.bin") {
		t.Fatalf("s3 ls: %s", out)
	}
	if out := run("s3", "ls", "s3://cli-bucket/"); !strings.Contains(out, "PRE docs/") {
		t.Fatalf("s3 ls of the bucket: %s", out)
	}
	if out := run("s3", "cp", "s3://cli-bucket/docs/report.txt", "-"); out != "quarterly numbers\n" {
		t.Fatalf("s3 cp to stdout: %q", out)
	}
	back := filepath.Join(dir, "back.bin")
	run("s3", "cp", "s3://cli-bucket/docs/big.bin", back)
	if a, b := mustRead(t, big), mustRead(t, back); a != b {
		t.Fatal("the 64 KiB object came back different")
	}
	if out := run("s3api", "head-object", "--bucket", "cli-bucket", "--key", "docs/report.txt"); !strings.Contains(out, `"ContentLength": 18`) {
		t.Fatalf("s3api head-object: %s", out)
	}
	url := strings.TrimSpace(run("s3", "presign", "s3://cli-bucket/docs/report.txt", "--expires-in", "60"))
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "quarterly numbers\n" {
		t.Fatalf("a presigned URL: %d %s", resp.StatusCode, body)
	}
	if out, err := cli("s3", "rb", "s3://cli-bucket"); err == nil || !strings.Contains(out, "BucketNotEmpty") {
		t.Fatalf("rb of a full bucket: %v %s", err, out)
	}
	run("s3", "rm", "--recursive", "s3://cli-bucket/docs/")
	run("s3", "rb", "s3://cli-bucket")
	if out, err := cli("s3", "ls", "s3://cli-bucket/"); err == nil || !strings.Contains(out, "NoSuchBucket") {
		t.Fatalf("ls of a removed bucket: %v %s", err, out)
	}
}

func mustRead(t *testing.T, p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
