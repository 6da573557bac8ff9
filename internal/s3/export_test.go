package s3

import (
	"bytes"
	"io"
	"net/http"
)

// ParseDelete exposes parseDelete's keys to the fuzz test.
func ParseDelete(b []byte) ([]string, error) {
	d, e := parseDelete(b)
	if e != nil {
		return nil, errorOf(e)
	}
	keys := make([]string, len(d.Objects))
	for i, o := range d.Objects {
		keys[i] = o.Key
	}
	return keys, nil
}

type errorOfS3 struct{ e *s3Error }

func (e errorOfS3) Error() string { return e.e.code + ": " + e.e.msg }

func errorOf(e *s3Error) error { return errorOfS3{e} }

// ParseComplete exposes parseComplete's part numbers to the fuzz test.
func ParseComplete(b []byte) ([]int, error) {
	c, e := parseComplete(b)
	if e != nil {
		return nil, errorOf(e)
	}
	out := make([]int, len(c.Parts))
	for i, p := range c.Parts {
		out[i] = p.PartNumber
	}
	return out, nil
}

// ParseRange exposes parseRange.
func ParseRange(h string, size int64) (int64, int64, bool, bool) { return parseRange(h, size) }

// ParseNotifications exposes parseNotifications.
func ParseNotifications(b []byte) ([]NotifConfig, error) {
	c, e := parseNotifications(b)
	if e != nil {
		return nil, errorOf(e)
	}
	return c, nil
}

// ParseTagging exposes parseTagging's keys.
func ParseTagging(b []byte) ([]string, error) {
	tags, e := parseTagging(b, 10)
	if e != nil {
		return nil, errorOf(e)
	}
	var keys []string
	for _, t := range tags {
		keys = append(keys, t.Key)
	}
	return keys, nil
}

// ParseLifecycle exposes parseLifecycle.
func ParseLifecycle(b []byte) ([]LifecycleRule, error) {
	r, e := parseLifecycle(b)
	if e != nil {
		return nil, errorOf(e)
	}
	return r, nil
}

// ParseLockConfig exposes parseLockConfig: the default retention's
// mode, days and years.
func ParseLockConfig(b []byte) (string, int, int, error) {
	c, e := parseLockConfig(b)
	if e != nil {
		return "", 0, 0, errorOf(e)
	}
	return c.Mode, c.Days, c.Years, nil
}

// ParseVersionID exposes parseVersionID.
func ParseVersionID(v string) (string, error) {
	id, e := parseVersionID(v)
	if e != nil {
		return "", errorOf(e)
	}
	return id, nil
}

// ParsePostPolicy exposes parsePostPolicy: its content-length-range
// (max -1: none).
func ParsePostPolicy(b64 string) (min, max int64, err error) {
	_, conds, e := parsePostPolicy(b64)
	if e != nil {
		return 0, 0, errorOf(e)
	}
	max = -1
	for _, c := range conds {
		if c.op == "content-length-range" {
			min, max = c.min, c.max
		}
	}
	return min, max, nil
}

// ParseCORS exposes parseCORS: how many rules it read.
func ParseCORS(b []byte) (int, error) {
	rules, e := parseCORS(b)
	if e != nil {
		return 0, errorOf(e)
	}
	return len(rules), nil
}

// ReadPostForm exposes readPostForm on a multipart body with boundary:
// the fields it read before the file, and the file's bytes.
func ReadPostForm(body []byte, boundary string) (map[string]string, []byte, error) {
	r, _ := http.NewRequest(http.MethodPost, "/b", bytes.NewReader(body))
	r.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
	fields, file, _, e := readPostForm(r)
	if e != nil {
		return nil, nil, errorOf(e)
	}
	b, err := io.ReadAll(file)
	return fields, b, err
}

// BrokenBlobWrite writes n bytes to a new blob of blobs (from
// NewDiskBlobs) whose file was closed under it, as a failing disk would,
// and answers the first Write or Commit error, whether it is the
// server's, and then aborts it.
func BrokenBlobWrite(blobs Blobs, n int) (err error, servers bool) {
	bw, _ := blobs.Create()
	dw := bw.(*diskWriter)
	dw.f.Close()
	chunk := make([]byte, 32<<10)
	for written := 0; written < n && err == nil; written += len(chunk) {
		_, err = bw.Write(chunk)
	}
	if err == nil {
		_, _, _, err = bw.Commit()
	} else {
		bw.Abort()
	}
	return err, bodyError(err).status == 500
}

// ListRows is how many rows the object and version listings have read.
func (s *Service) ListRows() int64 { return s.listRows.Load() }
