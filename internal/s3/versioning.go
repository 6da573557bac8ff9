package s3

import (
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"encoding/xml"
	"errors"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cloudlet/cloudlet/internal/awsapi"
	"github.com/cloudlet/cloudlet/internal/store"
)

// Versioning, as S3 keeps it. A bucket is unversioned until versioning
// is first Enabled; after that it is Enabled or Suspended, never
// unversioned again. s3_objects holds each key's current version;
// s3_versions holds the others (delete markers among them), newest by
// seq. When a key has no current version, its newest one is a delete
// marker: a version is demoted only by a newer write or delete, and a
// permanent delete of the current version promotes the newest
// non-marker below it.
//
// The null version ("" in the store, "null" on the wire) is what an
// unversioned or Suspended bucket writes: a key has at most one, and a
// write in a Suspended bucket replaces it wherever it is.

const (
	versioningEnabled   = "Enabled"
	versioningSuspended = "Suspended"
)

// bucketStateTx answers whether bucket exists and its versioning state.
func bucketStateTx(tx *store.Tx, bucket string) (ok bool, versioning string, err error) {
	err = tx.QueryRow(`SELECT versioning FROM s3_buckets WHERE name = ?`, bucket).Scan(&versioning)
	return bucketFound(err, versioning)
}

// bucketRowTx is bucketStateTx with the bucket's doc as stored (JSON),
// in the same read.
func bucketRowTx(tx *store.Tx, bucket string) (ok bool, versioning, doc string, err error) {
	err = tx.QueryRow(`SELECT versioning, doc FROM s3_buckets WHERE name = ?`, bucket).Scan(&versioning, &doc)
	ok, versioning, err = bucketFound(err, versioning)
	return ok, versioning, doc, err
}

func bucketFound(err error, versioning string) (bool, string, error) {
	if errors.Is(err, sql.ErrNoRows) {
		return false, "", nil
	}
	return err == nil, versioning, err
}

// newVersionID is a fresh version id: 32 letters and digits, as S3's
// look (none starts with "-", which command lines would take for an
// option).
func newVersionID() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 32)
	rand.Read(b)
	for i, c := range b {
		b[i] = alphabet[int(c)%len(alphabet)] // 256 % 62 skews a little; ids need only be unique
	}
	return string(b)
}

// parseVersionID reads a request's versionId: "null" is the null
// version ("").
func parseVersionID(v string) (string, *s3Error) {
	if v == "null" {
		return "", nil
	}
	if len(v) != 32 || strings.Trim(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") != "" {
		return "", &s3Error{code: "InvalidArgument", status: 400, msg: "Invalid version id specified",
			extra: [][2]string{{"ArgumentName", "versionId"}, {"ArgumentValue", v}}}
	}
	return v, nil
}

// wireVersion is a version id as S3 answers it.
func wireVersion(v string) string {
	if v == "" {
		return "null"
	}
	return v
}

// versionHeader names o's version in an answer, when its bucket is
// versioned (or the object has a version).
func versionHeader(w http.ResponseWriter, o *object) {
	if o.versioned || o.version != "" {
		w.Header().Set("x-amz-version-id", wireVersion(o.version))
	}
}

// nextSeq orders versions: later is newer (the sequencer's clock).
func nextSeq() int64 {
	n := uint64(time.Now().UnixNano())
	for {
		old := sequence.Load()
		if n <= old {
			n = old + 1
		}
		if sequence.CompareAndSwap(old, n) {
			return int64(n)
		}
	}
}

// demoteTx copies bucket/key's current version into s3_versions, as the
// newest one there (its row in s3_objects is the caller's to replace or
// delete).
func demoteTx(tx *store.Tx, bucket, key string) error {
	_, err := tx.Exec(`INSERT INTO s3_versions (bucket, key, version, seq, marker, blob, size, etag, modified, doc, body)
		SELECT bucket, key, version, ?, 0, blob, size, etag, modified, doc, body FROM s3_objects WHERE bucket = ? AND key = ?`,
		nextSeq(), bucket, key)
	return err
}

// dropVersionRowTx deletes version v of bucket/key from s3_versions,
// answering whether it was there, a marker, and its blob.
func dropVersionRowTx(tx *store.Tx, bucket, key, v string) (found, marker bool, blob string, err error) {
	err = tx.QueryRow(`SELECT marker, blob FROM s3_versions WHERE bucket = ? AND key = ? AND version = ?`, bucket, key, v).Scan(&marker, &blob)
	if errors.Is(err, sql.ErrNoRows) {
		return false, false, "", nil
	}
	if err != nil {
		return false, false, "", err
	}
	_, err = tx.Exec(`DELETE FROM s3_versions WHERE bucket = ? AND key = ? AND version = ?`, bucket, key, v)
	return true, marker, blob, err
}

// promoteTx makes the newest version of bucket/key in s3_versions
// current when it is not a delete marker (the key has no current
// version).
func promoteTx(tx *store.Tx, bucket, key string) error {
	var v string
	var marker bool
	err := tx.QueryRow(`SELECT version, marker FROM s3_versions WHERE bucket = ? AND key = ? ORDER BY seq DESC LIMIT 1`, bucket, key).Scan(&v, &marker)
	if errors.Is(err, sql.ErrNoRows) || err == nil && marker {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := tx.Exec(`INSERT INTO s3_objects (bucket, key, blob, size, etag, modified, doc, body, version)
		SELECT bucket, key, blob, size, etag, modified, doc, body, version FROM s3_versions WHERE bucket = ? AND key = ? AND version = ?`,
		bucket, key, v); err != nil {
		return err
	}
	_, err = tx.Exec(`DELETE FROM s3_versions WHERE bucket = ? AND key = ? AND version = ?`, bucket, key, v)
	return err
}

// putVersionTx readies bucket/key for o to become its current version
// under the bucket's versioning state, prev being the current one (nil:
// none): it sets o's version, keeps prev as a noncurrent version when
// versioning asks, and answers the blobs no version names any more. The
// caller then writes o's row.
func putVersionTx(tx *store.Tx, bucket, key, state string, o, prev *object) (drop []string, err error) {
	o.versioned, o.version = state != "", ""
	switch state {
	case "":
		if prev != nil && prev.blob != "" {
			drop = append(drop, prev.blob)
		}
		return drop, nil
	case versioningEnabled:
		o.version = newVersionID()
	default: // Suspended: the new object is the null version, wherever that was
		_, _, blob, err := dropVersionRowTx(tx, bucket, key, "")
		if err != nil {
			return nil, err
		}
		if blob != "" {
			drop = append(drop, blob)
		}
	}
	if prev != nil {
		if prev.version == "" && state == versioningSuspended {
			if prev.blob != "" {
				drop = append(drop, prev.blob)
			}
		} else if err := demoteTx(tx, bucket, key); err != nil {
			return nil, err
		}
	}
	return drop, nil
}

// deleteResult is what a delete did.
type deleteResult struct {
	version   string // the version deleted or the marker created
	marker    bool   // a delete marker was created, or deleted
	versioned bool   // the answer names version
	removed   bool   // something was deleted or created
}

// deleteCurrentTx deletes bucket/key without a version id: the object
// goes (unversioned) or a delete marker becomes the newest version.
func deleteCurrentTx(tx *store.Tx, bucket, key, state string, prev *object) (res deleteResult, drop []string, err error) {
	if state == "" {
		if prev == nil {
			return res, nil, nil
		}
		if _, err := tx.Exec(`DELETE FROM s3_objects WHERE bucket = ? AND key = ?`, bucket, key); err != nil {
			return res, nil, err
		}
		if prev.blob != "" {
			drop = append(drop, prev.blob)
		}
		return deleteResult{removed: true}, drop, nil
	}
	marker := &object{}
	if drop, err = putVersionTx(tx, bucket, key, state, marker, prev); err != nil {
		return res, nil, err
	}
	if prev != nil {
		if _, err := tx.Exec(`DELETE FROM s3_objects WHERE bucket = ? AND key = ?`, bucket, key); err != nil {
			return res, nil, err
		}
	}
	_, err = tx.Exec(`INSERT INTO s3_versions (bucket, key, version, seq, marker, blob, size, etag, modified, doc, body)
		VALUES (?, ?, ?, ?, 1, '', 0, '', ?, '{}', NULL)`, bucket, key, marker.version, nextSeq(), time.Now().UnixMilli())
	return deleteResult{version: marker.version, marker: true, versioned: true, removed: true}, drop, err
}

// deleteVersionTx deletes version v of bucket/key for good; when it was
// the newest, the newest left that is not a delete marker becomes
// current.
func deleteVersionTx(tx *store.Tx, bucket, key, v string, prev *object) (res deleteResult, drop []string, err error) {
	res = deleteResult{version: v, versioned: true}
	if prev != nil && prev.version == v {
		if _, err := tx.Exec(`DELETE FROM s3_objects WHERE bucket = ? AND key = ?`, bucket, key); err != nil {
			return res, nil, err
		}
		if prev.blob != "" {
			drop = append(drop, prev.blob)
		}
		res.removed = true
		return res, drop, promoteTx(tx, bucket, key)
	}
	found, marker, blob, err := dropVersionRowTx(tx, bucket, key, v)
	if err != nil || !found {
		return res, nil, err
	}
	res.marker, res.removed = marker, true
	if blob != "" {
		drop = append(drop, blob)
	}
	if prev == nil {
		err = promoteTx(tx, bucket, key)
	}
	return res, drop, err
}

// loadVersionTx reads version v of bucket/key, current or not (nil:
// none).
func loadVersionTx(tx *store.Tx, bucket, key, v string) (*object, error) {
	o, err := loadObjectTx(tx, bucket, key)
	if err != nil || o != nil && o.version == v {
		return o, err
	}
	o = &object{version: v}
	var mod int64
	var doc string
	err = tx.QueryRow(`SELECT blob, size, etag, modified, doc, body, marker FROM s3_versions WHERE bucket = ? AND key = ? AND version = ?`, bucket, key, v).
		Scan(&o.blob, &o.size, &o.etag, &mod, &doc, &o.inline, &o.marker)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	o.modified = time.UnixMilli(mod)
	json.Unmarshal([]byte(doc), &o.meta)
	return o, nil
}

// newestMarkerTx is the delete marker that hides bucket/key (nil: none).
func newestMarkerTx(tx *store.Tx, bucket, key string) (*object, error) {
	o := &object{versioned: true}
	var mod int64
	err := tx.QueryRow(`SELECT version, marker, modified FROM s3_versions WHERE bucket = ? AND key = ? ORDER BY seq DESC LIMIT 1`, bucket, key).
		Scan(&o.version, &o.marker, &mod)
	if errors.Is(err, sql.ErrNoRows) || err == nil && !o.marker {
		return nil, nil
	}
	o.modified = time.UnixMilli(mod)
	return o, err
}

// markerError is the answer for a delete marker where an object was
// asked for: 404 for the current version, 405 for a version named.
func markerError(key string, m *object, named bool) *s3Error {
	e := noSuchKey(key)
	if named {
		e = methodNotAllowed()
		e.extra = [][2]string{{"Method", "GET"}, {"ResourceType", "DeleteMarker"}}
	}
	e.headers = [][2]string{{"x-amz-delete-marker", "true"}, {"x-amz-version-id", wireVersion(m.version)},
		{"Last-Modified", m.modified.UTC().Format(http.TimeFormat)}}
	return e
}

func noSuchVersion(key, v string) *s3Error {
	return &s3Error{code: "NoSuchVersion", status: 404, msg: "The specified version does not exist.", key: key,
		extra: [][2]string{{"VersionId", v}}}
}

// versioningOp serves Put/GetBucketVersioning.
func (s *Service) versioningOp(w http.ResponseWriter, r *http.Request, call *awsapi.Call, bucket string) *s3Error {
	type config struct {
		XMLName   xml.Name `xml:"VersioningConfiguration"`
		Xmlns     string   `xml:"xmlns,attr,omitempty"`
		Status    string   `xml:"Status,omitempty"`
		MfaDelete string   `xml:"MfaDelete,omitempty"`
	}
	switch r.Method {
	case http.MethodGet:
		if e := s.authorize(call, "GetBucketVersioning", s.bucketARN(bucket), nil); e != nil {
			return e
		}
		var ok bool
		var state string
		if err := s.st.View(r.Context(), func(tx *store.Tx) (err error) {
			ok, state, err = bucketStateTx(tx, bucket)
			return err
		}); err != nil {
			return internal(s, "read a bucket's versioning", err)
		}
		if !ok {
			return noSuchBucket(bucket)
		}
		writeXML(w, config{Xmlns: xmlns, Status: state})
		return nil
	case http.MethodPut:
		if e := s.authorize(call, "PutBucketVersioning", s.bucketARN(bucket), nil); e != nil {
			return e
		}
		body, e := readSmall(r, 64<<10)
		if e != nil {
			return e
		}
		var c config
		if xml.Unmarshal(body, &c) != nil || c.Status != versioningEnabled && c.Status != versioningSuspended ||
			c.MfaDelete != "" && c.MfaDelete != "Enabled" && c.MfaDelete != "Disabled" {
			return malformedXML()
		}
		if c.MfaDelete == "Enabled" {
			return errorf("InvalidRequest", 400, "DevPay and Mfa are mutually exclusive authorization methods.")
		}
		var found bool
		var e2 *s3Error
		err := s.st.Update(r.Context(), func(tx *store.Tx) error {
			e2 = nil
			d, err := bucketDocTx(tx, bucket)
			if err != nil || d == nil {
				found = false
				return err
			}
			found = true
			if d.ObjectLock != nil && c.Status != versioningEnabled {
				e2 = errorf("InvalidBucketState", 409, "An Object Lock configuration is present on this bucket, so the versioning state cannot be changed.")
				return nil
			}
			_, err = tx.Exec(`UPDATE s3_buckets SET versioning = ? WHERE name = ?`, c.Status, bucket)
			return err
		})
		if err != nil {
			return internal(s, "set a bucket's versioning", err)
		}
		if !found {
			return noSuchBucket(bucket)
		}
		if e2 != nil {
			return e2
		}
		w.WriteHeader(http.StatusOK)
		return nil
	}
	return methodNotAllowed()
}

// currentSeq orders a key's current version before its others in
// ListObjectVersions (s3_versions' seqs are clock nanoseconds).
const currentSeq = math.MaxInt64 - 1

type versionEntry struct {
	XMLName      xml.Name // Version or DeleteMarker
	Key          string   `xml:"Key"`
	VersionID    string   `xml:"VersionId"`
	IsLatest     bool     `xml:"IsLatest"`
	LastModified string   `xml:"LastModified"`
	ETag         string   `xml:"ETag,omitempty"`
	Size         *int64   `xml:"Size,omitempty"`
	Owner        owner    `xml:"Owner"`
	StorageClass string   `xml:"StorageClass,omitempty"`
}

// listVersions serves ListObjectVersions (GET ?versions): every version
// and delete marker, by key and then newest first.
func (s *Service) listVersions(w http.ResponseWriter, r *http.Request, call *awsapi.Call, bucket string, q url.Values) *s3Error {
	prefix, delim := q.Get("prefix"), q.Get("delimiter")
	keyMarker, versionMarker := q.Get("key-marker"), q.Get("version-id-marker")
	maxKeys, encode, e := listParams(q, "max-keys")
	if e != nil {
		return e
	}
	if versionMarker != "" && keyMarker == "" {
		return &s3Error{code: "InvalidArgument", status: 400, msg: "A version-id marker cannot be specified without a key marker.",
			extra: [][2]string{{"ArgumentName", "version-id-marker"}, {"ArgumentValue", versionMarker}}}
	}
	var markerVersion *string
	if versionMarker != "" {
		v, e := parseVersionID(versionMarker)
		if e != nil {
			return e
		}
		markerVersion = &v
	}
	if e := s.authorize(call, "ListObjectVersions", s.bucketARN(bucket), listKeys(prefix, delim, maxKeys)); e != nil {
		return e
	}
	var entries []versionEntry
	var prefixes []prefixXML
	truncated := false
	nextKey, nextVersion := "", ""
	err := s.st.View(r.Context(), func(tx *store.Tx) error {
		ok, _, err := bucketStateTx(tx, bucket)
		if err != nil || !ok {
			e = orNoBucket(nil, bucket)
			return err
		}
		// the cursor: rows after (key, seq) in (key, seq descending) order
		curKey, curSeq := prefix, int64(math.MaxInt64)
		midKey := "" // the key a version marker starts inside: none of its rows is the latest
		if keyMarker != "" && keyMarker >= prefix {
			curKey, curSeq = keyMarker, math.MinInt64
			if markerVersion != nil {
				var cur string
				err := tx.QueryRow(`SELECT version FROM s3_objects WHERE bucket = ? AND key = ?`, bucket, keyMarker).Scan(&cur)
				switch {
				case err == nil && cur == *markerVersion:
					curSeq, midKey = currentSeq, keyMarker
				case err != nil && !errors.Is(err, sql.ErrNoRows):
					return err
				default:
					var seq int64
					err := tx.QueryRow(`SELECT seq FROM s3_versions WHERE bucket = ? AND key = ? AND version = ?`, bucket, keyMarker, *markerVersion).Scan(&seq)
					if err == nil {
						curSeq, midKey = seq, keyMarker
					} else if !errors.Is(err, sql.ErrNoRows) {
						return err
					}
				}
			}
		}
		seenPrefix := prefixMarker(keyMarker, prefix, delim)
		if seenPrefix != "" {
			curKey, curSeq = past(seenPrefix), int64(math.MaxInt64)
		}
		if maxKeys == 0 {
			return nil
		}
		count, lastKey := 0, "\x00none"
		if midKey != "" {
			lastKey = midKey
		}
		for !truncated {
			rows, err := tx.Query(`SELECT key, version, seq, marker, size, etag, modified FROM (
					SELECT key, version, ? AS seq, 0 AS marker, size, etag, modified FROM s3_objects WHERE bucket = ? AND key >= ?
					UNION ALL
					SELECT key, version, seq, marker, size, etag, modified FROM s3_versions WHERE bucket = ? AND key >= ?)
				WHERE key > ? OR key = ? AND seq < ? ORDER BY key, seq DESC LIMIT 1001`,
				currentSeq, bucket, curKey, bucket, curKey, curKey, curKey, curSeq)
			if err != nil {
				return err
			}
			n, skipped := 0, 0
			stop, seek := false, false
			for rows.Next() {
				var x versionEntry
				var version, etag string
				var seq, size, mod int64
				var marker bool
				if err := rows.Scan(&x.Key, &version, &seq, &marker, &size, &etag, &mod); err != nil {
					rows.Close()
					return err
				}
				n++
				s.listRows.Add(1)
				curKey, curSeq = x.Key, seq
				first := x.Key != lastKey
				lastKey = x.Key
				if !strings.HasPrefix(x.Key, prefix) {
					if x.Key > prefix {
						stop = true
						break
					}
					continue
				}
				if cp := commonPrefix(x.Key, prefix, delim); cp != "" {
					if cp == seenPrefix {
						if skipped++; skipped == seekAfter { // a large common prefix: past its rows at once
							curKey, curSeq, seek = past(cp), int64(math.MaxInt64), true
							break
						}
						continue
					}
					if count == maxKeys {
						truncated = true
						break
					}
					seenPrefix, nextKey, nextVersion, skipped = cp, cp, "", 0
					prefixes = append(prefixes, prefixXML{Prefix: cp})
					count++
					continue
				}
				if count == maxKeys {
					truncated = true
					break
				}
				x.VersionID = wireVersion(version)
				x.IsLatest = seq == currentSeq || marker && first
				x.LastModified = time.UnixMilli(mod).UTC().Format(timeFormat)
				x.Owner = s.owner()
				x.XMLName.Local = "DeleteMarker"
				if !marker {
					x.XMLName.Local, x.ETag, x.Size, x.StorageClass = "Version", `"`+etag+`"`, &size, "STANDARD"
				}
				entries = append(entries, x)
				nextKey, nextVersion = x.Key, x.VersionID
				count++
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			if stop || n < 1001 && !seek {
				break
			}
		}
		return nil
	})
	if err != nil {
		return internal(s, "list object versions", err)
	}
	if e != nil {
		return e
	}
	enc := encoder(encode)
	for i := range entries {
		entries[i].Key = enc(entries[i].Key)
	}
	for i := range prefixes {
		prefixes[i].Prefix = enc(prefixes[i].Prefix)
	}
	res := struct {
		XMLName             xml.Name       `xml:"ListVersionsResult"`
		Xmlns               string         `xml:"xmlns,attr"`
		Name                string         `xml:"Name"`
		Prefix              string         `xml:"Prefix"`
		KeyMarker           string         `xml:"KeyMarker"`
		VersionIDMarker     string         `xml:"VersionIdMarker"`
		NextKeyMarker       string         `xml:"NextKeyMarker,omitempty"`
		NextVersionIDMarker string         `xml:"NextVersionIdMarker,omitempty"`
		MaxKeys             int            `xml:"MaxKeys"`
		Delimiter           string         `xml:"Delimiter,omitempty"`
		EncodingType        string         `xml:"EncodingType,omitempty"`
		IsTruncated         bool           `xml:"IsTruncated"`
		Entries             []versionEntry // Version and DeleteMarker, in order
		CommonPrefixes      []prefixXML    `xml:"CommonPrefixes"`
	}{Xmlns: xmlns, Name: bucket, Prefix: enc(prefix), KeyMarker: enc(keyMarker), VersionIDMarker: versionMarker, MaxKeys: maxKeys,
		Delimiter: enc(delim), IsTruncated: truncated, Entries: entries, CommonPrefixes: prefixes}
	if encode {
		res.EncodingType = "url"
	}
	if truncated {
		res.NextKeyMarker, res.NextVersionIDMarker = enc(nextKey), nextVersion
	}
	writeXML(w, res)
	return nil
}
