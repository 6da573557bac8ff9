package server_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	stypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/cloudlet/cloudlet/internal/server"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv("SERVER_CRASH_CHILD"); dir != "" {
		crashChild(dir, os.Getenv("SERVER_CRASH_PROJECT"))
		return
	}
	os.Exit(m.Run())
}

// crashChild runs a server over dir, deploys project unless a deploy is
// restored, writes its AWS endpoint to dir/api.url and runs until killed.
func crashChild(dir, project string) {
	s, err := server.New(server.Options{DataDir: dir, GatewayAddr: "127.0.0.1:0", APIAddr: "127.0.0.1:0"})
	if err != nil {
		panic(err)
	}
	if err := s.Start(); err != nil {
		panic(err)
	}
	if s.Current() == nil {
		if _, err := s.Deploy(project, ""); err != nil {
			panic(err)
		}
	}
	tmp := filepath.Join(dir, "api.url.tmp")
	os.WriteFile(tmp, []byte(s.APIURL()), 0o644)
	os.Rename(tmp, filepath.Join(dir, "api.url"))
	select {}
}

type crashed struct {
	cmd *exec.Cmd
	api string
}

func startCrashChild(t *testing.T, dir, project string) *crashed {
	t.Helper()
	os.Remove(filepath.Join(dir, "api.url"))
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SERVER_CRASH_CHILD="+dir, "SERVER_CRASH_PROJECT="+project)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var api []byte
	waitFor(t, "the server to start", func() bool {
		api, _ = os.ReadFile(filepath.Join(dir, "api.url"))
		return len(api) > 0
	})
	return &crashed{cmd: cmd, api: string(api)}
}

func (c *crashed) kill() {
	c.cmd.Process.Signal(syscall.SIGKILL)
	c.cmd.Wait()
}

func crashClients(api string) (*sqs.Client, *lambda.Client, *dynamodb.Client) {
	creds := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, nil
	})
	return sqs.New(sqs.Options{Region: "us-east-1", BaseEndpoint: aws.String(api), Credentials: creds}),
		lambda.New(lambda.Options{Region: "us-east-1", BaseEndpoint: aws.String(api), Credentials: creds}),
		dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(api), Credentials: creds})
}

// seenCounts reads how often each id ran.
func seenCounts(t *testing.T, db *dynamodb.Client) map[string]int {
	t.Helper()
	out := map[string]int{}
	p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: aws.String("crash-seen")})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			return nil
		}
		for _, it := range page.Items {
			n, _ := strconv.Atoi(it["n"].(*dtypes.AttributeValueMemberN).Value)
			out[it["id"].(*dtypes.AttributeValueMemberS).Value] = n
		}
	}
	return out
}

// kill -9 twice while messages are sent to a queue whose sqs event runs a
// worker, and while Event invokes are made; after the last restart every
// message SendMessage acknowledged and every event answered 202 ran at
// least once, and once the queue is empty nothing runs again: no message
// is delivered after it was deleted.
func TestKillDuringTriggerLoad(t *testing.T) {
	dir := t.TempDir()
	project := copyDir(t, "testdata/crash")
	var mu sync.Mutex
	acked := map[string]bool{}
	for round := 0; round < 2; round++ {
		c := startCrashChild(t, dir, project)
		q, lc, db := crashClients(c.api)
		url, err := q.GetQueueUrl(context.Background(), &sqs.GetQueueUrlInput{QueueName: aws.String("crash-jobs")})
		if err != nil {
			t.Fatal(err)
		}
		ctx, stop := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				for i := 0; ctx.Err() == nil && i < 250; i++ { // bounded: the kill comes long before
					id := "m-" + strconv.Itoa(round) + "-" + strconv.Itoa(g) + "-" + strconv.Itoa(i)
					if g == 3 { // one sender makes Event invokes
						id = "e" + id[1:]
						out, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("crash-dev-record"), InvocationType: ltypes.InvocationTypeEvent,
							Payload: []byte(`{"id":"` + id + `"}`)})
						if err == nil && out.StatusCode == 202 {
							mu.Lock()
							acked[id] = true
							mu.Unlock()
						}
						continue
					}
					if _, err := q.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: url.QueueUrl, MessageBody: aws.String(id)}); err == nil {
						mu.Lock()
						acked[id] = true
						mu.Unlock()
					}
				}
			}(g)
		}
		// kill once the worker and the events are running under load
		before := len(seenCounts(t, db))
		waitFor(t, "deliveries under load", func() bool {
			n := seenCounts(t, db)
			var m, e int
			for id := range n {
				if strings.HasPrefix(id, "m-"+strconv.Itoa(round)) {
					m++
				} else if strings.HasPrefix(id, "e-"+strconv.Itoa(round)) {
					e++
				}
			}
			return len(n) >= before+40 && m > 10 && e > 5
		})
		c.kill()
		stop()
		wg.Wait()
	}
	c := startCrashChild(t, dir, project)
	q, _, db := crashClients(c.api)
	mu.Lock()
	want := len(acked)
	mu.Unlock()
	if want < 50 {
		t.Fatalf("only %d sends acknowledged", want)
	}
	var missing []string
	waitFor(t, "every acknowledged message and event to run", func() bool {
		seen := seenCounts(t, db)
		missing = missing[:0]
		for id := range acked {
			if seen[id] == 0 {
				missing = append(missing, id)
			}
		}
		return seen != nil && len(missing) == 0
	})
	url, _ := q.GetQueueUrl(context.Background(), &sqs.GetQueueUrlInput{QueueName: aws.String("crash-jobs")})
	// the messages sent but not acknowledged before a kill are there too:
	// they run as well; a busy machine takes its time
	var left map[string]string
	for deadline := time.Now().Add(3 * time.Minute); ; {
		a, err := q.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: url.QueueUrl,
			AttributeNames: []stypes.QueueAttributeName{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"}})
		if err == nil {
			left = a.Attributes
			if left["ApproximateNumberOfMessages"] == "0" && left["ApproximateNumberOfMessagesNotVisible"] == "0" && left["ApproximateNumberOfMessagesDelayed"] == "0" {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the queue is not empty: %v (%v)", left, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	settled := seenCounts(t, db)
	// a sentinel goes through the worker; nothing else may run again
	if _, err := q.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: url.QueueUrl, MessageBody: aws.String("sentinel")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the sentinel", func() bool { return seenCounts(t, db)["sentinel"] == 1 })
	after := seenCounts(t, db)
	for id, n := range after {
		if id != "sentinel" && strings.HasPrefix(id, "m-") && n != settled[id] {
			t.Errorf("message %s ran again after the queue was empty (%d, then %d times)", id, settled[id], n)
		}
	}
	var again int
	for id := range acked {
		if strings.HasPrefix(id, "m-") && after[id] > 1 {
			again++
		}
	}
	t.Logf("%d acknowledged (messages and events), all ran; %d messages ran more than once (at least once, as SQS and Lambda promise)", want, again)
}
