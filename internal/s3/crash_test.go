package s3_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cloudlet/cloudlet/internal/awsapi"
	svc "github.com/cloudlet/cloudlet/internal/s3"
	"github.com/cloudlet/cloudlet/internal/store"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv("S3_CRASH_CHILD"); dir != "" {
		crashChild(dir)
		return
	}
	os.Exit(m.Run())
}

// crashChild serves S3 over dir, as the server does (sweeping first), and
// writes its URL to dir/url; it runs until killed.
func crashChild(dir string) {
	st, err := store.Open(dir)
	if err != nil {
		panic(err)
	}
	blobs, err := svc.NewDiskBlobs(filepath.Join(dir, "s3"))
	if err != nil {
		panic(err)
	}
	service := svc.New(st, blobs, "us-east-1", "000000000000", nil)
	if _, err := service.Sweep(context.Background()); err != nil {
		panic(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	tmp := filepath.Join(dir, "url.tmp")
	os.WriteFile(tmp, []byte("http://"+ln.Addr().String()), 0o644)
	os.Rename(tmp, filepath.Join(dir, "url"))
	http.Serve(ln, awsapi.New(awsapi.Options{Services: map[string]awsapi.Service{"s3": service}}))
}

func startChild(t *testing.T, dir string) (*exec.Cmd, *s3.Client) {
	t.Helper()
	os.Remove(filepath.Join(dir, "url"))
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "S3_CRASH_CHILD="+dir)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var url []byte
	for deadline := time.Now().Add(30 * time.Second); len(url) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the child never served")
		}
		time.Sleep(10 * time.Millisecond)
		url, _ = os.ReadFile(filepath.Join(dir, "url"))
	}
	return cmd, s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(string(url)), UsePathStyle: true,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, nil
		})})
}

// bodyOf is the body the test writes under key, telling of its key: small
// (kept with the metadata) or large (a blob), long enough that a kill can
// land inside it.
func bodyOf(key string) string {
	n := 20000
	if key[len(key)-1]%2 == 0 {
		n = 3 * svc.InlineMax
	}
	return strings.Repeat(key+";", n/(len(key)+1))
}

// kill -9 while uploads run, twice: after a restart every object whose
// PutObject was answered is there with its whole body, every object
// listed is whole (its body is its key's and its MD5 its ETag), and no
// unfinished upload is left on disk.
func TestKillDuringUploads(t *testing.T) {
	dir := t.TempDir()
	var mu sync.Mutex
	acked := map[string]bool{}
	for round := 0; round < 2; round++ {
		cmd, c := startChild(t, dir)
		ctx := context.Background()
		if round == 0 {
			if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("crash")}); err != nil {
				t.Fatal(err)
			}
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		count := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
		before := count()
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					key := fmt.Sprintf("r%d/g%d/%d", round, g, i)
					if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("crash"), Key: aws.String(key), Body: strings.NewReader(bodyOf(key))}); err == nil {
						mu.Lock()
						acked[key] = true
						mu.Unlock()
					}
				}
			}(g)
		}
		for deadline := time.Now().Add(60 * time.Second); count() < before+40; {
			if time.Now().After(deadline) {
				t.Fatal("uploads do not go on")
			}
			time.Sleep(5 * time.Millisecond)
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		close(stop)
		wg.Wait()
	}
	_, c := startChild(t, dir)
	ctx := context.Background()
	listed := map[string]bool{}
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String("crash")})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			listed[*o.Key] = true
			out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("crash"), Key: o.Key})
			if err != nil {
				t.Fatalf("GetObject %s: %v", *o.Key, err)
			}
			b, _ := io.ReadAll(out.Body)
			out.Body.Close()
			sum := md5.Sum(b)
			if string(b) != bodyOf(*o.Key) || `"`+hex.EncodeToString(sum[:])+`"` != aws.ToString(o.ETag) {
				t.Fatalf("%s is not whole: %d bytes", *o.Key, len(b))
			}
		}
	}
	for k := range acked {
		if !listed[k] {
			t.Errorf("the acknowledged object %s is lost", k)
		}
	}
	if left, _ := os.ReadDir(filepath.Join(dir, "s3", "tmp")); len(left) != 0 {
		t.Errorf("%d unfinished uploads left on disk", len(left))
	}
	t.Logf("%d uploads acknowledged, %d objects after two kills", len(acked), len(listed))
}
