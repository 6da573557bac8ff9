package telemetry

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// MaxLineBytes bounds one log line; longer output is split, as CloudWatch
// splits events over 256 KB.
const MaxLineBytes = 256 * 1024

// DefaultWindowBytes is the in-memory window kept per function.
const DefaultWindowBytes = 4 << 20

// Line is one log line of a function.
type Line struct {
	Seq  uint64    // 1, 2, 3… per function since the server started
	Time time.Time // when the platform received it
	Text string    // without the trailing newline
}

// Logs stores function log lines. It is safe for concurrent use.
type Logs struct {
	dir    string
	window int

	mu     sync.Mutex
	byName map[string]*stream
	closed bool
	stop   chan struct{}
	done   chan struct{}
}

type stream struct {
	mu      sync.Mutex
	lines   []Line // ring, oldest first after trimming
	bytes   int
	nextSeq uint64
	file    *os.File
	w       *bufio.Writer
	dirty   bool
	changed chan struct{} // closed and replaced on an append when watched
	watched bool          // someone holds changed (Since was called since the last append)
}

// NewLogs keeps log files in dir (created if missing). An empty dir keeps logs
// in memory only.
func NewLogs(dir string) (*Logs, error) {
	if dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create log directory: %w", err)
		}
	}
	l := &Logs{dir: dir, window: DefaultWindowBytes, byName: map[string]*stream{},
		stop: make(chan struct{}), done: make(chan struct{})}
	go l.flushLoop()
	return l, nil
}

func (l *Logs) stream(name string) *stream {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.byName[name]
	if s == nil {
		s = &stream{nextSeq: 1, changed: make(chan struct{})}
		if l.dir != "" && !l.closed {
			f, err := os.OpenFile(filepath.Join(l.dir, safeName(name)+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
			if err == nil {
				s.file, s.w = f, bufio.NewWriterSize(f, 64*1024)
			}
		}
		l.byName[name] = s
	}
	return s
}

// safeName keeps a function name usable as a file name.
func safeName(name string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == 0 || r == '\\' {
			return '_'
		}
		return r
	}, name)
}

// Append adds lines of text (split at newlines, a trailing newline ignored) to
// the function's log.
func (l *Logs) Append(function string, text string) {
	s := l.stream(function)
	now := time.Now()
	s.mu.Lock()
	for len(text) > 0 {
		line := text
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i], text[i+1:]
		} else {
			text = ""
		}
		for len(line) > MaxLineBytes {
			s.appendLocked(l.window, now, line[:MaxLineBytes])
			line = line[MaxLineBytes:]
		}
		s.appendLocked(l.window, now, line)
	}
	// Only wake readers when there are any: most appends (every invocation's
	// START, END and REPORT) have none, and need no new channel.
	var ch chan struct{}
	if s.watched {
		ch, s.changed, s.watched = s.changed, make(chan struct{}), false
	}
	s.mu.Unlock()
	if ch != nil {
		close(ch)
	}
}

func (s *stream) appendLocked(window int, now time.Time, text string) {
	s.lines = append(s.lines, Line{Seq: s.nextSeq, Time: now, Text: text})
	s.nextSeq++
	s.bytes += len(text) + 48
	for s.bytes > window && len(s.lines) > 1 {
		s.bytes -= len(s.lines[0].Text) + 48
		s.lines[0] = Line{}
		s.lines = s.lines[1:]
	}
	if s.w != nil {
		s.w.WriteString(now.UTC().Format("2006-01-02T15:04:05.000Z"))
		s.w.WriteByte('\t')
		s.w.WriteString(text)
		s.w.WriteByte('\n')
		s.dirty = true
	}
}

// Since returns the lines with Seq > after still in the window, and the
// channel that is closed when more arrive.
func (l *Logs) Since(function string, after uint64) ([]Line, <-chan struct{}) {
	s := l.stream(function)
	s.mu.Lock()
	defer s.mu.Unlock()
	i := 0
	if n := len(s.lines); n > 0 && after >= s.lines[0].Seq {
		i = int(after - s.lines[0].Seq + 1)
		if i > n {
			i = n
		}
	}
	out := make([]Line, len(s.lines)-i)
	copy(out, s.lines[i:])
	s.watched = true
	return out, s.changed
}

// Last returns the sequence number of the newest line (0 when none).
func (l *Logs) Last(function string) uint64 {
	s := l.stream(function)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nextSeq - 1
}

// Follow calls fn for every line after `after` until ctx ends or fn returns an error.
func (l *Logs) Follow(ctx context.Context, function string, after uint64, fn func(Line) error) error {
	for {
		lines, changed := l.Since(function, after)
		for _, ln := range lines {
			if err := fn(ln); err != nil {
				return err
			}
			after = ln.Seq
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		}
	}
}

func (l *Logs) flushLoop() {
	defer close(l.done)
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			l.flush(false)
		}
	}
}

func (l *Logs) flush(closing bool) {
	l.mu.Lock()
	streams := make([]*stream, 0, len(l.byName))
	for _, s := range l.byName {
		streams = append(streams, s)
	}
	l.mu.Unlock()
	for _, s := range streams {
		s.mu.Lock()
		if s.w != nil && s.dirty {
			s.w.Flush()
			s.dirty = false
		}
		if closing && s.file != nil {
			s.file.Close()
			s.file, s.w = nil, nil
		}
		s.mu.Unlock()
	}
}

// Close flushes and closes the log files. Later appends stay in memory.
func (l *Logs) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	close(l.stop)
	<-l.done
	l.flush(true)
	return nil
}
