package sqs_test

import (
	"bufio"
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/cloudlet/cloudlet/internal/awsapi"
	svc "github.com/cloudlet/cloudlet/internal/sqs"
	"github.com/cloudlet/cloudlet/internal/store"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv("SQS_TEST_CHILD"); dir != "" {
		child(dir)
		return
	}
	os.Exit(m.Run())
}

// child serves SQS over the store in dir and drives it: 8 senders
// printing "sent N" once SendMessage answered, and a receiver deleting
// what it receives, printing "deleting N" before DeleteMessage and
// "deleted N" once it answered.
// It runs until it is killed.
func child(dir string) {
	st, err := store.Open(dir)
	if err != nil {
		panic(err)
	}
	ts := httptest.NewServer(awsapi.New(awsapi.Options{Services: map[string]awsapi.Service{"sqs": svc.New(st, "us-east-1", "000000000000", nil)}}))
	q := sqs.New(sqs.Options{Region: "us-east-1", BaseEndpoint: aws.String(ts.URL), RetryMaxAttempts: 1,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, nil
		})})
	ctx := context.Background()
	out, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("crash")})
	if err != nil {
		panic(err)
	}
	// Each line is written before the child goes on (one write(2) to the
	// pipe: the kill cannot lose it), so "deleting" is on record before
	// the DeleteMessage that may remove the message.
	var mu sync.Mutex
	say := func(l string) {
		mu.Lock()
		os.Stdout.WriteString(l + "\n")
		mu.Unlock()
	}
	base := time.Now().UnixNano()
	for g := 0; g < 8; g++ {
		go func(g int) {
			for i := 0; ; i++ {
				body := strconv.FormatInt(base, 10) + "-" + strconv.Itoa(g) + "-" + strconv.Itoa(i)
				if _, err := q.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: out.QueueUrl, MessageBody: aws.String(body)}); err == nil {
					say("sent " + body)
				}
			}
		}(g)
	}
	for {
		r, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: out.QueueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 1})
		if err != nil {
			continue
		}
		for _, m := range r.Messages {
			say("deleting " + *m.Body)
			if _, err := q.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: out.QueueUrl, ReceiptHandle: m.ReceiptHandle}); err == nil {
				say("deleted " + *m.Body)
			}
		}
	}
}

// kill -9 under send, receive and delete load, three times over the same
// data directory: every message whose SendMessage answered is there after
// the restart (or was deleted), and none whose DeleteMessage answered
// comes back.
func TestMessagesSurviveKill9(t *testing.T) {
	dir := t.TempDir()
	sent, deleting, deleted := map[string]bool{}, map[string]bool{}, map[string]bool{}
	note := func(line string) {
		kind, body, _ := strings.Cut(line, " ")
		switch kind {
		case "sent":
			sent[body] = true
		case "deleting":
			deleting[body] = true
		case "deleted":
			deleted[body] = true
		}
	}
	for round := 0; round < 3; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "SQS_TEST_CHILD="+dir)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(stdout)
		n := 0
		deadline := time.Now().Add(30 * time.Second)
		for sc.Scan() {
			note(sc.Text())
			if n++; n >= 600 || time.Now().After(deadline) {
				break
			}
		}
		cmd.Process.Signal(syscall.SIGKILL)
		for sc.Scan() { // what was answered before the kill counts too
			note(sc.Text())
		}
		cmd.Wait()
	}
	if len(sent) == 0 || len(deleted) == 0 {
		t.Fatalf("the child sent %d and deleted %d messages", len(sent), len(deleted))
	}
	q := serve(t, dir)
	ctx := context.Background()
	url, err := q.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("crash")})
	if err != nil {
		t.Fatal(err)
	}
	left := map[string]bool{}
	for {
		// messages the child had in flight come back within their 1 s visibility timeout
		r, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: url.QueueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 600, WaitTimeSeconds: 3,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{"All"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Messages) == 0 {
			break
		}
		for _, m := range r.Messages {
			if deleted[*m.Body] {
				t.Fatalf("message %s came back after its DeleteMessage was answered", *m.Body)
			}
			left[*m.Body] = true
		}
	}
	for body := range sent {
		if !left[body] && !deleting[body] {
			t.Fatalf("message %s was acknowledged but is not in the queue, and no DeleteMessage was made for it", body)
		}
	}
	t.Logf("%d sent, %d deleted, %d left across three kills", len(sent), len(deleted), len(left))
}
