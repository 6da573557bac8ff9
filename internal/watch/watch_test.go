package watch

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
)

type recorder struct {
	mu    sync.Mutex
	n     int
	errs  []error
	calls chan struct{}
}

func newRecorder() *recorder { return &recorder{calls: make(chan struct{}, 100)} }

func (r *recorder) change() {
	r.mu.Lock()
	r.n++
	r.mu.Unlock()
	r.calls <- struct{}{}
}

func (r *recorder) err(e error) {
	r.mu.Lock()
	r.errs = append(r.errs, e)
	r.mu.Unlock()
}

func (r *recorder) wait(t *testing.T, what string) {
	t.Helper()
	select {
	case <-r.calls:
	case <-time.After(20 * time.Second):
		t.Fatalf("no change reported after %s", what)
	}
}

func start(t *testing.T, dir string, ignore ...string) *recorder {
	r := newRecorder()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Watch(ctx, dir, 20*time.Millisecond, ignore, r.change, r.err) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return r
}

// A save, a new file and a file in a folder created after the start are
// each reported.
func TestWatchReportsChanges(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "handler.js"), []byte("1"), 0o644)
	r := start(t, dir)
	// The watcher is set up once a change made now is seen: make changes
	// until one is.
	deadline := time.Now().Add(20 * time.Second)
	for {
		os.WriteFile(filepath.Join(dir, "handler.js"), []byte(time.Now().String()), 0o644)
		select {
		case <-r.calls:
		case <-time.After(200 * time.Millisecond):
			if time.Now().Before(deadline) {
				continue
			}
			t.Fatal("a save was never reported")
		}
		break
	}
	os.WriteFile(filepath.Join(dir, "new.js"), []byte("2"), 0o644)
	r.wait(t, "a new file")
	os.Mkdir(filepath.Join(dir, "src"), 0o755)
	r.wait(t, "a new folder")
	// The new folder is watched too.
	os.WriteFile(filepath.Join(dir, "src", "x.js"), []byte("4"), 0o644)
	r.wait(t, "a file in the new folder")
}

// A watcher error is passed on and counts as a change (events may have
// been lost), and a folder that cannot be watched is said.
func TestWatchErrorsAreReportedAndCountAsChanges(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	r := newRecorder()
	events, errs := make(chan fsnotify.Event), make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	add := func(p string) error {
		if strings.HasSuffix(p, "sub") {
			return errors.New("no space left for watches")
		}
		return nil
	}
	go watch(ctx, events, errs, add, dir, 10*time.Millisecond, nil, r.change, r.err)
	errs <- fsnotify.ErrEventOverflow
	r.wait(t, "an overflow")
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.errs) != 2 || !strings.Contains(r.errs[0].Error(), "no space left for watches") || !errors.Is(r.errs[1], fsnotify.ErrEventOverflow) {
		t.Fatalf("errors: %v", r.errs)
	}
}
