package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// S3 with the aws CLI v2: mb, cp up and down, ls, presign, sync up and
// down, s3api head-object, CORS and versioning, rm, rb; and the CLI's view of
// S3's errors.
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
	// sync up, change one file, sync again: only the change goes; sync down
	tree := filepath.Join(dir, "site")
	os.MkdirAll(filepath.Join(tree, "css"), 0o755)
	os.WriteFile(filepath.Join(tree, "index.html"), []byte("<h1>hi</h1>"), 0o644)
	os.WriteFile(filepath.Join(tree, "css", "site.css"), []byte("h1{}"), 0o644)
	if out := run("s3", "sync", tree, "s3://cli-bucket/site"); strings.Count(out, "upload:") != 2 {
		t.Fatalf("the first sync: %s", out)
	}
	os.WriteFile(filepath.Join(tree, "index.html"), []byte("<h1>hello</h1>"), 0o644)
	if out := run("s3", "sync", tree, "s3://cli-bucket/site"); strings.Count(out, "upload:") != 1 || !strings.Contains(out, "index.html") {
		t.Fatalf("a sync after one change: %s", out)
	}
	down := filepath.Join(dir, "down")
	run("s3", "sync", "s3://cli-bucket/site", down)
	if mustRead(t, filepath.Join(down, "index.html")) != "<h1>hello</h1>" || mustRead(t, filepath.Join(down, "css", "site.css")) != "h1{}" {
		t.Fatal("sync down did not bring the tree back")
	}
	run("s3", "rm", "--recursive", "s3://cli-bucket/site")

	// CORS through s3api, and a browser's preflight it allows
	cors := filepath.Join(dir, "cors.json")
	os.WriteFile(cors, []byte(`{"CORSRules":[{"AllowedOrigins":["https://app.example.com"],"AllowedMethods":["PUT","GET"],"AllowedHeaders":["*"],"MaxAgeSeconds":300}]}`), 0o644)
	run("s3api", "put-bucket-cors", "--bucket", "cli-bucket", "--cors-configuration", "file://"+cors)
	if out := run("s3api", "get-bucket-cors", "--bucket", "cli-bucket"); !strings.Contains(out, `"https://app.example.com"`) || !strings.Contains(out, `"MaxAgeSeconds": 300`) {
		t.Fatalf("get-bucket-cors: %s", out)
	}
	req, _ := http.NewRequest(http.MethodOptions, s.APIURL()+"/cli-bucket/docs/report.txt", nil)
	req.Header.Set("Origin", "https://app.example.com")
	req.Header.Set("Access-Control-Request-Method", "PUT")
	req.Header.Set("Access-Control-Request-Headers", "content-type")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
		t.Fatalf("a preflight the CLI's rules allow: %v %v", resp, err)
	}
	run("s3api", "delete-bucket-cors", "--bucket", "cli-bucket")
	if out, err := cli("s3api", "get-bucket-cors", "--bucket", "cli-bucket"); err == nil || !strings.Contains(out, "NoSuchCORSConfiguration") {
		t.Fatalf("get-bucket-cors after its delete: %v %s", err, out)
	}

	// versioning through s3api
	run("s3api", "put-bucket-versioning", "--bucket", "cli-bucket", "--versioning-configuration", "Status=Enabled")
	if out := run("s3api", "get-bucket-versioning", "--bucket", "cli-bucket"); !strings.Contains(out, `"Enabled"`) {
		t.Fatalf("get-bucket-versioning: %s", out)
	}
	run("s3", "cp", src, "s3://cli-bucket/v.txt")
	run("s3", "cp", big, "s3://cli-bucket/v.txt")
	run("s3", "rm", "s3://cli-bucket/v.txt")
	out := run("s3api", "list-object-versions", "--bucket", "cli-bucket", "--prefix", "v.txt")
	if strings.Count(out, `"VersionId"`) != 3 || !strings.Contains(out, `"DeleteMarkers"`) || !strings.Contains(out, `"Size": 18`) {
		t.Fatalf("list-object-versions: %s", out)
	}
	if out, err := cli("s3", "rb", "s3://cli-bucket"); err == nil || !strings.Contains(out, "BucketNotEmpty") {
		t.Fatalf("rb of a full bucket: %v %s", err, out)
	}
	run("s3", "rm", "--recursive", "s3://cli-bucket/docs/")
	// every version goes by its id before the bucket can
	var listed struct {
		Versions, DeleteMarkers []struct{ Key, VersionId string }
	}
	if err := json.Unmarshal([]byte(run("s3api", "list-object-versions", "--bucket", "cli-bucket")), &listed); err != nil {
		t.Fatal(err)
	}
	for _, v := range append(listed.Versions, listed.DeleteMarkers...) {
		run("s3api", "delete-object", "--bucket", "cli-bucket", "--key", v.Key, "--version-id", v.VersionId)
	}
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
