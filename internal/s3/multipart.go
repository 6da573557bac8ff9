package s3

import (
	"crypto/md5"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cloudlet/cloudlet/internal/awsapi"
	"github.com/cloudlet/cloudlet/internal/store"
)

// Multipart uploads: parts stream to blobs of their own, as PutObject's
// bodies do; CompleteMultipartUpload writes the object's body from its
// parts (in order) into one new blob, then commits the object and drops
// the upload and its parts in one transaction.

// MinPartSize is the smallest part but the last (S3's 5 MiB).
var MinPartSize int64 = 5 << 20

func noSuchUpload(id string) *s3Error {
	return &s3Error{code: "NoSuchUpload", status: 404, msg: "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
		extra: [][2]string{{"UploadId", id}}}
}

type upload struct {
	id, bucket, key string
	initiated       time.Time
	meta            objectMeta
}

func loadUploadTx(tx *store.Tx, id string) (*upload, error) {
	var u upload
	var at int64
	var doc string
	err := tx.QueryRow(`SELECT id, bucket, key, initiated, doc FROM s3_uploads WHERE id = ?`, id).Scan(&u.id, &u.bucket, &u.key, &at, &doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	u.initiated = time.UnixMilli(at)
	json.Unmarshal([]byte(doc), &u.meta)
	return &u, nil
}

// multipartOp serves the multipart operations on bucket/key; ok is false
// when the request is none of them.
func (s *Service) multipartOp(w http.ResponseWriter, r *http.Request, call *awsapi.Call, bucket, key string, q url.Values) (e *s3Error, ok bool) {
	id := q.Get("uploadId")
	switch {
	case r.Method == http.MethodPost && q.Has("uploads"):
		return s.createUpload(w, r, call, bucket, key), true
	case id == "":
		return nil, false
	case r.Method == http.MethodPut && q.Has("partNumber"):
		return s.uploadPart(w, r, call, bucket, key, id, q.Get("partNumber")), true
	case r.Method == http.MethodPost:
		return s.completeUpload(w, r, call, bucket, key, id), true
	case r.Method == http.MethodDelete:
		if e := s.authorize(call, "AbortMultipartUpload", s.objectARN(bucket, key), nil); e != nil {
			return e, true
		}
		return s.abortUpload(w, r, bucket, key, id), true
	case r.Method == http.MethodGet:
		if e := s.authorize(call, "ListParts", s.objectARN(bucket, key), nil); e != nil {
			return e, true
		}
		return s.listParts(w, r, bucket, key, id, q), true
	}
	return nil, false
}

func (s *Service) createUpload(w http.ResponseWriter, r *http.Request, call *awsapi.Call, bucket, key string) *s3Error {
	if e := s.authorize(call, "CreateMultipartUpload", s.objectARN(bucket, key), amzKeys(r)); e != nil {
		return e
	}
	meta, e := metaFrom(r.Header)
	if e != nil {
		return e
	}
	// upload ids sort in the order uploads start (ListMultipartUploads'
	// order for a key, and its upload-id-marker, hold whether the marker's
	// upload is still there): the clock, then randomness
	id := fmt.Sprintf("%016x", nextSeq()) + newBlobID()[:16] + newBlobID()
	doc, _ := json.Marshal(meta)
	err := s.st.Update(r.Context(), func(tx *store.Tx) error {
		e = nil
		ok, err := bucketExistsTx(tx, bucket)
		if err != nil || !ok {
			e = orNoBucket(nil, bucket)
			return err
		}
		_, err = tx.Exec(`INSERT INTO s3_uploads (id, bucket, key, initiated, doc) VALUES (?, ?, ?, ?, ?)`, id, bucket, key, time.Now().UnixMilli(), string(doc))
		return err
	})
	if err != nil {
		return internal(s, "create an upload", err)
	}
	if e != nil {
		return e
	}
	writeXML(w, struct {
		XMLName  xml.Name `xml:"InitiateMultipartUploadResult"`
		Xmlns    string   `xml:"xmlns,attr"`
		Bucket   string   `xml:"Bucket"`
		Key      string   `xml:"Key"`
		UploadID string   `xml:"UploadId"`
	}{Xmlns: xmlns, Bucket: bucket, Key: key, UploadID: id})
	return nil
}

// uploadPart serves UploadPart, and UploadPartCopy (x-amz-copy-source).
func (s *Service) uploadPart(w http.ResponseWriter, r *http.Request, call *awsapi.Call, bucket, key, id, number string) *s3Error {
	if e := s.authorize(call, "UploadPart", s.objectARN(bucket, key), nil); e != nil {
		return e
	}
	n, err := strconv.Atoi(number)
	if err != nil || n < 1 || n > 10000 {
		return &s3Error{code: "InvalidArgument", status: 400, msg: "Part number must be an integer between 1 and 10000, inclusive",
			extra: [][2]string{{"ArgumentName", "partNumber"}, {"ArgumentValue", number}}}
	}
	if e := s.checkUpload(r, bucket, key, id); e != nil {
		return e
	}
	copySrc := r.Header.Get("x-amz-copy-source")
	wantMD5, e := contentMD5(r)
	if e != nil {
		return e
	}
	sums := requestedSums(r)
	bw, err := s.blobs.Create()
	if err != nil {
		return internal(s, "create a blob", err)
	}
	if copySrc != "" {
		sb, sk, sv, e := parseCopySource(copySrc)
		if e != nil {
			bw.Abort()
			return e
		}
		if e := s.authorize(call, copySourceOp(sv), s.objectARN(sb, sk), nil); e != nil {
			bw.Abort()
			return e
		}
		o, b, e := s.openObject(r, sb, sk, sv)
		if e != nil {
			bw.Abort()
			return e
		}
		start, length := int64(0), o.size
		if rg := r.Header.Get("x-amz-copy-source-range"); rg != "" {
			st, end, ok, _ := parseRange(rg, o.size)
			if !ok || strings.HasPrefix(strings.TrimPrefix(rg, "bytes="), "-") {
				b.Close()
				bw.Abort()
				return errorf("InvalidArgument", 400, "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy")
			}
			start, length = st, end-st+1
		}
		_, err = io.Copy(bw, io.NewSectionReader(b, start, length))
		b.Close()
	} else {
		dst := []io.Writer{bw}
		for _, h := range sums {
			dst = append(dst, h)
		}
		_, err = io.Copy(io.MultiWriter(dst...), io.LimitReader(r.Body, MaxPutSize+1))
	}
	if err != nil {
		bw.Abort()
		return bodyError(err)
	}
	if _, e := checkSums(r, call, sums); e != nil {
		bw.Abort()
		return e
	}
	blob, size, sum, err := bw.Commit()
	if err != nil {
		return internal(s, "write a part", err)
	}
	if wantMD5 != nil && string(wantMD5) != string(sum) {
		s.blobs.Remove(blob)
		return errorf("BadDigest", 400, "The Content-MD5 you specified did not match what we received.")
	}
	if size > MaxPutSize {
		s.blobs.Remove(blob)
		return errorf("EntityTooLarge", 400, "Your proposed upload exceeds the maximum allowed size")
	}
	etag := hex.EncodeToString(sum)
	var old string
	err = s.st.Update(r.Context(), func(tx *store.Tx) error {
		old, e = "", nil
		u, err := loadUploadTx(tx, id)
		if err != nil {
			return err
		}
		if u == nil { // aborted or completed while the part came
			e = noSuchUpload(id)
			return nil
		}
		tx.QueryRow(`SELECT blob FROM s3_parts WHERE upload = ? AND number = ?`, id, n).Scan(&old)
		_, err = tx.Exec(`INSERT INTO s3_parts (upload, number, blob, size, etag, modified) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (upload, number) DO UPDATE SET blob = excluded.blob, size = excluded.size, etag = excluded.etag, modified = excluded.modified`,
			id, n, blob, size, etag, time.Now().UnixMilli())
		return err
	})
	if err != nil || e != nil {
		s.blobs.Remove(blob)
		if err != nil {
			return internal(s, "record a part", err)
		}
		return e
	}
	if old != "" {
		s.blobs.Remove(old)
	}
	if copySrc != "" {
		writeXML(w, struct {
			XMLName      xml.Name `xml:"CopyPartResult"`
			Xmlns        string   `xml:"xmlns,attr"`
			LastModified string   `xml:"LastModified"`
			ETag         string   `xml:"ETag"`
		}{Xmlns: xmlns, LastModified: time.Now().UTC().Format(timeFormat), ETag: `"` + etag + `"`})
		return nil
	}
	w.Header().Set("ETag", `"`+etag+`"`)
	w.WriteHeader(http.StatusOK)
	return nil
}

// checkUpload answers NoSuchUpload unless id is an upload of bucket/key.
func (s *Service) checkUpload(r *http.Request, bucket, key, id string) *s3Error {
	var u *upload
	var hasBucket bool
	err := s.st.View(r.Context(), func(tx *store.Tx) (err error) {
		if hasBucket, err = bucketExistsTx(tx, bucket); err != nil || !hasBucket {
			return err
		}
		u, err = loadUploadTx(tx, id)
		return err
	})
	switch {
	case err != nil:
		return internal(s, "read an upload", err)
	case !hasBucket:
		return noSuchBucket(bucket)
	case u == nil || u.bucket != bucket || u.key != key:
		return noSuchUpload(id)
	}
	return nil
}

type part struct {
	number     int
	blob, etag string
	size       int64
	modified   time.Time
}

func partsTx(tx *store.Tx, id string) ([]part, error) {
	rows, err := tx.Query(`SELECT number, blob, size, etag, modified FROM s3_parts WHERE upload = ? ORDER BY number`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []part
	for rows.Next() {
		var p part
		var mod int64
		if err := rows.Scan(&p.number, &p.blob, &p.size, &p.etag, &mod); err != nil {
			return nil, err
		}
		p.modified = time.UnixMilli(mod)
		out = append(out, p)
	}
	return out, rows.Err()
}

// completeRequest is CompleteMultipartUpload's body.
type completeRequest struct {
	XMLName xml.Name `xml:"CompleteMultipartUpload"`
	Parts   []struct {
		PartNumber int    `xml:"PartNumber"`
		ETag       string `xml:"ETag"`
	} `xml:"Part"`
}

func parseComplete(body []byte) (*completeRequest, *s3Error) {
	var c completeRequest
	if err := xml.Unmarshal(body, &c); err != nil || c.XMLName.Local != "CompleteMultipartUpload" || len(c.Parts) == 0 || len(c.Parts) > 10000 {
		return nil, malformedXML()
	}
	for i, p := range c.Parts {
		if i > 0 && p.PartNumber <= c.Parts[i-1].PartNumber {
			return nil, errorf("InvalidPartOrder", 400, "The list of parts was not in ascending order. Parts must be ordered by part number.")
		}
	}
	return &c, nil
}

func (s *Service) completeUpload(w http.ResponseWriter, r *http.Request, call *awsapi.Call, bucket, key, id string) *s3Error {
	if e := s.authorize(call, "CompleteMultipartUpload", s.objectARN(bucket, key), nil); e != nil {
		return e
	}
	body, e := readSmall(r, 4<<20)
	if e != nil {
		return e
	}
	req, e := parseComplete(body)
	if e != nil {
		return e
	}
	if e := s.checkUpload(r, bucket, key, id); e != nil {
		return e
	}
	var u *upload
	var have []part
	if err := s.st.View(r.Context(), func(tx *store.Tx) (err error) {
		if u, err = loadUploadTx(tx, id); err != nil || u == nil {
			return err
		}
		have, err = partsTx(tx, id)
		return err
	}); err != nil {
		return internal(s, "read an upload's parts", err)
	}
	if u == nil {
		return noSuchUpload(id)
	}
	byNumber := map[int]part{}
	for _, p := range have {
		byNumber[p.number] = p
	}
	var chosen []part
	for i, want := range req.Parts {
		p, ok := byNumber[want.PartNumber]
		if !ok || strings.Trim(want.ETag, `"`) != p.etag {
			return &s3Error{code: "InvalidPart", status: 400, msg: "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
				extra: [][2]string{{"UploadId", id}, {"PartNumber", strconv.Itoa(want.PartNumber)}}}
		}
		if i < len(req.Parts)-1 && p.size < MinPartSize {
			return &s3Error{code: "EntityTooSmall", status: 400, msg: "Your proposed upload is smaller than the minimum allowed object size.",
				extra: [][2]string{{"ProposedSize", strconv.FormatInt(p.size, 10)}, {"MinSizeAllowed", strconv.FormatInt(MinPartSize, 10)}}}
		}
		chosen = append(chosen, p)
	}
	// the object's body: the chosen parts, in order
	bw, err := s.blobs.Create()
	if err != nil {
		return internal(s, "create a blob", err)
	}
	sums := md5.New()
	for _, p := range chosen {
		b, err := s.blobs.Open(p.blob)
		if err == nil {
			_, err = io.Copy(bw, b)
			b.Close()
		}
		if err != nil {
			bw.Abort()
			return internal(s, "join an upload's parts", err)
		}
		raw, _ := hex.DecodeString(p.etag)
		sums.Write(raw)
	}
	blob, size, _, err := bw.Commit()
	if err != nil {
		return internal(s, "write an object's body", err)
	}
	etag := hex.EncodeToString(sums.Sum(nil)) + "-" + strconv.Itoa(len(chosen))
	o := &object{blob: blob, size: size, etag: etag, modified: time.Now(), meta: u.meta}
	var drop []string
	if e := s.commitObjectWith(r, call, "ObjectCreated:CompleteMultipartUpload", bucket, key, o, func(tx *store.Tx) (*s3Error, error) {
		// the upload and the parts joined must still be what was read:
		// not aborted, completed or re-uploaded meanwhile
		u, err := loadUploadTx(tx, id)
		if err != nil || u == nil {
			return noSuchUpload(id), err
		}
		now, err := partsTx(tx, id)
		if err != nil {
			return nil, err
		}
		blobOf := map[int]string{}
		for _, p := range now {
			blobOf[p.number] = p.blob
		}
		for _, p := range chosen {
			if blobOf[p.number] != p.blob {
				return noSuchUpload(id), nil
			}
		}
		drop, err = dropUploadTx(tx, id)
		return nil, err
	}); e != nil {
		return e
	}
	for _, b := range drop {
		s.blobs.Remove(b)
	}
	versionHeader(w, o)
	writeXML(w, struct {
		XMLName  xml.Name `xml:"CompleteMultipartUploadResult"`
		Xmlns    string   `xml:"xmlns,attr"`
		Location string   `xml:"Location"`
		Bucket   string   `xml:"Bucket"`
		Key      string   `xml:"Key"`
		ETag     string   `xml:"ETag"`
	}{Xmlns: xmlns, Location: "/" + bucket + "/" + key, Bucket: bucket, Key: key, ETag: `"` + etag + `"`})
	return nil
}

func (s *Service) abortUpload(w http.ResponseWriter, r *http.Request, bucket, key, id string) *s3Error {
	if e := s.checkUpload(r, bucket, key, id); e != nil {
		return e
	}
	var drop []string
	err := s.st.Update(r.Context(), func(tx *store.Tx) (err error) {
		drop, err = dropUploadTx(tx, id)
		return err
	})
	if err != nil {
		return internal(s, "abort an upload", err)
	}
	for _, b := range drop {
		s.blobs.Remove(b)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Service) listParts(w http.ResponseWriter, r *http.Request, bucket, key, id string, q url.Values) *s3Error {
	if e := s.checkUpload(r, bucket, key, id); e != nil {
		return e
	}
	maxParts, marker := 1000, 0
	if m := q.Get("max-parts"); m != "" {
		if n, err := strconv.Atoi(m); err == nil && n >= 0 {
			maxParts = min(n, 1000)
		}
	}
	if m := q.Get("part-number-marker"); m != "" {
		marker, _ = strconv.Atoi(m)
	}
	var ps []part
	if err := s.st.View(r.Context(), func(tx *store.Tx) (err error) {
		ps, err = partsTx(tx, id)
		return err
	}); err != nil {
		return internal(s, "list parts", err)
	}
	type partXML struct {
		PartNumber   int    `xml:"PartNumber"`
		LastModified string `xml:"LastModified"`
		ETag         string `xml:"ETag"`
		Size         int64  `xml:"Size"`
	}
	var out []partXML
	truncated, next := false, 0
	for _, p := range ps {
		if p.number <= marker {
			continue
		}
		if len(out) == maxParts {
			truncated = true
			break
		}
		out = append(out, partXML{p.number, p.modified.UTC().Format(timeFormat), `"` + p.etag + `"`, p.size})
		next = p.number
	}
	writeXML(w, struct {
		XMLName              xml.Name  `xml:"ListPartsResult"`
		Xmlns                string    `xml:"xmlns,attr"`
		Bucket               string    `xml:"Bucket"`
		Key                  string    `xml:"Key"`
		UploadID             string    `xml:"UploadId"`
		PartNumberMarker     int       `xml:"PartNumberMarker"`
		NextPartNumberMarker int       `xml:"NextPartNumberMarker"`
		MaxParts             int       `xml:"MaxParts"`
		IsTruncated          bool      `xml:"IsTruncated"`
		StorageClass         string    `xml:"StorageClass"`
		Parts                []partXML `xml:"Part"`
	}{Xmlns: xmlns, Bucket: bucket, Key: key, UploadID: id, PartNumberMarker: marker, NextPartNumberMarker: next, MaxParts: maxParts,
		IsTruncated: truncated, StorageClass: "STANDARD", Parts: out})
	return nil
}

// listUploads serves ListMultipartUploads (GET /bucket?uploads).
func (s *Service) listUploads(w http.ResponseWriter, r *http.Request, call *awsapi.Call, bucket string, q url.Values) *s3Error {
	prefix, delim, keyMarker, idMarker := q.Get("prefix"), q.Get("delimiter"), q.Get("key-marker"), q.Get("upload-id-marker")
	maxUploads, encode, e := listParams(q, "max-uploads")
	if e != nil {
		return e
	}
	if e := s.authorize(call, "ListMultipartUploads", s.bucketARN(bucket), nil); e != nil {
		return e
	}
	if ok, e := s.bucketExists(r, bucket); e != nil || !ok {
		return orNoBucket(e, bucket)
	}
	type uploadXML struct {
		Key          string `xml:"Key"`
		UploadID     string `xml:"UploadId"`
		Initiated    string `xml:"Initiated"`
		StorageClass string `xml:"StorageClass"`
	}
	var out []uploadXML
	var prefixes []prefixXML
	truncated := false
	var nextKey, nextID string
	enc := encoder(encode)
	err := s.st.View(r.Context(), func(tx *store.Tx) error {
		if maxUploads == 0 {
			return nil
		}
		rows, err := tx.Query(`SELECT key, id, initiated FROM s3_uploads WHERE bucket = ? AND key >= ? AND key >= ? ORDER BY key, id`, bucket, keyMarker, prefix)
		if err != nil {
			return err
		}
		defer rows.Close()
		lastPrefix := keyMarker // a page that ends on a prefix goes on past it
		for rows.Next() {
			var key, id string
			var at int64
			if err := rows.Scan(&key, &id, &at); err != nil {
				return err
			}
			// the key-marker's uploads come after the upload-id-marker's
			if keyMarker != "" && key == keyMarker && (idMarker == "" || id <= idMarker) {
				continue
			}
			if !strings.HasPrefix(key, prefix) {
				if key > prefix {
					break // past the prefix's keys
				}
				continue
			}
			cp := commonPrefix(key, prefix, delim)
			if cp != "" && cp == lastPrefix {
				continue
			}
			if len(out)+len(prefixes) == maxUploads {
				truncated = true
				return nil
			}
			if cp != "" {
				lastPrefix = cp
				prefixes = append(prefixes, prefixXML{enc(cp)})
				nextKey, nextID = cp, ""
				continue
			}
			out = append(out, uploadXML{Key: enc(key), UploadID: id, Initiated: time.UnixMilli(at).UTC().Format(timeFormat), StorageClass: "STANDARD"})
			nextKey, nextID = key, id
		}
		return rows.Err()
	})
	if err != nil {
		return internal(s, "list uploads", err)
	}
	res := struct {
		XMLName        xml.Name    `xml:"ListMultipartUploadsResult"`
		Xmlns          string      `xml:"xmlns,attr"`
		Bucket         string      `xml:"Bucket"`
		KeyMarker      string      `xml:"KeyMarker"`
		UploadIDMarker string      `xml:"UploadIdMarker"`
		NextKeyMarker  string      `xml:"NextKeyMarker,omitempty"`
		NextIDMarker   string      `xml:"NextUploadIdMarker,omitempty"`
		Encoding       string      `xml:"EncodingType,omitempty"`
		Delimiter      string      `xml:"Delimiter,omitempty"`
		Prefix         string      `xml:"Prefix"`
		MaxUploads     int         `xml:"MaxUploads"`
		IsTrunc        bool        `xml:"IsTruncated"`
		Uploads        []uploadXML `xml:"Upload"`
		Prefixes       []prefixXML `xml:"CommonPrefixes"`
	}{Xmlns: xmlns, Bucket: bucket, KeyMarker: enc(keyMarker), UploadIDMarker: idMarker, Delimiter: enc(delim), Prefix: enc(prefix),
		MaxUploads: maxUploads, IsTrunc: truncated, Uploads: out, Prefixes: prefixes}
	if truncated {
		res.NextKeyMarker, res.NextIDMarker = enc(nextKey), nextID
	}
	if encode {
		res.Encoding = "url"
	}
	writeXML(w, res)
	return nil
}

// dropUploadTx deletes an upload and its parts in tx, and returns the
// parts' blobs, to remove once tx has committed.
func dropUploadTx(tx *store.Tx, id string) ([]string, error) {
	ps, err := partsTx(tx, id)
	if err != nil {
		return nil, err
	}
	var blobs []string
	for _, p := range ps {
		blobs = append(blobs, p.blob)
	}
	if _, err := tx.Exec(`DELETE FROM s3_parts WHERE upload = ?`, id); err != nil {
		return nil, err
	}
	_, err = tx.Exec(`DELETE FROM s3_uploads WHERE id = ?`, id)
	return blobs, err
}

// uploadsTx are the ids of bucket's unfinished uploads.
func uploadsTx(tx *store.Tx, bucket string) ([]string, error) {
	return store.QueryStrings(tx, `SELECT id FROM s3_uploads WHERE bucket = ?`, bucket)
}
