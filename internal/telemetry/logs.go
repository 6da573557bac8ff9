package telemetry

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// MaxLineBytes bounds one log line; longer output is split, as CloudWatch
// splits events over 256 KB.
const MaxLineBytes = 256 * 1024

// DefaultWindowBytes is the in-memory window kept per function.
const DefaultWindowBytes = 4 << 20

// DefaultFileBytes is the size at which a function's log file is rotated:
// <function>.log becomes <function>.log.1 (replacing the one before), so a
// function's files on disk hold about twice this at most.
const DefaultFileBytes = 16 << 20

// maxPendingBytes bounds what waits in memory for the flusher: a function
// that prints faster than the disk takes it loses lines beyond this (and
// its log says how many), rather than slowing its invocations.
const maxPendingBytes = 32 << 20

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
	// FileBytes is the rotation size of the log files (DefaultFileBytes
	// when 0); set it before the first Append.
	FileBytes int64

	byName sync.Map // name → *Stream
	mu     sync.Mutex
	closed bool
	ended  atomic.Bool   // closed: appends stay in memory
	kick   chan struct{} // asks the flusher to run now
	stop   chan struct{}
	done   chan struct{}
}

// Stream is one function's log: callers on a hot path keep it (Logs.For)
// rather than look it up on every line.
type Stream struct {
	name    string
	logs    *Logs
	mu      sync.Mutex
	lines   []Line // oldest first
	bytes   int
	nextSeq uint64
	pending []byte        // formatted lines the flusher has yet to write
	dropped int           // lines lost because pending was full
	stampMs int64         // the millisecond stamp formats (UTC, as on disk)
	stamp   []byte        // the formatted time of stampMs, reused within it
	changed chan struct{} // closed and replaced on an append when watched
	watched bool          // someone holds changed (Since was called since the last append)
	// retention drops lines older than it (0: keep them), in memory and,
	// by whole files, on disk.
	retention time.Duration

	// Owned by the flusher (fileMu keeps Close and the flusher apart).
	fileMu   sync.Mutex
	file     *os.File
	fileSize int64
	fileFrom time.Time // when the open file was started
}

// NewLogs keeps log files in dir (created if missing). An empty dir keeps logs
// in memory only.
func NewLogs(dir string) (*Logs, error) {
	if dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create log directory: %w", err)
		}
	}
	l := &Logs{dir: dir, window: DefaultWindowBytes, kick: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{})}
	go l.flushLoop()
	return l, nil
}

// For returns the log of function.
func (l *Logs) For(function string) *Stream {
	if s, ok := l.byName.Load(function); ok {
		return s.(*Stream)
	}
	s, _ := l.byName.LoadOrStore(function, &Stream{name: function, logs: l, nextSeq: 1, changed: make(chan struct{})})
	return s.(*Stream)
}

// SetRetention keeps a function's lines for days (serverless.yml's
// logRetentionInDays); 0 keeps them until they are rotated away.
func (l *Logs) SetRetention(function string, days int) {
	s := l.For(function)
	s.mu.Lock()
	s.retention = time.Duration(days) * 24 * time.Hour
	s.mu.Unlock()
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
func (l *Logs) Append(function string, text string) { l.For(function).Append(text) }

// Append adds lines of text (split at newlines, a trailing newline ignored)
// to the log. It never waits for the disk.
func (s *Stream) Append(text string) {
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
			s.appendLocked(now, line[:MaxLineBytes])
			line = line[MaxLineBytes:]
		}
		s.appendLocked(now, line)
	}
	full := len(s.pending) > maxPendingBytes/2
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
	if full {
		select {
		case s.logs.kick <- struct{}{}:
		default:
		}
	}
}

func (s *Stream) appendLocked(now time.Time, text string) {
	s.lines = append(s.lines, Line{Seq: s.nextSeq, Time: now, Text: text})
	s.nextSeq++
	s.bytes += len(text) + 48
	for s.bytes > s.logs.window && len(s.lines) > 1 {
		s.bytes -= len(s.lines[0].Text) + 48
		s.lines[0] = Line{}
		s.lines = s.lines[1:]
	}
	if s.logs.dir == "" || s.logs.ended.Load() {
		return
	}
	if len(s.pending)+len(text) > maxPendingBytes {
		s.dropped++
		return
	}
	// Lines come in bursts (START, output, END, REPORT): format each
	// millisecond once.
	if ms := now.UnixMilli(); ms != s.stampMs || s.stamp == nil {
		s.stampMs = ms
		s.stamp = now.UTC().AppendFormat(s.stamp[:0], "2006-01-02T15:04:05.000Z")
	}
	s.pending = append(s.pending, s.stamp...)
	s.pending = append(s.pending, '\t')
	s.pending = append(s.pending, text...)
	s.pending = append(s.pending, '\n')
}

// Since returns the lines with Seq > after still kept, and the channel that
// is closed when more arrive. Lines after `after` that are no longer kept
// (rotated away, or past their retention) are counted in Gone.
func (l *Logs) Since(function string, after uint64) ([]Line, <-chan struct{}) {
	lines, ch, _ := l.For(function).Since(after)
	return lines, ch
}

// Since is Logs.Since for this stream, with the number of lines after
// `after` that are no longer kept.
func (s *Stream) Since(after uint64) (lines []Line, changed <-chan struct{}, gone uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := 0
	if n := len(s.lines); n > 0 && after >= s.lines[0].Seq {
		i = int(after - s.lines[0].Seq + 1)
		if i > n {
			i = n
		}
	}
	first := s.nextSeq
	if len(s.lines) > 0 {
		first = s.lines[0].Seq
	}
	if first > after+1 {
		gone = first - after - 1
	}
	out := make([]Line, len(s.lines)-i)
	copy(out, s.lines[i:])
	s.watched = true
	return out, s.changed, gone
}

// Last returns the sequence number of the newest line (0 when none).
func (l *Logs) Last(function string) uint64 {
	s := l.For(function)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nextSeq - 1
}

// Follow calls fn for every line after `after` until ctx ends or fn returns an error.
func (l *Logs) Follow(ctx context.Context, function string, after uint64, fn func(Line) error) error {
	s := l.For(function)
	for {
		lines, changed, _ := s.Since(after)
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
	n := 0
	for {
		select {
		case <-l.stop:
			return
		case <-l.kick:
		case <-t.C:
			n++
			if n%300 == 0 { // once a minute
				l.expire(time.Now())
			}
		}
		l.flush(false)
	}
}

// flush writes what waits in memory to the files, outside the streams'
// locks: appends never wait for it.
func (l *Logs) flush(closing bool) {
	l.byName.Range(func(_, v any) bool {
		s := v.(*Stream)
		s.mu.Lock()
		buf, dropped := s.pending, s.dropped
		s.pending, s.dropped = nil, 0
		s.mu.Unlock()
		s.fileMu.Lock()
		if dropped > 0 {
			buf = append(buf, time.Now().UTC().Format("2006-01-02T15:04:05.000Z")+"\t[cloudlet] "+strconv.Itoa(dropped)+
				" lines were not written here: the function printed faster than the disk took them\n"...)
		}
		if len(buf) > 0 {
			s.writeFile(buf)
		}
		if closing && s.file != nil {
			s.file.Close()
			s.file = nil
		}
		s.fileMu.Unlock()
		return true
	})
}

func (s *Stream) path() string { return filepath.Join(s.logs.dir, safeName(s.name)+".log") }

// writeFile appends buf (whole lines) to the function's file, rotating it
// whenever the next lines would take it past the rotation size. Called with
// fileMu held.
func (s *Stream) writeFile(buf []byte) {
	limit := s.logs.FileBytes
	if limit <= 0 {
		limit = DefaultFileBytes
	}
	for len(buf) > 0 {
		if s.file == nil {
			f, err := os.OpenFile(s.path(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
			if err != nil {
				return
			}
			st, _ := f.Stat()
			s.file, s.fileSize, s.fileFrom = f, st.Size(), time.Now()
		}
		room := limit - s.fileSize
		n := len(buf)
		if int64(n) > room {
			// As many whole lines as fit; a line longer than a file is
			// written alone into a fresh one.
			n = bytes.LastIndexByte(buf[:max(room, 0)], '\n') + 1
			if n == 0 {
				if s.fileSize > 0 {
					if !s.rotate() {
						s.openOrWrite(buf) // the file cannot be emptied: write on rather than spin
						return
					}
					continue
				}
				n = bytes.IndexByte(buf, '\n') + 1
				if n == 0 {
					n = len(buf)
				}
			}
		}
		w, _ := s.file.Write(buf[:n])
		s.fileSize += int64(w)
		buf = buf[n:]
		if len(buf) > 0 && !s.rotate() {
			s.openOrWrite(buf) // the file cannot be emptied: write on rather than spin
			return
		}
	}
}

// rotate moves the open file to <name>.log.1, replacing the older one;
// when that cannot be done, the file starts again empty, so that it stays
// bounded all the same.
func (s *Stream) rotate() bool {
	if s.file != nil {
		s.file.Close()
		s.file = nil
	}
	s.fileSize = 0
	if os.Rename(s.path(), s.path()+".1") == nil {
		return true
	}
	return os.Truncate(s.path(), 0) == nil
}

// openOrWrite appends buf to the file as it is, without rotating.
func (s *Stream) openOrWrite(buf []byte) {
	f, err := os.OpenFile(s.path(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return
	}
	st, _ := f.Stat()
	s.file, s.fileSize, s.fileFrom = f, st.Size(), time.Now()
	w, _ := f.Write(buf)
	s.fileSize += int64(w)
}

// expire drops, per function with a retention, the lines older than it:
// from memory, and on disk the rotated file once it is all older, and the
// open file (rotated first) once it was started longer ago than that.
func (l *Logs) expire(now time.Time) {
	l.byName.Range(func(_, v any) bool {
		s := v.(*Stream)
		s.mu.Lock()
		keep := s.retention
		if keep > 0 {
			i := 0
			for i < len(s.lines)-1 && now.Sub(s.lines[i].Time) > keep {
				s.bytes -= len(s.lines[i].Text) + 48
				i++
			}
			s.lines = s.lines[i:]
		}
		s.mu.Unlock()
		if keep <= 0 || l.dir == "" {
			return true
		}
		s.fileMu.Lock()
		if st, err := os.Stat(s.path() + ".1"); err == nil && now.Sub(st.ModTime()) > keep {
			os.Remove(s.path() + ".1")
		}
		if s.file != nil && now.Sub(s.fileFrom) > keep {
			s.rotate()
		}
		s.fileMu.Unlock()
		return true
	})
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
	l.ended.Store(true)
	close(l.stop)
	<-l.done
	l.flush(true)
	return nil
}
