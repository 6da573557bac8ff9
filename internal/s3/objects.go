package s3

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"hash"
	"hash/crc32"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cloudlet/cloudlet/internal/awsapi"
	"github.com/cloudlet/cloudlet/internal/iam"
	"github.com/cloudlet/cloudlet/internal/store"
)

// MaxPutSize is the largest body of one PutObject (S3's 5 GiB).
const MaxPutSize = 5 << 30

// InlineMax is the largest body kept in the store with its object's
// metadata instead of in a blob of its own: small objects then cost one
// share of a group commit, not two fsyncs of their own.
const InlineMax = 64 << 10

// objectMeta is what an object keeps besides its body.
type objectMeta struct {
	ContentType        string            `json:"ct,omitempty"`
	ContentEncoding    string            `json:"ce,omitempty"`
	ContentDisposition string            `json:"cd,omitempty"`
	ContentLanguage    string            `json:"cl,omitempty"`
	CacheControl       string            `json:"cc,omitempty"`
	Expires            string            `json:"ex,omitempty"`
	User               map[string]string `json:"u,omitempty"`  // x-amz-meta-*, by lower-case name
	Checksums          map[string]string `json:"ck,omitempty"` // CRC32, CRC32C, SHA1, SHA256: base64
	Tags               map[string]string `json:"t,omitempty"`
	Lock               objectLock        `json:"l,omitzero"`
}

// object is an object's row.
type object struct {
	blob     string // "" for a body kept inline
	inline   []byte
	size     int64
	etag     string // hex MD5 (no quotes)
	modified time.Time
	meta     objectMeta
	version  string // "" for the null version
	marker   bool   // a delete marker (never current)
	current  bool   // the row is in s3_objects
	// versioned is whether the bucket's versioning was ever enabled
	// when the object was written: its answers then name its version.
	versioned bool
}

func loadObjectTx(tx *store.Tx, bucket, key string) (*object, error) {
	return loadCurrentTx(tx, bucket, key, `SELECT blob, size, etag, modified, doc, body, version FROM s3_objects WHERE bucket = ? AND key = ?`)
}

// loadHeadTx is loadObjectTx without the object's inline body (o.inline
// is nil): all a write or a delete needs of the object it replaces.
func loadHeadTx(tx *store.Tx, bucket, key string) (*object, error) {
	return loadCurrentTx(tx, bucket, key, `SELECT blob, size, etag, modified, doc, NULL, version FROM s3_objects WHERE bucket = ? AND key = ?`)
}

// loadWithBucketTx is bucketStateTx and loadObjectTx in one statement
// (the read of every GET): whether the bucket is there, its versioning,
// and its current object named key (nil when there is none).
func loadWithBucketTx(tx *store.Tx, bucket, key string) (o *object, ok bool, versioning string, err error) {
	var blob, etag, doc, version sql.NullString
	var size, mod sql.NullInt64
	var inline []byte
	err = tx.QueryRow(`SELECT b.versioning, o.blob, o.size, o.etag, o.modified, o.doc, o.body, o.version
		FROM s3_buckets b LEFT JOIN s3_objects o ON o.bucket = b.name AND o.key = ? WHERE b.name = ?`, key, bucket).
		Scan(&versioning, &blob, &size, &etag, &mod, &doc, &inline, &version)
	if ok, versioning, err = bucketFound(err, versioning); !ok || !blob.Valid {
		return nil, ok, versioning, err
	}
	o = &object{blob: blob.String, inline: inline, size: size.Int64, etag: etag.String, modified: time.UnixMilli(mod.Int64),
		version: version.String, current: true}
	json.Unmarshal([]byte(doc.String), &o.meta)
	return o, true, versioning, nil
}

// loadTargetTx is what a write needs, in one statement: whether the
// bucket is there, its versioning and doc (as stored), and of the current
// object it replaces (nil when there is none) the blob and, where the
// bucket has versioning, the version. The version is the row's last
// column, behind an inline body's overflow pages: the CASE reads it only
// when there can be one.
func loadTargetTx(tx *store.Tx, bucket, key string) (ok bool, versioning, doc string, prev *object, err error) {
	var blob, version sql.NullString
	err = tx.QueryRow(`SELECT b.versioning, b.doc, o.blob, CASE WHEN b.versioning <> '' THEN o.version END
		FROM s3_buckets b LEFT JOIN s3_objects o ON o.bucket = b.name AND o.key = ? WHERE b.name = ?`, key, bucket).
		Scan(&versioning, &doc, &blob, &version)
	if ok, versioning, err = bucketFound(err, versioning); !ok || !blob.Valid {
		return ok, versioning, doc, nil, err
	}
	return true, versioning, doc, &object{blob: blob.String, version: version.String, current: true}, nil
}

func loadCurrentTx(tx *store.Tx, bucket, key, query string) (*object, error) {
	var o object
	var mod int64
	var doc string
	err := tx.QueryRow(query, bucket, key).Scan(&o.blob, &o.size, &o.etag, &mod, &doc, &o.inline, &o.version)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	o.modified, o.current = time.UnixMilli(mod), true
	json.Unmarshal([]byte(doc), &o.meta)
	return &o, nil
}

// objectOp serves the operations on an object.
func (s *Service) objectOp(w http.ResponseWriter, r *http.Request, call *awsapi.Call, bucket, key string, q url.Values) *s3Error {
	if len(key) > 1024 {
		return errorf("KeyTooLongError", 400, "Your key is too long")
	}
	if !utf8.ValidString(key) {
		return errorf("InvalidURI", 400, "Couldn't parse the specified URI.")
	}
	if q.Has("acl") {
		return s.aclOp(w, r, call, bucket, key)
	}
	if q.Has("tagging") {
		return s.objectTaggingOp(w, r, call, bucket, key)
	}
	if r.Method == http.MethodPut || r.Method == http.MethodPost && q.Has("uploads") {
		if e := checkACLHeaders(r.Header); e != nil {
			return e
		}
	}
	if e, ok := s.multipartOp(w, r, call, bucket, key, q); ok {
		return e
	}
	if q.Has("retention") || q.Has("legal-hold") {
		return s.objectLockOp(w, r, call, bucket, key, q)
	}
	for _, sub := range []string{"uploads", "uploadId", "torrent", "restore", "attributes"} {
		if q.Has(sub) {
			return errorf("NotImplemented", 501, "Cloudlet's S3 does not serve ?"+sub+" yet.")
		}
	}
	switch r.Method {
	case http.MethodPut:
		if r.Header.Get("x-amz-copy-source") != "" {
			return s.copyObject(w, r, call, bucket, key)
		}
		return s.putObject(w, r, call, bucket, key)
	case http.MethodGet, http.MethodHead:
		return s.getObject(w, r, call, bucket, key, q)
	case http.MethodDelete:
		return s.deleteObject(w, r, call, bucket, key, q)
	}
	return methodNotAllowed()
}

// metaFrom reads an object's metadata from a request's headers.
func metaFrom(h http.Header) (objectMeta, *s3Error) {
	m := objectMeta{
		ContentType: h.Get("Content-Type"), ContentEncoding: h.Get("Content-Encoding"), ContentDisposition: h.Get("Content-Disposition"),
		ContentLanguage: h.Get("Content-Language"), CacheControl: h.Get("Cache-Control"), Expires: h.Get("Expires"),
	}
	// aws-chunked is how the body came, not what it is
	if ce := strings.TrimPrefix(strings.TrimPrefix(m.ContentEncoding, "aws-chunked"), ","); ce != m.ContentEncoding {
		m.ContentEncoding = strings.TrimSpace(ce)
	}
	if m.ContentType == "" {
		m.ContentType = "binary/octet-stream"
	}
	size := 0
	for name, vals := range h {
		lower := strings.ToLower(name)
		if k, ok := strings.CutPrefix(lower, "x-amz-meta-"); ok {
			if m.User == nil {
				m.User = map[string]string{}
			}
			m.User[k] = strings.Join(vals, ",")
			size += len(k) + len(m.User[k])
		}
	}
	if size > 2048 {
		return m, errorf("MetadataTooLarge", 400, "Your metadata headers exceed the maximum allowed metadata size.")
	}
	tags, e := tagsFromHeader(h.Get("x-amz-tagging"))
	if e != nil {
		return m, e
	}
	m.Tags = tagMap(tags)
	m.Lock, e = parseLockHeaders(h)
	return m, e
}

// checksums are the x-amz-checksum-* algorithms S3 verifies.
var checksums = map[string]func() hash.Hash{
	"CRC32":  func() hash.Hash { return crc32.NewIEEE() },
	"CRC32C": func() hash.Hash { return crc32.New(crc32.MakeTable(crc32.Castagnoli)) },
	"SHA1":   sha1.New,
	"SHA256": sha256.New,
}

// putObject serves PutObject: the body streams to a blob, verified as it
// comes (signature, Content-MD5, x-amz-checksum-*), and the object
// appears when its metadata commits, after the blob is durable.
func (s *Service) putObject(w http.ResponseWriter, r *http.Request, call *awsapi.Call, bucket, key string) *s3Error {
	return s.storeObject(w, r, call, "ObjectCreated:Put", bucket, key)
}

// storeObject writes r's body and headers as bucket/key, with event
// (PutObject's, or a POST form's).
func (s *Service) storeObject(w http.ResponseWriter, r *http.Request, call *awsapi.Call, event, bucket, key string) *s3Error {
	if e := s.authorize(call, "PutObject", s.objectARN(bucket, key), amzKeys(r)); e != nil {
		return e
	}
	if ok, e := s.bucketExists(r, bucket); e != nil || !ok {
		return orNoBucket(e, bucket)
	}
	meta, e := metaFrom(r.Header)
	if e != nil {
		return e
	}
	size := r.ContentLength
	if d := r.Header.Get("x-amz-decoded-content-length"); d != "" {
		n, err := strconv.ParseInt(d, 10, 64)
		if err != nil || n < 0 {
			return errorf("InvalidArgument", 400, "x-amz-decoded-content-length is not a number")
		}
		size = n
	}
	if size > MaxPutSize {
		return errorf("EntityTooLarge", 400, "Your proposed upload exceeds the maximum allowed size")
	}
	wantMD5, e := contentMD5(r)
	if e != nil {
		return e
	}
	// checksums asked for: in a header, or announced as a trailer
	sums := requestedSums(r)
	// A body of up to InlineMax is kept with the metadata; a larger one
	// streams to a blob.
	src := io.LimitReader(r.Body, MaxPutSize+1)
	head := make([]byte, min(InlineMax+1, max(size+1, 1)))
	if size < 0 || size > InlineMax {
		head = make([]byte, InlineMax+1)
	}
	k, err := io.ReadFull(src, head)
	small := err == io.EOF || err == io.ErrUnexpectedEOF
	if err != nil && !small {
		return bodyError(err)
	}
	// A small body stays in head; a larger one goes on to its blob (which
	// sums its MD5 itself).
	var bw BlobWriter
	var hashes []io.Writer
	md := md5.New()
	if small {
		hashes = append(hashes, md)
	} else {
		if bw, err = s.blobs.Create(); err != nil {
			return internal(s, "create a blob", err)
		}
		hashes = append(hashes, bw)
	}
	for _, h := range sums {
		hashes = append(hashes, h)
	}
	dst := io.MultiWriter(hashes...)
	dst.Write(head[:k])
	n := int64(k)
	if !small {
		m, err := io.Copy(dst, src)
		n += m
		if err != nil {
			bw.Abort()
			return bodyError(err)
		}
	}
	abort := func() {
		if bw != nil {
			bw.Abort()
		}
	}
	if n > MaxPutSize {
		abort()
		return errorf("EntityTooLarge", 400, "Your proposed upload exceeds the maximum allowed size")
	}
	if size >= 0 && n != size && r.Header.Get("x-amz-decoded-content-length") != "" {
		abort()
		return errorf("IncompleteBody", 400, "You did not provide the number of bytes specified by the Content-Length HTTP header.")
	}
	if meta.Checksums, e = checkSums(r, call, sums); e != nil {
		abort()
		return e
	}
	o := &object{size: n, modified: time.Now(), meta: meta}
	var md5sum []byte
	if small {
		md5sum, o.inline = md.Sum(nil), head[:k] // never nil: head has a byte at least
	} else {
		if o.blob, _, md5sum, err = bw.Commit(); err != nil {
			return internal(s, "write an object's body", err)
		}
	}
	if wantMD5 != nil && string(wantMD5) != string(md5sum) {
		if o.blob != "" {
			s.blobs.Remove(o.blob)
		}
		return errorf("BadDigest", 400, "The Content-MD5 you specified did not match what we received.")
	}
	etag := hex.EncodeToString(md5sum)
	o.etag = etag
	if e := s.commitObject(r, call, event, bucket, key, o); e != nil {
		return e
	}
	versionHeader(w, o)
	w.Header().Set("ETag", `"`+etag+`"`)
	for alg, v := range meta.Checksums {
		w.Header().Set("x-amz-checksum-"+strings.ToLower(alg), v)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// commitObject records o as bucket/key, replacing the object there, with
// its notifications (event); the blob it replaces is removed once that
// committed. On failure o's blob is removed.
func (s *Service) commitObject(r *http.Request, call *awsapi.Call, event, bucket, key string, o *object) *s3Error {
	return s.commitObjectWith(r, call, event, bucket, key, o, nil)
}

// commitObjectWith is commitObject with more changes (extra, when not
// nil) in the same transaction; extra may refuse the commit with an
// *s3Error.
func (s *Service) commitObjectWith(r *http.Request, call *awsapi.Call, event, bucket, key string, o *object, extra func(*store.Tx) (*s3Error, error)) *s3Error {
	var drop []string
	var e *s3Error
	var after func()
	err := s.st.Update(r.Context(), func(tx *store.Tx) error {
		drop, e, after = nil, nil, nil
		ok, state, rawDoc, prev, err := loadTargetTx(tx, bucket, key)
		if err != nil {
			return err
		}
		if !ok { // deleted while the body came
			e = noSuchBucket(bucket)
			return nil
		}
		if prev != nil && r.Header.Get("If-None-Match") == "*" && event == "ObjectCreated:Put" { // a conditional write
			e = errorf("PreconditionFailed", 412, "At least one of the pre-conditions you specified did not hold")
			return nil
		}
		// refusals come before extra's changes: a refusal commits nothing
		if e, err = lockDefaultsTx(tx, bucket, state, &o.meta); err != nil || e != nil {
			return err
		}
		if extra != nil {
			if e, err = extra(tx); err != nil || e != nil {
				return err
			}
		}
		if drop, err = putVersionTx(tx, bucket, key, state, o, prev); err != nil {
			return err
		}
		doc, _ := json.Marshal(o.meta)
		var body any // NULL for a body in a blob
		if o.blob == "" {
			body = o.inline
		}
		_, err = tx.Exec(`INSERT INTO s3_objects (bucket, key, blob, size, etag, modified, doc, body, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (bucket, key) DO UPDATE SET blob = excluded.blob, size = excluded.size, etag = excluded.etag,
			modified = excluded.modified, doc = excluded.doc, body = excluded.body, version = excluded.version`,
			bucket, key, o.blob, o.size, o.etag, o.modified.UnixMilli(), string(doc), body, o.version)
		if err != nil || s.notify == nil {
			return err
		}
		ev := eventOf(r, call.RequestID, principalOf(call), bucket, key, event, o.size, o.etag)
		if o.versioned {
			ev.VersionID = wireVersion(o.version)
		}
		ev.Configs = matchingConfigs(rawDoc, event, key)
		after, err = s.notify(tx, ev)
		return err
	})
	if err == nil && e == nil && after != nil {
		after()
	}
	if err != nil || e != nil {
		if o.blob != "" {
			s.blobs.Remove(o.blob)
		}
		if err != nil {
			return internal(s, "record an object", err)
		}
		return e
	}
	for _, b := range drop {
		if err := s.blobs.Remove(b); err != nil {
			s.log.Warn("s3: remove a replaced body (the next start sweeps it)", "err", err)
		}
	}
	return nil
}

// openObject reads an object's row and opens its body; an overwrite
// between the two (its blob removed) is read again. version, when not
// nil, names the version wanted (*version "" the null version).
func (s *Service) openObject(r *http.Request, bucket, key string, version *string) (*object, Blob, *s3Error) {
	for try := 0; try < 5; try++ {
		var o, marker *object
		var hasBucket bool
		var state string
		err := s.st.View(r.Context(), func(tx *store.Tx) (err error) {
			if version == nil {
				if o, hasBucket, state, err = loadWithBucketTx(tx, bucket, key); o == nil && err == nil && state != "" {
					marker, err = newestMarkerTx(tx, bucket, key)
				}
				return err
			}
			if hasBucket, state, err = bucketStateTx(tx, bucket); err != nil || !hasBucket {
				return err
			}
			o, err = loadVersionTx(tx, bucket, key, *version)
			return err
		})
		switch {
		case err != nil:
			return nil, nil, internal(s, "read an object", err)
		case !hasBucket:
			return nil, nil, noSuchBucket(bucket)
		case marker != nil:
			return nil, nil, markerError(key, marker, false)
		case o == nil && version != nil:
			return nil, nil, noSuchVersion(key, wireVersion(*version))
		case o == nil:
			return nil, nil, noSuchKey(key)
		case o.marker:
			return nil, nil, markerError(key, o, true)
		}
		o.versioned = state != ""
		if o.blob == "" {
			return o, inlineBlob{bytes.NewReader(o.inline)}, nil
		}
		b, err := s.blobs.Open(o.blob)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, nil, internal(s, "open an object's body", err)
		}
		return o, b, nil
	}
	return nil, nil, internal(s, "open an object's body", errors.New("replaced five times while being opened"))
}

// objectHeaders writes an object's metadata as response headers.
func objectHeaders(w http.ResponseWriter, o *object, q url.Values, checksum bool) {
	h := w.Header()
	set := func(name, v string) {
		if v != "" {
			h.Set(name, v)
		}
	}
	set("Content-Type", o.meta.ContentType)
	set("Content-Encoding", o.meta.ContentEncoding)
	set("Content-Disposition", o.meta.ContentDisposition)
	set("Content-Language", o.meta.ContentLanguage)
	set("Cache-Control", o.meta.CacheControl)
	set("Expires", o.meta.Expires)
	for _, p := range []string{"content-type", "content-language", "expires", "cache-control", "content-disposition", "content-encoding"} {
		if v := q.Get("response-" + p); v != "" {
			h.Set(http.CanonicalHeaderKey(p), v)
		}
	}
	for k, v := range o.meta.User {
		h["X-Amz-Meta-"+k] = []string{v}
	}
	if checksum {
		for alg, v := range o.meta.Checksums {
			h.Set("x-amz-checksum-"+strings.ToLower(alg), v)
		}
	}
	h.Set("ETag", `"`+o.etag+`"`)
	h.Set("Last-Modified", o.modified.UTC().Format(http.TimeFormat))
	h.Set("Accept-Ranges", "bytes")
	versionHeader(w, o)
	lockHeaders(h, &o.meta)
	if len(o.meta.Tags) > 0 {
		h.Set("x-amz-tagging-count", strconv.Itoa(len(o.meta.Tags)))
	}
}

// conditions applies If-Match, If-None-Match, If-Modified-Since and
// If-Unmodified-Since as S3 does: 0 to go on, else 304 or 412.
func conditions(r *http.Request, o *object) int {
	etag := `"` + o.etag + `"`
	match := func(list string) bool {
		for _, t := range strings.Split(list, ",") {
			if t = strings.TrimSpace(t); t == "*" || t == etag || t == o.etag {
				return true
			}
		}
		return false
	}
	mod := o.modified.Truncate(time.Second)
	im, inm := r.Header.Get("If-Match"), r.Header.Get("If-None-Match")
	if im != "" && !match(im) {
		return http.StatusPreconditionFailed
	}
	if t, err := http.ParseTime(r.Header.Get("If-Unmodified-Since")); err == nil && im == "" && mod.After(t) {
		return http.StatusPreconditionFailed
	}
	if inm != "" && match(inm) {
		return http.StatusNotModified
	}
	if t, err := http.ParseTime(r.Header.Get("If-Modified-Since")); err == nil && inm == "" && !mod.After(t) {
		return http.StatusNotModified
	}
	return 0
}

// parseRange reads a Range header of one range against size: ok false
// means serve it whole (none, or one S3 ignores); unsatisfiable means 416.
func parseRange(h string, size int64) (start, end int64, ok, unsatisfiable bool) {
	spec, found := strings.CutPrefix(h, "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, 0, false, false
	}
	a, b, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return 0, 0, false, false
	}
	switch {
	case a == "": // the last b bytes
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n < 0 {
			return 0, 0, false, false
		}
		if n == 0 {
			return 0, 0, false, true
		}
		if n > size {
			n = size
		}
		if size == 0 {
			return 0, 0, false, true
		}
		return size - n, size - 1, true, false
	default:
		s, err := strconv.ParseInt(a, 10, 64)
		if err != nil || s < 0 {
			return 0, 0, false, false
		}
		e := size - 1
		if b != "" {
			if e, err = strconv.ParseInt(b, 10, 64); err != nil || e < s {
				return 0, 0, false, false
			}
		}
		if s >= size {
			return 0, 0, false, true
		}
		return s, min(e, size-1), true, false
	}
}

func (s *Service) getObject(w http.ResponseWriter, r *http.Request, call *awsapi.Call, bucket, key string, q url.Values) *s3Error {
	op := "GetObject"
	if r.Method == http.MethodHead {
		op = "HeadObject"
	}
	version, e := versionParam(q)
	if e != nil {
		return e
	}
	if version != nil {
		op += "Version"
	}
	if e := s.authorize(call, op, s.objectARN(bucket, key), nil); e != nil {
		return e
	}
	o, b, e := s.openObject(r, bucket, key, version)
	if e != nil {
		return e
	}
	defer b.Close()
	if status := conditions(r, o); status != 0 {
		if status == http.StatusNotModified {
			versionHeader(w, o)
			w.Header().Set("ETag", `"`+o.etag+`"`)
			w.Header().Set("Last-Modified", o.modified.UTC().Format(http.TimeFormat))
			w.WriteHeader(status)
			return nil
		}
		return errorf("PreconditionFailed", 412, "At least one of the pre-conditions you specified did not hold")
	}
	objectHeaders(w, o, q, r.Header.Get("x-amz-checksum-mode") == "ENABLED")
	start, end, ranged, bad := parseRange(r.Header.Get("Range"), o.size)
	if bad {
		w.Header().Set("Content-Range", "bytes */"+strconv.FormatInt(o.size, 10))
		return &s3Error{code: "InvalidRange", status: 416, msg: "The requested range is not satisfiable",
			extra: [][2]string{{"RangeRequested", r.Header.Get("Range")}, {"ActualObjectSize", strconv.FormatInt(o.size, 10)}}}
	}
	length := o.size
	status := http.StatusOK
	if ranged {
		length = end - start + 1
		status = http.StatusPartialContent
		w.Header().Set("Content-Range", "bytes "+strconv.FormatInt(start, 10)+"-"+strconv.FormatInt(end, 10)+"/"+strconv.FormatInt(o.size, 10))
	}
	w.Header().Set("Content-Length", strconv.FormatInt(length, 10))
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return nil
	}
	if _, err := io.Copy(w, io.NewSectionReader(b, start, length)); err != nil {
		s.log.Debug("s3: a GetObject's body ended early", "err", err)
	}
	return nil
}

// versionParam reads a request's ?versionId (nil: none).
func versionParam(q url.Values) (*string, *s3Error) {
	if !q.Has("versionId") {
		return nil, nil
	}
	v, e := parseVersionID(q.Get("versionId"))
	return &v, e
}

func (s *Service) deleteObject(w http.ResponseWriter, r *http.Request, call *awsapi.Call, bucket, key string, q url.Values) *s3Error {
	version, e := versionParam(q)
	if e != nil {
		return e
	}
	op := "DeleteObject"
	if version != nil {
		op = "DeleteObjectVersion"
	}
	if e := s.authorize(call, op, s.objectARN(bucket, key), nil); e != nil {
		return e
	}
	res, e := s.removeObject(r, call, bucket, key, version)
	if e != nil {
		return e
	}
	if res.versioned {
		w.Header().Set("x-amz-version-id", wireVersion(res.version))
	}
	if res.marker {
		w.Header().Set("x-amz-delete-marker", "true")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// removeObject deletes bucket/key (nothing when it is not there), or
// its version when version is not nil, with its notifications, and then
// the bodies no version names.
func (s *Service) removeObject(r *http.Request, call *awsapi.Call, bucket, key string, version *string) (deleteResult, *s3Error) {
	var drop []string
	var e *s3Error
	var after func()
	var res deleteResult
	bypass := version != nil && s.bypassAllowed(r, call, bucket, key)
	err := s.st.Update(r.Context(), func(tx *store.Tx) error {
		drop, e, after, res = nil, nil, nil, deleteResult{}
		ok, state, err := bucketStateTx(tx, bucket)
		if err != nil || !ok {
			e = orNoBucket(nil, bucket)
			return err
		}
		prev, err := loadHeadTx(tx, bucket, key)
		if err != nil {
			return err
		}
		if version != nil {
			if e, err = lockedTx(tx, bucket, key, *version, prev, bypass); err != nil || e != nil {
				return err
			}
			res, drop, err = deleteVersionTx(tx, bucket, key, *version, prev)
		} else {
			res, drop, err = deleteCurrentTx(tx, bucket, key, state, prev)
		}
		if err != nil || !res.removed || s.notify == nil {
			return err
		}
		name := "ObjectRemoved:Delete"
		if res.marker && version == nil {
			name = "ObjectRemoved:DeleteMarkerCreated"
		}
		ev := eventOf(r, call.RequestID, principalOf(call), bucket, key, name, 0, "")
		if res.versioned {
			ev.VersionID = wireVersion(res.version)
		}
		if ev.Configs, err = matchingConfigsTx(tx, bucket, ev.Name, key); err != nil {
			return err
		}
		after, err = s.notify(tx, ev)
		return err
	})
	if err != nil {
		return res, internal(s, "delete an object", err)
	}
	if after != nil {
		after()
	}
	if e != nil {
		return res, e
	}
	for _, b := range drop {
		s.blobs.Remove(b)
	}
	return res, nil
}

// copyObject serves CopyObject: x-amz-copy-source's body copied into a
// new blob, with its metadata (COPY, the default) or the request's
// (REPLACE).
func (s *Service) copyObject(w http.ResponseWriter, r *http.Request, call *awsapi.Call, bucket, key string) *s3Error {
	sb, sk, sv, e := parseCopySource(r.Header.Get("x-amz-copy-source"))
	if e != nil {
		return e
	}
	if e := s.authorize(call, copySourceOp(sv), s.objectARN(sb, sk), nil); e != nil {
		return e
	}
	if e := s.authorize(call, "CopyObject", s.objectARN(bucket, key), amzKeys(r)); e != nil {
		return e
	}
	directive := r.Header.Get("x-amz-metadata-directive")
	switch directive {
	case "", "COPY", "REPLACE":
	default:
		return errorf("InvalidArgument", 400, "Unknown metadata directive.")
	}
	tagDirective := r.Header.Get("x-amz-tagging-directive")
	switch tagDirective {
	case "", "COPY", "REPLACE":
	default:
		return errorf("InvalidArgument", 400, "Unknown tagging directive.")
	}
	if sb == bucket && sk == key && sv == nil && directive != "REPLACE" {
		return errorf("InvalidRequest", 400, "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.")
	}
	if ok, e := s.bucketExists(r, bucket); e != nil || !ok {
		return orNoBucket(e, bucket)
	}
	o, b, e := s.openObject(r, sb, sk, sv)
	if e != nil {
		return e
	}
	defer b.Close()
	meta := o.meta
	if meta.Lock, e = parseLockHeaders(r.Header); e != nil { // a copy's lock is its own request's
		return e
	}
	if directive == "REPLACE" {
		if meta, e = metaFrom(r.Header); e != nil {
			return e
		}
		meta.Checksums = o.meta.Checksums
	}
	// the tags go with the copy unless it replaces them; as on S3, reading
	// the source's takes s3:GetObjectTagging, and setting new ones
	// s3:PutObjectTagging
	meta.Tags = o.meta.Tags
	if tagDirective == "REPLACE" {
		tags, e := tagsFromHeader(r.Header.Get("x-amz-tagging"))
		if e != nil {
			return e
		}
		meta.Tags = tagMap(tags)
		if len(tags) > 0 {
			if e := s.authorize(call, "PutObjectTagging", s.objectARN(bucket, key), nil); e != nil {
				return e
			}
		}
	} else if len(meta.Tags) > 0 {
		op := "GetObjectTagging"
		if sv != nil {
			op = "GetObjectVersionTagging"
		}
		if e := s.authorize(call, op, s.objectARN(sb, sk), nil); e != nil {
			return e
		}
	}
	now := time.Now()
	no := &object{size: o.size, etag: o.etag, modified: now, meta: meta}
	if o.size <= InlineMax {
		buf := make([]byte, o.size)
		if _, err := b.ReadAt(buf, 0); err != nil && err != io.EOF {
			return internal(s, "copy an object's body", err)
		}
		no.inline = buf
	} else {
		bw, err := s.blobs.Create()
		if err != nil {
			return internal(s, "create a blob", err)
		}
		if _, err := io.Copy(bw, io.NewSectionReader(b, 0, o.size)); err != nil {
			bw.Abort()
			return internal(s, "copy an object's body", err)
		}
		if no.blob, no.size, _, err = bw.Commit(); err != nil {
			return internal(s, "write an object's body", err)
		}
	}
	etag := no.etag
	if e := s.commitObject(r, call, "ObjectCreated:Copy", bucket, key, no); e != nil {
		return e
	}
	if o.versioned {
		w.Header().Set("x-amz-copy-source-version-id", wireVersion(o.version))
	}
	versionHeader(w, no)
	writeXML(w, struct {
		XMLName      xml.Name `xml:"CopyObjectResult"`
		Xmlns        string   `xml:"xmlns,attr"`
		LastModified string   `xml:"LastModified"`
		ETag         string   `xml:"ETag"`
	}{Xmlns: xmlns, LastModified: now.UTC().Format(timeFormat), ETag: `"` + etag + `"`})
	return nil
}

// principalOf is the caller as S3's event records name it.
func principalOf(call *awsapi.Call) string {
	if call.Key != nil && call.Key.Principal != nil && !call.Key.Admin {
		return "AWS:" + call.Key.Principal.UserID
	}
	return "AWS:" + call.AccountID
}

// parseCopySource reads x-amz-copy-source: bucket/key, URL-encoded, with
// an optional leading slash and ?versionId (version nil: none).
func parseCopySource(h string) (bucket, key string, version *string, e *s3Error) {
	h, v, hasVersion := strings.Cut(h, "?versionId=") // before decoding: a key may hold an encoded one
	src, err := url.PathUnescape(h)
	if err != nil {
		return "", "", nil, errorf("InvalidArgument", 400, "Copy Source must mention the source bucket and key: sourcebucket/sourcekey")
	}
	bucket, key, ok := strings.Cut(strings.TrimPrefix(src, "/"), "/")
	if !ok || bucket == "" || key == "" {
		return "", "", nil, errorf("InvalidArgument", 400, "Copy Source must mention the source bucket and key: sourcebucket/sourcekey")
	}
	if hasVersion {
		id, e := parseVersionID(v)
		if e != nil {
			return "", "", nil, e
		}
		version = &id
	}
	return bucket, key, version, nil
}

// copySourceOp is the operation that reads a copy's source.
func copySourceOp(version *string) string {
	if version != nil {
		return "GetObjectVersion"
	}
	return "GetObject"
}

// inlineBlob reads a body kept in the store.
type inlineBlob struct{ *bytes.Reader }

func (inlineBlob) Close() error { return nil }

// requestedSums are the checksums a request asks for, in a header or as
// a trailer to come.
func requestedSums(r *http.Request) map[string]hash.Hash {
	sums := map[string]hash.Hash{}
	for alg, mk := range checksums {
		if r.Header.Get("x-amz-checksum-"+strings.ToLower(alg)) != "" {
			sums[alg] = mk()
		}
	}
	for _, t := range strings.Split(r.Header.Get("x-amz-trailer"), ",") {
		if alg, ok := strings.CutPrefix(strings.ToLower(strings.TrimSpace(t)), "x-amz-checksum-"); ok {
			if mk := checksums[strings.ToUpper(alg)]; mk != nil {
				sums[strings.ToUpper(alg)] = mk()
			}
		}
	}
	return sums
}

// checkSums compares the checksums computed of a body with the ones the
// request gave (once the body is read: a trailer comes after it).
func checkSums(r *http.Request, call *awsapi.Call, sums map[string]hash.Hash) (map[string]string, *s3Error) {
	var out map[string]string
	for alg, h := range sums {
		sum := base64.StdEncoding.EncodeToString(h.Sum(nil))
		want := r.Header.Get("x-amz-checksum-" + strings.ToLower(alg))
		if want == "" {
			want = call.Trailer().Get("x-amz-checksum-" + strings.ToLower(alg))
		}
		if want != sum {
			return nil, errorf("BadDigest", 400, "The "+alg+" you specified did not match the calculated checksum.")
		}
		if out == nil {
			out = map[string]string{}
		}
		out[alg] = sum
	}
	return out, nil
}

// contentMD5 reads a request's Content-MD5 (nil when it has none).
func contentMD5(r *http.Request) ([]byte, *s3Error) {
	cm := r.Header.Get("Content-MD5")
	if cm == "" {
		return nil, nil
	}
	b, err := base64.StdEncoding.DecodeString(cm)
	if err != nil || len(b) != md5.Size {
		return nil, errorf("InvalidDigest", 400, "The Content-MD5 you specified was invalid.")
	}
	return b, nil
}

// amzCondition are the request headers S3 offers as condition keys
// (s3:x-amz-acl, …) to the policies that authorize a write.
var amzCondition = []string{"acl", "copy-source", "metadata-directive", "server-side-encryption", "server-side-encryption-aws-kms-key-id",
	"storage-class", "website-redirect-location", "content-sha256", "object-lock-mode", "object-lock-retain-until-date", "object-lock-legal-hold",
	"grant-read", "grant-write", "grant-read-acp", "grant-write-acp", "grant-full-control"}

// amzKeys sets a write's s3:x-amz-* condition keys from its headers.
func amzKeys(r *http.Request) func(*iam.Context) {
	return func(c *iam.Context) {
		for _, name := range amzCondition {
			if v := r.Header.Get("x-amz-" + name); v != "" {
				c.Set("s3:x-amz-"+name, v)
			}
		}
	}
}
