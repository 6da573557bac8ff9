package s3

import (
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Blobs keeps object bodies. A body is written through a BlobWriter and
// becomes a blob only when Commit returns: durable, under an id of its
// own, never a name derived from the object's key. The service commits
// an object's metadata after its blob, so a crash leaves at most a blob
// no object names, which Sweep removes.
type Blobs interface {
	Create() (BlobWriter, error)
	Open(id string) (Blob, error)
	Remove(id string) error
	// Sweep removes the blobs keep does not name, and unfinished writes.
	Sweep(keep func(id string) bool) (removed int, err error)
}

// BlobWriter writes one body.
type BlobWriter interface {
	io.Writer
	// Commit makes the body durable and returns its id, size and MD5.
	Commit() (id string, size int64, md5sum []byte, err error)
	// Abort drops what was written.
	Abort()
}

// Blob reads one body.
type Blob interface {
	io.ReaderAt
	io.ReadSeekCloser
}

// diskBlobs keeps blobs as files under dir: tmp/ for the ones being
// written, xx/<id> for committed ones (xx: the id's first two digits).
type diskBlobs struct{ dir string }

// NewDiskBlobs keeps blobs under dir (created if missing).
func NewDiskBlobs(dir string) (Blobs, error) {
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o700); err != nil {
		return nil, err
	}
	// Every blob folder exists (and is durable) before the first blob is
	// renamed into one: a rename is then made durable by syncing its
	// folder alone.
	for i := 0; i < 256; i++ {
		if err := os.MkdirAll(filepath.Join(dir, hex.EncodeToString([]byte{byte(i)})), 0o700); err != nil {
			return nil, err
		}
	}
	if err := syncDir(dir); err != nil {
		return nil, err
	}
	return &diskBlobs{dir: dir}, nil
}

func newBlobID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (d *diskBlobs) path(id string) (string, error) {
	if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
		return "", errors.New("s3: not a blob id: " + id)
	}
	return filepath.Join(d.dir, id[:2], id), nil
}

// A body's writes are gathered into chunks of chunkSize, which a
// goroutine of the writer's own writes to the file while the caller
// reads and hashes the next ones: the disk's time and the network's and
// MD5's overlap instead of adding up. At most chunksInFlight chunks wait
// for the disk, so memory stays flat however large the body.
const (
	chunkSize      = 256 << 10
	chunksInFlight = 4
)

var chunkPool = sync.Pool{New: func() any { b := make([]byte, 0, chunkSize); return &b }}

type diskWriter struct {
	d    *diskBlobs
	f    *os.File
	id   string
	md5  hash.Hash
	size int64

	buf      *[]byte               // the chunk being gathered, or nil
	out      chan *[]byte          // to the file's goroutine; nil until the first full chunk
	done     chan error            // the file goroutine's end: its first error, or nil
	failed   atomic.Pointer[error] // the file goroutine's error, once it met one
	dropping atomic.Bool           // Abort: the file goroutine drops what is left
	finished bool
}

// writebackEvery is how many bytes a body writes between the starts of
// their writeback: sync_file_range asks the kernel to write them to disk
// now, without waiting, so that a large body is mostly on disk by the
// time Commit's fsync runs instead of all of it being written then.
const writebackEvery = 8 << 20

// errBlobWrite wraps the error of a body's write to disk: the server's
// failure, not the client's.
var errBlobWrite = errors.New("s3: writing a body to disk failed")

func (d *diskBlobs) Create() (BlobWriter, error) {
	id := newBlobID()
	f, err := os.OpenFile(filepath.Join(d.dir, "tmp", id), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	return &diskWriter{d: d, f: f, id: id, md5: md5.New()}, nil
}

func (w *diskWriter) Write(p []byte) (int, error) {
	if err := w.failed.Load(); err != nil {
		return 0, fmt.Errorf("%w: %w", errBlobWrite, *err)
	}
	w.md5.Write(p)
	w.size += int64(len(p))
	for rest := p; len(rest) > 0; {
		if w.buf == nil {
			w.buf = chunkPool.Get().(*[]byte)
		}
		b := *w.buf
		k := copy(b[len(b):cap(b)], rest)
		*w.buf, rest = b[:len(b)+k], rest[k:]
		if len(*w.buf) == cap(*w.buf) {
			w.send()
		}
	}
	return len(p), nil
}

// send hands the gathered chunk to the file's goroutine, starting it.
func (w *diskWriter) send() {
	if w.out == nil {
		w.out, w.done = make(chan *[]byte, chunksInFlight), make(chan error, 1)
		go w.writeFile()
	}
	w.out <- w.buf
	w.buf = nil
}

// writeFile writes the chunks it is sent, in order, until out closes;
// after an error it only drops them.
func (w *diskWriter) writeFile() {
	var err error
	var written, flushed int64
	for b := range w.out {
		if err == nil && !w.dropping.Load() {
			if _, err = w.f.Write(*b); err != nil {
				w.failed.Store(&err)
			}
			written += int64(len(*b))
			if written-flushed >= writebackEvery {
				unix.SyncFileRange(int(w.f.Fd()), flushed, written-flushed, unix.SYNC_FILE_RANGE_WRITE)
				flushed = written
			}
		}
		*b = (*b)[:0]
		chunkPool.Put(b)
	}
	w.done <- err
}

// finish writes what is gathered and waits until the file has it all.
func (w *diskWriter) finish() error {
	if w.finished {
		return nil
	}
	w.finished = true
	if w.out == nil { // a body smaller than a chunk: written here
		if w.buf == nil {
			return nil
		}
		_, err := w.f.Write(*w.buf)
		*w.buf = (*w.buf)[:0]
		chunkPool.Put(w.buf)
		w.buf = nil
		return err
	}
	if w.buf != nil {
		w.send()
	}
	close(w.out)
	return <-w.done
}

func (w *diskWriter) Commit() (string, int64, []byte, error) {
	tmp := w.f.Name()
	if err := w.finish(); err != nil {
		w.Abort()
		return "", 0, nil, err
	}
	if err := w.f.Sync(); err != nil {
		w.Abort()
		return "", 0, nil, err
	}
	if err := w.f.Close(); err != nil {
		os.Remove(tmp)
		return "", 0, nil, err
	}
	final, _ := w.d.path(w.id)
	dir := filepath.Dir(final)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		os.Remove(tmp)
		return "", 0, nil, err
	}
	if err := os.Rename(tmp, final); err != nil {
		os.Remove(tmp)
		return "", 0, nil, err
	}
	if err := syncDir(dir); err != nil {
		return "", 0, nil, err
	}
	return w.id, w.size, w.md5.Sum(nil), nil
}

func (w *diskWriter) Abort() {
	w.dropping.Store(true) // what waits for the disk is not written
	w.finish()
	w.f.Close()
	os.Remove(w.f.Name())
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

func (d *diskBlobs) Open(id string) (Blob, error) {
	p, err := d.path(id)
	if err != nil {
		return nil, err
	}
	return os.Open(p)
}

func (d *diskBlobs) Remove(id string) error {
	p, err := d.path(id)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

func (d *diskBlobs) Sweep(keep func(id string) bool) (int, error) {
	removed := 0
	tmp := filepath.Join(d.dir, "tmp")
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return 0, err
	}
	for _, e := range entries {
		if os.Remove(filepath.Join(tmp, e.Name())) == nil {
			removed++
		}
	}
	dirs, err := os.ReadDir(d.dir)
	if err != nil {
		return removed, err
	}
	for _, sub := range dirs {
		if !sub.IsDir() || len(sub.Name()) != 2 {
			continue
		}
		files, err := os.ReadDir(filepath.Join(d.dir, sub.Name()))
		if err != nil {
			return removed, err
		}
		for _, f := range files {
			if !keep(f.Name()) && os.Remove(filepath.Join(d.dir, sub.Name(), f.Name())) == nil {
				removed++
			}
		}
	}
	return removed, nil
}
