package s3

import (
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
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

type diskWriter struct {
	d    *diskBlobs
	f    *os.File
	id   string
	md5  hash.Hash
	size int64
}

func (d *diskBlobs) Create() (BlobWriter, error) {
	id := newBlobID()
	f, err := os.OpenFile(filepath.Join(d.dir, "tmp", id), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	return &diskWriter{d: d, f: f, id: id, md5: md5.New()}, nil
}

func (w *diskWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.md5.Write(p[:n])
	w.size += int64(n)
	return n, err
}

func (w *diskWriter) Commit() (string, int64, []byte, error) {
	tmp := w.f.Name()
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
