package telemetry

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestFollowSeesLinesAppendedLater(t *testing.T) {
	l, err := NewLogs(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Append("f", "one\ntwo")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got := make(chan string, 10)
	go l.Follow(ctx, "f", l.Last("f"), func(ln Line) error {
		got <- ln.Text
		return nil
	})
	// Appends before and after the follower subscribed both reach it.
	for i := 0; i < 3; i++ {
		l.Append("f", "later")
	}
	for i := 0; i < 3; i++ {
		select {
		case text := <-got:
			if text != "later" {
				t.Fatalf("followed %q", text)
			}
		case <-ctx.Done():
			t.Fatal("follower missed a line")
		}
	}
	lines, _ := l.Since("f", 0)
	var all []string
	for _, ln := range lines {
		all = append(all, ln.Text)
	}
	if strings.Join(all, ",") != "one,two,later,later,later" {
		t.Fatalf("lines = %v", all)
	}
}

// A function that prints far more than the rotation size keeps at most two
// files' worth on disk, the newest lines in the newest file; readers are
// told how many older lines are gone.
func TestLogsRotateWithASizeCap(t *testing.T) {
	dir := t.TempDir()
	l, err := NewLogs(dir)
	if err != nil {
		t.Fatal(err)
	}
	l.FileBytes = 256 << 10
	l.window = 64 << 10
	line := strings.Repeat("x", 1000)
	for i := range 5000 { // ~5 MB
		l.Append("f", line+strconv.Itoa(i))
		if i%500 == 0 {
			l.flush(false)
		}
	}
	l.Append("f", "the last line")
	l.Close()
	var total int64
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		st, _ := e.Info()
		total += st.Size()
	}
	if total > 2*l.FileBytes+64<<10 {
		t.Errorf("%d bytes on disk, cap %d per file", total, l.FileBytes)
	}
	b, err := os.ReadFile(filepath.Join(dir, "f.log"))
	if err != nil || !strings.HasSuffix(string(b), "\tthe last line\n") {
		t.Fatalf("newest file does not end with the last line: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "f.log.1")); err != nil {
		t.Fatalf("no rotated file: %v", err)
	}
	lines, _, gone := l.For("f").Since(0)
	if gone == 0 || gone+uint64(len(lines)) != 5001 {
		t.Fatalf("kept %d lines, gone %d, of 5001", len(lines), gone)
	}
}

// logRetentionInDays drops older lines from memory and, by whole files,
// from disk.
func TestLogsRetention(t *testing.T) {
	dir := t.TempDir()
	l, _ := NewLogs(dir)
	defer l.Close()
	l.SetRetention("f", 1)
	l.Append("f", "old")
	l.flush(false)
	l.For("f").mu.Lock()
	l.For("f").lines[0].Time = time.Now().Add(-48 * time.Hour)
	l.For("f").mu.Unlock()
	l.Append("f", "new")
	l.expire(time.Now().Add(25 * time.Hour)) // the open file outlived a day: rotated
	l.expire(time.Now().Add(50 * time.Hour)) // the rotated one is older than a day: removed
	lines, _, gone := l.For("f").Since(0)
	if len(lines) != 1 || lines[0].Text != "new" || gone != 1 {
		t.Fatalf("lines %+v, gone %d", lines, gone)
	}
	if _, err := os.Stat(filepath.Join(dir, "f.log.1")); !os.IsNotExist(err) {
		t.Fatalf("the expired file is still there: %v", err)
	}
}

// A rotation that cannot rename (the .1 name is taken by a folder) neither
// spins nor lets the file grow without bound, and Close returns.
func TestLogsRotationThatCannotRename(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "f.log.1", "x"), 0o755)
	l, _ := NewLogs(dir)
	l.FileBytes = 64 << 10
	for i := range 3000 {
		l.Append("f", strings.Repeat("y", 100)+strconv.Itoa(i))
		if i%300 == 0 {
			l.flush(false)
		}
	}
	l.Close()
	st, err := os.Stat(filepath.Join(dir, "f.log"))
	if err != nil || st.Size() > 2*l.FileBytes {
		t.Fatalf("f.log: %v, %d bytes (cap %d)", err, st.Size(), l.FileBytes)
	}
}
