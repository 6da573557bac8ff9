package s3

import (
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudlet/cloudlet/internal/awsapi"
	"github.com/cloudlet/cloudlet/internal/iam"
	"github.com/cloudlet/cloudlet/internal/store"
)

var bucketNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// validBucketName applies S3's naming rules for new buckets.
func validBucketName(b string) bool {
	return bucketNameRe.MatchString(b) && !strings.Contains(b, "..") && net.ParseIP(b) == nil &&
		!strings.HasPrefix(b, "xn--") && !strings.HasSuffix(b, "-s3alias") && !strings.HasSuffix(b, "--ol-s3")
}

const timeFormat = "2006-01-02T15:04:05.000Z"

func bucketExistsTx(tx *store.Tx, b string) (bool, error) {
	var n int
	err := tx.QueryRow(`SELECT COUNT(*) FROM s3_buckets WHERE name = ?`, b).Scan(&n)
	return n > 0, err
}

// bucketOp serves the operations on a bucket (no key).
func (s *Service) bucketOp(w http.ResponseWriter, r *http.Request, call *awsapi.Call, bucket string, q url.Values) *s3Error {
	if q.Has("delete") && r.Method == http.MethodPost {
		return s.deleteObjects(w, r, call, bucket)
	}
	if q.Has("uploads") && r.Method == http.MethodGet {
		return s.listUploads(w, r, call, bucket, q)
	}
	if q.Has("policy") {
		return s.policyOp(w, r, call, bucket)
	}
	if q.Has("notification") {
		return s.notificationOp(w, r, call, bucket)
	}
	if q.Has("acl") {
		return s.aclOp(w, r, call, bucket, "")
	}
	if q.Has("tagging") {
		return s.bucketTaggingOp(w, r, call, bucket)
	}
	if q.Has("lifecycle") {
		return s.lifecycleOp(w, r, call, bucket)
	}
	if q.Has("versioning") {
		return s.versioningOp(w, r, call, bucket)
	}
	if q.Has("object-lock") {
		return s.lockConfigOp(w, r, call, bucket)
	}
	if q.Has("cors") {
		return s.corsOp(w, r, call, bucket)
	}
	if q.Has("versions") && r.Method == http.MethodGet {
		return s.listVersions(w, r, call, bucket, q)
	}
	for _, sub := range []string{"policy", "notification", "uploads", "delete",
		"encryption", "website", "logging", "replication", "ownershipControls", "publicAccessBlock", "versions",
		"accelerate", "requestPayment", "analytics", "inventory", "metrics", "intelligent-tiering"} {
		if q.Has(sub) {
			return errorf("NotImplemented", 501, "Cloudlet's S3 does not serve ?"+sub+" yet.")
		}
	}
	switch r.Method {
	case http.MethodPut:
		return s.createBucket(w, r, call, bucket)
	case http.MethodHead:
		if e := s.authorize(call, "HeadBucket", s.bucketARN(bucket), nil); e != nil {
			return e
		}
		ok, e := s.bucketExists(r, bucket)
		if e != nil {
			return e
		}
		if !ok {
			return noSuchBucket(bucket)
		}
		w.Header().Set("x-amz-bucket-region", s.region)
		w.WriteHeader(http.StatusOK)
		return nil
	case http.MethodDelete:
		return s.deleteBucket(w, r, call, bucket)
	case http.MethodGet:
		if q.Has("location") {
			if e := s.authorize(call, "GetBucketLocation", s.bucketARN(bucket), nil); e != nil {
				return e
			}
			ok, e := s.bucketExists(r, bucket)
			if e != nil || !ok {
				return orNoBucket(e, bucket)
			}
			loc := s.region
			if loc == "us-east-1" {
				loc = "" // as S3 answers for us-east-1
			}
			writeXML(w, struct {
				XMLName xml.Name `xml:"LocationConstraint"`
				Xmlns   string   `xml:"xmlns,attr"`
				Value   string   `xml:",chardata"`
			}{Xmlns: xmlns, Value: loc})
			return nil
		}
		return s.listObjects(w, r, call, bucket, q)
	}
	return methodNotAllowed()
}

func orNoBucket(e *s3Error, bucket string) *s3Error {
	if e != nil {
		return e
	}
	return noSuchBucket(bucket)
}

// bucketExists says whether bucket exists, from the names the Service
// keeps in memory (a transaction that needs the bucket checks again in
// the store). Every create and delete of a bucket goes through the
// Service and calls bucketsChanged before it answers.
func (s *Service) bucketExists(r *http.Request, bucket string) (bool, *s3Error) {
	b, e := s.bucketInMemory(r, bucket)
	return b != nil, e
}

// bucketInMemory is what the Service keeps in memory of bucket: nil when
// there is no such bucket.
func (s *Service) bucketInMemory(r *http.Request, bucket string) (*bucketMem, *s3Error) {
	if m := s.names.set.Load(); m != nil {
		return (*m)[bucket], nil
	}
	s.names.mu.Lock()
	defer s.names.mu.Unlock()
	if m := s.names.set.Load(); m != nil {
		return (*m)[bucket], nil
	}
	// held while the buckets are read, so that a change committed after
	// they were read forgets them only once they are stored
	set := map[string]*bucketMem{}
	err := s.st.View(r.Context(), func(tx *store.Tx) error {
		return eachBucketTx(tx, func(name, doc string) {
			b := &bucketMem{}
			if strings.Contains(doc, `"cors"`) { // most buckets: no decoding
				var d bucketDoc
				json.Unmarshal([]byte(doc), &d)
				b.cors = d.CORS
			}
			set[name] = b
		})
	})
	if err != nil {
		return nil, internal(s, "read the buckets", err)
	}
	s.names.set.Store(&set)
	return set[bucket], nil
}

// bucketNames caches which buckets exist, and their CORS rules.
type bucketNames struct {
	mu  sync.Mutex                            // serializes loading and forgetting
	set atomic.Pointer[map[string]*bucketMem] // nil until loaded, and after a change
}

// bucketMem is what the Service keeps in memory of a bucket.
type bucketMem struct {
	cors []corsRule // its CORS configuration, as stored
}

// bucketsChanged forgets the buckets the Service keeps in memory: call
// it after a transaction that may have created or deleted a bucket or
// changed its CORS configuration, committed or not.
func (s *Service) bucketsChanged() {
	s.names.mu.Lock()
	s.names.set.Store(nil)
	s.names.mu.Unlock()
}

func (s *Service) createBucket(w http.ResponseWriter, r *http.Request, call *awsapi.Call, bucket string) *s3Error {
	if e := s.authorize(call, "CreateBucket", s.bucketARN(bucket), nil); e != nil {
		return e
	}
	if !validBucketName(bucket) {
		return &s3Error{code: "InvalidBucketName", status: 400, msg: "The specified bucket is not valid.", bucket: bucket}
	}
	h := r.Header.Clone()
	if h.Get("x-amz-acl") == "private" { // a bucket's default, which S3 takes
		h.Del("x-amz-acl")
	}
	if checkACLHeaders(h) != nil {
		return errorf("InvalidBucketAclWithObjectOwnership", 400, "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting")
	}
	body, e := readSmall(r, 64<<10)
	if e != nil {
		return e
	}
	if len(strings.TrimSpace(string(body))) > 0 {
		var cfg struct {
			LocationConstraint string `xml:"LocationConstraint"`
		}
		if xml.Unmarshal(body, &cfg) != nil {
			return malformedXML()
		}
		if cfg.LocationConstraint != "" && cfg.LocationConstraint != s.region {
			return errorf("IllegalLocationConstraintException", 400, "The "+cfg.LocationConstraint+" location constraint is incompatible for the region specific endpoint this request was sent to.")
		}
	}
	// a bucket with Object Lock is versioned from the start
	versioning, doc := "", "{}"
	switch strings.ToLower(r.Header.Get("x-amz-bucket-object-lock-enabled")) {
	case "true":
		versioning, doc = versioningEnabled, `{"lock":{}}`
	case "", "false":
	default:
		return errorf("InvalidArgument", 400, "x-amz-bucket-object-lock-enabled must be true or false")
	}
	var existed bool
	err := s.st.Update(r.Context(), func(tx *store.Tx) error {
		var err error
		if existed, err = bucketExistsTx(tx, bucket); err != nil || existed {
			return err
		}
		_, err = tx.Exec(`INSERT INTO s3_buckets (name, created, region, doc, versioning) VALUES (?, ?, ?, ?, ?)`,
			bucket, time.Now().UnixMilli(), s.region, doc, versioning)
		return err
	})
	s.bucketsChanged()
	if err != nil {
		return internal(s, "create a bucket", err)
	}
	if existed && s.region != "us-east-1" { // us-east-1 answers 200 again, as S3 does there
		return &s3Error{code: "BucketAlreadyOwnedByYou", status: 409, msg: "Your previous request to create the named bucket succeeded and you already own it.", bucket: bucket}
	}
	w.Header().Set("Location", "/"+bucket)
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Service) deleteBucket(w http.ResponseWriter, r *http.Request, call *awsapi.Call, bucket string) *s3Error {
	if e := s.authorize(call, "DeleteBucket", s.bucketARN(bucket), nil); e != nil {
		return e
	}
	var e *s3Error
	var drop []string
	err := s.st.Update(r.Context(), func(tx *store.Tx) error {
		e = nil
		ok, err := bucketExistsTx(tx, bucket)
		if err != nil {
			return err
		}
		if !ok {
			e = noSuchBucket(bucket)
			return nil
		}
		var any int
		err = tx.QueryRow(`SELECT 1 FROM s3_objects WHERE bucket = ? UNION ALL SELECT 1 FROM s3_versions WHERE bucket = ? LIMIT 1`, bucket, bucket).Scan(&any)
		if err == nil {
			e = &s3Error{code: "BucketNotEmpty", status: 409, msg: "The bucket you tried to delete is not empty", bucket: bucket}
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		// its unfinished uploads go with it
		drop = nil
		ids, err := uploadsTx(tx, bucket)
		if err != nil {
			return err
		}
		for _, id := range ids {
			blobs, err := dropUploadTx(tx, id)
			if err != nil {
				return err
			}
			drop = append(drop, blobs...)
		}
		_, err = tx.Exec(`DELETE FROM s3_buckets WHERE name = ?`, bucket)
		return err
	})
	s.bucketsChanged()
	if err != nil {
		return internal(s, "delete a bucket", err)
	}
	if e != nil {
		return e
	}
	for _, b := range drop {
		s.blobs.Remove(b)
	}
	s.forgetPolicy(bucket)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type owner struct {
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName"`
}

func (s *Service) owner() owner { return owner{ID: s.account, DisplayName: "cloudlet"} }

func (s *Service) listBuckets(w http.ResponseWriter, r *http.Request, call *awsapi.Call) *s3Error {
	if e := s.authorize(call, "ListBuckets", "*", nil); e != nil {
		return e
	}
	type bucketXML struct {
		Name         string `xml:"Name"`
		CreationDate string `xml:"CreationDate"`
	}
	var list []bucketXML
	err := s.st.View(r.Context(), func(tx *store.Tx) error {
		rows, err := tx.Query(`SELECT name, created FROM s3_buckets ORDER BY name`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var b bucketXML
			var at int64
			if err := rows.Scan(&b.Name, &at); err != nil {
				return err
			}
			b.CreationDate = time.UnixMilli(at).UTC().Format(timeFormat)
			list = append(list, b)
		}
		return rows.Err()
	})
	if err != nil {
		return internal(s, "list buckets", err)
	}
	writeXML(w, struct {
		XMLName xml.Name    `xml:"ListAllMyBucketsResult"`
		Xmlns   string      `xml:"xmlns,attr"`
		Owner   owner       `xml:"Owner"`
		Buckets []bucketXML `xml:"Buckets>Bucket"`
	}{Xmlns: xmlns, Owner: s.owner(), Buckets: list})
	return nil
}

type contentXML struct {
	Key          string `xml:"Key"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	Size         int64  `xml:"Size"`
	Owner        *owner `xml:"Owner,omitempty"`
	StorageClass string `xml:"StorageClass"`
}

type prefixXML struct {
	Prefix string `xml:"Prefix"`
}

// listObjects serves ListObjectsV2 (list-type=2) and ListObjects.
func (s *Service) listObjects(w http.ResponseWriter, r *http.Request, call *awsapi.Call, bucket string, q url.Values) *s3Error {
	v2 := q.Get("list-type") == "2"
	op := "ListObjects"
	if v2 {
		op = "ListObjectsV2"
	}
	prefix, delim := q.Get("prefix"), q.Get("delimiter")
	maxKeys, encode, e := listParams(q, "max-keys")
	if e != nil {
		return e
	}
	if e := s.authorize(call, op, s.bucketARN(bucket), listKeys(prefix, delim, maxKeys)); e != nil {
		return e
	}
	// where to start: after the continuation token's key, or start-after
	// (v2), or marker (v1)
	after := q.Get("marker")
	token := q.Get("continuation-token")
	if v2 {
		after = q.Get("start-after")
		if token != "" {
			b, err := base64.RawURLEncoding.DecodeString(token)
			if err != nil {
				return &s3Error{code: "InvalidArgument", status: 400, msg: "The continuation token provided is incorrect",
					extra: [][2]string{{"ArgumentName", "continuation-token"}}}
			}
			after = string(b)
		}
	}
	var contents []contentXML
	var prefixes []prefixXML
	truncated, last := false, ""
	err := s.st.View(r.Context(), func(tx *store.Tx) error {
		ok, err := bucketExistsTx(tx, bucket)
		if err != nil || !ok {
			e = orNoBucket(nil, bucket)
			return err
		}
		from := after
		// resuming after a common prefix: none of its keys again
		seenPrefix := prefixMarker(after, prefix, delim)
		if seenPrefix != "" {
			from = past(seenPrefix)
		}
		if maxKeys == 0 {
			return nil
		}
		count := 0
		for !truncated {
			rows, err := tx.Query(`SELECT key, size, etag, modified FROM s3_objects WHERE bucket = ? AND key > ? AND key >= ? ORDER BY key LIMIT 1001`, bucket, from, prefix)
			if err != nil {
				return err
			}
			n, skipped := 0, 0
			stop, seek := false, false
			for rows.Next() {
				var c contentXML
				var mod int64
				if err := rows.Scan(&c.Key, &c.Size, &c.ETag, &mod); err != nil {
					rows.Close()
					return err
				}
				n++
				s.listRows.Add(1)
				from = c.Key
				if !strings.HasPrefix(c.Key, prefix) {
					if c.Key > prefix {
						stop = true
						break
					}
					continue
				}
				if cp := commonPrefix(c.Key, prefix, delim); cp != "" {
					if cp == seenPrefix {
						if skipped++; skipped == seekAfter { // a large common prefix: past its keys at once
							from, seek = past(cp), true
							break
						}
						continue
					}
					if count == maxKeys {
						truncated = true
						break
					}
					seenPrefix, last, skipped = cp, cp, 0
					prefixes = append(prefixes, prefixXML{Prefix: cp})
					count++
					continue
				}
				if count == maxKeys {
					truncated = true
					break
				}
				c.LastModified = time.UnixMilli(mod).UTC().Format(timeFormat)
				c.ETag = `"` + c.ETag + `"`
				c.StorageClass = "STANDARD"
				if !v2 || q.Get("fetch-owner") == "true" {
					o := s.owner()
					c.Owner = &o
				}
				contents = append(contents, c)
				last = c.Key
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
		return internal(s, "list objects", err)
	}
	if e != nil {
		return e
	}
	enc := encoder(encode)
	for i := range contents {
		contents[i].Key = enc(contents[i].Key)
	}
	for i := range prefixes {
		prefixes[i].Prefix = enc(prefixes[i].Prefix)
	}
	type result struct {
		XMLName               xml.Name     `xml:"ListBucketResult"`
		Xmlns                 string       `xml:"xmlns,attr"`
		Name                  string       `xml:"Name"`
		Prefix                string       `xml:"Prefix"`
		Marker                *string      `xml:"Marker,omitempty"`
		NextMarker            string       `xml:"NextMarker,omitempty"`
		ContinuationToken     string       `xml:"ContinuationToken,omitempty"`
		NextContinuationToken string       `xml:"NextContinuationToken,omitempty"`
		StartAfter            string       `xml:"StartAfter,omitempty"`
		KeyCount              *int         `xml:"KeyCount,omitempty"`
		MaxKeys               int          `xml:"MaxKeys"`
		Delimiter             string       `xml:"Delimiter,omitempty"`
		EncodingType          string       `xml:"EncodingType,omitempty"`
		IsTruncated           bool         `xml:"IsTruncated"`
		Contents              []contentXML `xml:"Contents"`
		CommonPrefixes        []prefixXML  `xml:"CommonPrefixes"`
	}
	res := result{Xmlns: xmlns, Name: bucket, Prefix: enc(prefix), MaxKeys: maxKeys, Delimiter: enc(delim), IsTruncated: truncated,
		Contents: contents, CommonPrefixes: prefixes}
	if encode {
		res.EncodingType = "url"
	}
	if v2 {
		n := len(contents) + len(prefixes)
		res.KeyCount = &n
		res.ContinuationToken, res.StartAfter = token, enc(q.Get("start-after"))
		if truncated {
			res.NextContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(last))
		}
	} else {
		m := enc(q.Get("marker"))
		res.Marker = &m
		if truncated && delim != "" {
			res.NextMarker = enc(last)
		}
	}
	writeXML(w, res)
	return nil
}

// seekAfter is how many keys in a row of a common prefix already listed
// a listing reads before it queries again from past them all.
const seekAfter = 32

// commonPrefix is key's common prefix in a listing of prefix grouped by
// delim: prefix, then key up to and including the first delim after it.
// It is "" when the key has none (or there is no delimiter).
func commonPrefix(key, prefix, delim string) string {
	if delim == "" || !strings.HasPrefix(key, prefix) {
		return ""
	}
	if i := strings.Index(key[len(prefix):], delim); i >= 0 {
		return key[:len(prefix)+i+len(delim)]
	}
	return ""
}

// prefixMarker is marker when it is itself a common prefix of the
// listing (a page that ended on one resumes after its keys), else "".
func prefixMarker(marker, prefix, delim string) string {
	if marker != "" && commonPrefix(marker, prefix, delim) == marker {
		return marker
	}
	return ""
}

// past is the first key after every key that starts with p: keys are
// UTF-8, in which no byte is 0xFF, and compare as bytes.
func past(p string) string { return p + "\xff" }

// listParams reads a listing's max-keys (at most 1000) and
// encoding-type (url or none).
func listParams(q url.Values, maxName string) (maxKeys int, encode bool, e *s3Error) {
	maxKeys = 1000
	if m := q.Get(maxName); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil || n < 0 {
			return 0, false, &s3Error{code: "InvalidArgument", status: 400, msg: "Provided " + maxName + " not an integer or within integer range",
				extra: [][2]string{{"ArgumentName", maxName}, {"ArgumentValue", m}}}
		}
		maxKeys = min(n, 1000)
	}
	if et := q.Get("encoding-type"); et != "" && et != "url" {
		return 0, false, &s3Error{code: "InvalidArgument", status: 400, msg: "Invalid Encoding Method specified in Request",
			extra: [][2]string{{"ArgumentName", "encoding-type"}, {"ArgumentValue", et}}}
	}
	return maxKeys, q.Get("encoding-type") == "url", nil
}

// listKeys sets a listing's condition keys.
func listKeys(prefix, delim string, maxKeys int) func(*iam.Context) {
	return func(c *iam.Context) {
		c.Set("s3:prefix", prefix)
		c.Set("s3:delimiter", delim)
		c.Set("s3:max-keys", strconv.Itoa(maxKeys))
	}
}

// encoder is how a listing writes keys: URL-encoded (encoding-type=url)
// or as they are.
func encoder(encode bool) func(string) string {
	return func(s string) string {
		if encode {
			return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
		}
		return s
	}
}

// bodyError is the answer for a request body that could not be read.
func bodyError(err error) *s3Error {
	if r, ok := errors.AsType[errBodyRefused](err); ok {
		return r.e
	}
	if errors.Is(err, errBlobWrite) {
		return errorf("InternalError", 500, "We encountered an internal error. Please try again.")
	}
	if errors.Is(err, awsapi.ErrBodyNotAsSigned) {
		if strings.Contains(err.Error(), "aws-chunked") {
			if strings.Contains(err.Error(), "signature") {
				return errorf("SignatureDoesNotMatch", 403, "The request signature we calculated does not match the signature you provided. Check your key and signing method.")
			}
			return errorf("IncompleteBody", 400, "The request body terminated unexpectedly")
		}
		return errorf("XAmzContentSHA256Mismatch", 400, "The provided 'x-amz-content-sha256' header does not match what was computed.")
	}
	return errorf("IncompleteBody", 400, "You did not provide the number of bytes specified by the Content-Length HTTP header.")
}

// readSmall reads a request body that is a document (XML, a policy) of
// at most limit bytes, to its end: a streamed body is checked against
// its signature only there.
func readSmall(r *http.Request, limit int64) ([]byte, *s3Error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, bodyError(err)
	}
	if int64(len(body)) > limit {
		return nil, errorf("MaxMessageLengthExceeded", 400, "Your request was too big.")
	}
	return body, nil
}
