package async_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cloudlet/cloudlet/internal/async"
	"github.com/cloudlet/cloudlet/internal/lambda"
	"github.com/cloudlet/cloudlet/internal/store"
)

// recorder is a function that says on stdout which events it ran, each
// line written before it answers.
type recorder struct{ mu sync.Mutex }

func (r *recorder) Invoke(ctx context.Context, req *lambda.Request) (*lambda.Result, error) {
	time.Sleep(time.Millisecond) // a function takes a moment: some events are in flight at the kill
	r.mu.Lock()
	os.Stdout.WriteString("ran " + string(req.Payload) + "\n")
	r.mu.Unlock()
	return &lambda.Result{Payload: []byte("null")}, nil
}

// crashChild queues events from 4 goroutines, printing "queued N" once
// Enqueue returned, while the queue runs them; it runs until killed.
func crashChild(dir string) {
	st, err := store.Open(dir)
	if err != nil {
		panic(err)
	}
	rec := &recorder{}
	q := async.New(st, rec, nil)
	if err := q.Start(); err != nil {
		panic(err)
	}
	base := time.Now().UnixNano()
	for g := 0; g < 4; g++ {
		go func(g int) {
			for i := 0; ; i++ {
				p := strconv.FormatInt(base, 10) + "-" + strconv.Itoa(g) + "-" + strconv.Itoa(i)
				if _, err := q.Enqueue(context.Background(), "", "f", []byte(p), ""); err == nil {
					rec.mu.Lock()
					os.Stdout.WriteString("queued " + p + "\n")
					rec.mu.Unlock()
				}
			}
		}(g)
	}
	select {}
}

// kill -9 while events are queued and running, three times: after a last
// restart every event whose Enqueue returned has run at least once.
func TestEventsSurviveKill9(t *testing.T) {
	dir := t.TempDir()
	queued, ran := map[string]bool{}, map[string]bool{}
	note := func(line string) {
		kind, p, _ := strings.Cut(line, " ")
		switch kind {
		case "queued":
			queued[p] = true
		case "ran":
			ran[p] = true
		}
	}
	for round := 0; round < 3; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "ASYNC_TEST_CHILD="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		n := 0
		deadline := time.Now().Add(30 * time.Second)
		for sc.Scan() {
			note(sc.Text())
			if n++; n >= 800 || time.Now().After(deadline) {
				break
			}
		}
		cmd.Process.Signal(syscall.SIGKILL)
		for sc.Scan() {
			note(sc.Text())
		}
		cmd.Wait()
	}
	if len(queued) == 0 {
		t.Fatal("the child queued nothing")
	}
	// a last start runs what is left
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	f := &fn{calls: map[string]int{}, behave: func(string, int) (*lambda.Result, error) { return &lambda.Result{Payload: []byte("null")}, nil }}
	q := async.New(st, f, nil)
	if err := q.Start(); err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	eventually(t, "the events left to run", func() bool { return pending(t, st) == 0 })
	missing := 0
	for p := range queued {
		if !ran[p] && f.count(p) == 0 {
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged events never ran", missing, len(queued))
	}
	t.Logf("%d events queued across three kills, all ran", len(queued))
}
