package telemetry

import (
	"context"
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
