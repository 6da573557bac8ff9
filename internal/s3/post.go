package s3

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cloudlet/cloudlet/internal/awsapi"
)

// Browser POST uploads (POST Object, "Browser-Based Uploads Using POST"):
// a multipart/form-data POST on a bucket whose fields name the key, the
// object's headers and a policy, signed with SigV4 (x-amz-signature over
// the base64 policy), and whose last field is the file. The policy's
// conditions must hold for every field the form carries, and its
// content-length-range for the file, before anything is stored; the
// object is then written as PutObject writes it, and its event is
// ObjectCreated:Post.

// maxPostFields is the most the fields before the file may hold.
const maxPostFields = 64 << 10

// postCondition is one condition of a POST policy.
type postCondition struct {
	op       string // eq, starts-with, content-length-range
	field    string // the form field it is on, lowercase, without '$'
	name     string // the field as the policy names it
	value    string
	min, max int64 // content-length-range
}

func (c postCondition) String() string {
	if c.op == "content-length-range" {
		return `["content-length-range", ` + strconv.FormatInt(c.min, 10) + ", " + strconv.FormatInt(c.max, 10) + "]"
	}
	return "[" + strconv.Quote(c.op) + ", " + strconv.Quote("$"+c.name) + ", " + strconv.Quote(c.value) + "]"
}

func invalidPolicy(msg string) *s3Error {
	return errorf("InvalidPolicyDocument", 400, "Invalid Policy: "+msg)
}

func policyRefused(msg string) *s3Error {
	return errorf("AccessDenied", 403, "Invalid according to Policy: "+msg)
}

// parsePostPolicy decodes a POST form's base64 policy document.
func parsePostPolicy(b64 string) (expires time.Time, conds []postCondition, e *s3Error) {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return expires, nil, invalidPolicy("Invalid Simple-Base64 value")
	}
	var doc struct {
		Expiration *string           `json:"expiration"`
		Conditions []json.RawMessage `json:"conditions"`
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&doc); err != nil {
		return expires, nil, invalidPolicy("Invalid JSON.")
	}
	if doc.Expiration == nil {
		return expires, nil, invalidPolicy("Policy missing expiration.")
	}
	if expires, err = time.Parse(time.RFC3339Nano, *doc.Expiration); err != nil {
		return expires, nil, invalidPolicy("Invalid 'expiration' value: '" + *doc.Expiration + "'")
	}
	if doc.Conditions == nil {
		return expires, nil, invalidPolicy("Policy missing conditions.")
	}
	for _, c := range doc.Conditions {
		pc, e := parsePostCondition(c)
		if e != nil {
			return expires, nil, e
		}
		conds = append(conds, pc)
	}
	return expires, conds, nil
}

func parsePostCondition(raw json.RawMessage) (postCondition, *s3Error) {
	var simple map[string]any
	if json.Unmarshal(raw, &simple) == nil {
		if len(simple) != 1 {
			return postCondition{}, invalidPolicy("Invalid Simple-Condition: Simple-Conditions must have exactly one property specified.")
		}
		for k, v := range simple {
			s, ok := v.(string)
			if !ok {
				return postCondition{}, invalidPolicy("Invalid Simple-Condition: value must be a string.")
			}
			name := strings.TrimPrefix(k, "$")
			return postCondition{op: "eq", field: strings.ToLower(name), name: name, value: s}, nil
		}
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) != nil || len(list) != 3 {
		return postCondition{}, invalidPolicy("Invalid Condition: a condition is an object with one property or an array of three elements: " + string(raw))
	}
	var op string
	if json.Unmarshal(list[0], &op) != nil {
		return postCondition{}, invalidPolicy("Invalid Condition: its first element must name the operation: " + string(raw))
	}
	switch op = strings.ToLower(op); op {
	case "eq", "starts-with":
		var field, value string
		if json.Unmarshal(list[1], &field) != nil || json.Unmarshal(list[2], &value) != nil || !strings.HasPrefix(field, "$") {
			return postCondition{}, invalidPolicy("Invalid Condition: " + op + " takes a field ('$name') and a string: " + string(raw))
		}
		return postCondition{op: op, field: strings.ToLower(field[1:]), name: field[1:], value: value}, nil
	case "content-length-range":
		var lo, hi json.Number
		if json.Unmarshal(list[1], &lo) != nil || json.Unmarshal(list[2], &hi) != nil {
			return postCondition{}, invalidPolicy("Invalid Policy: content-length-range takes two integers: " + string(raw))
		}
		min, err1 := lo.Int64()
		max, err2 := hi.Int64()
		if err1 != nil || err2 != nil || min < 0 || max < min {
			return postCondition{}, invalidPolicy("Invalid content-length-range: " + string(raw))
		}
		return postCondition{op: op, min: min, max: max}, nil
	}
	return postCondition{}, invalidPolicy("Invalid Condition: unknown operation '" + op + "'.")
}

// checkPostPolicy checks conds against the form's fields (lowercase
// names) and bucket: every condition holds, and every field is one a
// condition names. It returns the size the file must have: every
// content-length-range at once (max -1: no bound).
func checkPostPolicy(conds []postCondition, fields map[string]string, bucket string) (lo, hi int64, e *s3Error) {
	hi = -1
	covered := map[string]bool{}
	for _, c := range conds {
		if c.op == "content-length-range" {
			lo = max(lo, c.min)
			if hi < 0 || c.max < hi {
				hi = c.max
			}
			continue
		}
		covered[c.field] = true
		v := fields[c.field]
		if c.field == "bucket" {
			v = bucket
		}
		ok := v == c.value
		if c.op == "starts-with" {
			ok = strings.HasPrefix(v, c.value)
			if c.field == "content-type" && strings.Contains(v, ",") { // each of a list must
				for _, t := range strings.Split(v, ",") {
					ok = ok && strings.HasPrefix(strings.TrimSpace(t), c.value)
				}
			}
		}
		if !ok {
			return 0, 0, policyRefused("Policy Condition failed: " + c.String())
		}
	}
	var extra []string
	for name := range fields {
		if name == "policy" || name == "x-amz-signature" || name == "file" || strings.HasPrefix(name, "x-ignore-") || covered[name] {
			continue
		}
		extra = append(extra, name)
	}
	if len(extra) > 0 {
		slices.Sort(extra)
		return 0, 0, policyRefused("Extra input fields: " + strings.Join(extra, ", "))
	}
	return lo, hi, nil
}

func missingField(name string) *s3Error {
	e := errorf("InvalidArgument", 400, "Bucket POST must contain a field named '"+name+"'.  If it is specified, please check the order of the fields.")
	e.extra = [][2]string{{"ArgumentName", name}, {"ArgumentValue", ""}}
	return e
}

// readPostForm reads the form's fields up to its file, which it returns
// unread with its file name.
func readPostForm(r *http.Request) (fields map[string]string, file io.Reader, filename string, e *s3Error) {
	malformed := errorf("MalformedPOSTRequest", 400, "The body of your POST request is not well-formed multipart/form-data.")
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, nil, "", malformed
	}
	fields = map[string]string{}
	left := int64(maxPostFields)
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			e := errorf("InvalidArgument", 400, "POST requires exactly one file upload per request.")
			e.extra = [][2]string{{"ArgumentName", "file"}, {"ArgumentValue", "0"}}
			return nil, nil, "", e
		}
		if err != nil {
			return nil, nil, "", malformed
		}
		name := strings.ToLower(p.FormName())
		if name == "file" {
			return fields, p, p.FileName(), nil
		}
		v, err := io.ReadAll(io.LimitReader(p, left+1))
		if err != nil {
			return nil, nil, "", malformed
		}
		if left -= int64(len(v)) + int64(len(name)); left < 0 {
			return nil, nil, "", errorf("MaxPostPreDataLengthExceeded", 400, "Your POST request fields preceding the upload file were too large.")
		}
		if _, dup := fields[name]; dup {
			return nil, nil, "", errorf("InvalidArgument", 400, "POST form fields must be unique: '"+name+"' appears more than once.")
		}
		fields[name] = string(v)
	}
}

// postHeaders are the form fields that are an object's headers, as
// PutObject takes them.
func postHeaders(fields map[string]string) (http.Header, *s3Error) {
	h := http.Header{}
	for name, v := range fields {
		switch {
		case name == "content-type" || name == "cache-control" || name == "content-disposition" || name == "content-encoding" ||
			name == "content-language" || name == "expires" || name == "content-md5":
			h.Set(name, v)
		case name == "acl":
			h.Set("x-amz-acl", v)
		case name == "tagging":
			tags, e := parseTagging([]byte(v), 10)
			if e != nil {
				return nil, e
			}
			q := url.Values{}
			for _, t := range tags {
				q.Set(t.Key, t.Value)
			}
			h.Set("x-amz-tagging", q.Encode())
		case strings.HasPrefix(name, "x-amz-meta-") || strings.HasPrefix(name, "x-amz-checksum-") ||
			strings.HasPrefix(name, "x-amz-object-lock-") || name == "x-amz-storage-class":
			h.Set(name, v)
		}
	}
	return h, nil
}

// errBodyRefused carries the S3 error a body reader stops with.
type errBodyRefused struct{ e *s3Error }

func (e errBodyRefused) Error() string { return e.e.msg }

// rangeReader ends a body with EntityTooLarge past max (when max >= 0)
// and with EntityTooSmall at its end when shorter than min.
type rangeReader struct {
	r        io.Reader
	n        int64
	min, max int64
}

func (l *rangeReader) Read(p []byte) (int, error) {
	k, err := l.r.Read(p)
	l.n += int64(k)
	if l.max >= 0 && l.n > l.max {
		e := errorf("EntityTooLarge", 400, "Your proposed upload exceeds the maximum allowed size")
		e.extra = [][2]string{{"ProposedSize", strconv.FormatInt(l.n, 10)}, {"MaxSizeAllowed", strconv.FormatInt(l.max, 10)}}
		return k, errBodyRefused{e}
	}
	if err == io.EOF && l.n < l.min {
		e := errorf("EntityTooSmall", 400, "Your proposed upload is smaller than the minimum allowed size")
		e.extra = [][2]string{{"ProposedSize", strconv.FormatInt(l.n, 10)}, {"MinSizeAllowed", strconv.FormatInt(l.min, 10)}}
		return k, errBodyRefused{e}
	}
	return k, err
}

// heldWriter takes PutObject's answer without sending its status, so
// that POST answers with its own.
type heldWriter struct {
	w      http.ResponseWriter
	status int
}

func (h *heldWriter) Header() http.Header         { return h.w.Header() }
func (h *heldWriter) Write(b []byte) (int, error) { return len(b), nil }
func (h *heldWriter) WriteHeader(status int)      { h.status = status }

// postObject serves a browser POST upload to bucket.
func (s *Service) postObject(w http.ResponseWriter, r *http.Request, u *awsapi.Unsigned, bucket string) *s3Error {
	fields, file, filename, e := readPostForm(r)
	if e != nil {
		return e
	}
	if _, ok := fields["awsaccesskeyid"]; ok {
		return errorf("InvalidRequest", 400, "Cloudlet takes POST forms signed with AWS4-HMAC-SHA256 (x-amz-algorithm, x-amz-credential, x-amz-date, x-amz-signature), not Signature Version 2.")
	}
	if _, ok := fields["policy"]; !ok {
		return errorf("AccessDenied", 403, "Access Denied: Cloudlet takes no anonymous uploads; a POST form carries a policy, signed in x-amz-signature.")
	}
	for _, name := range []string{"x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature", "key"} {
		if _, ok := fields[name]; !ok {
			return missingField(name)
		}
	}
	call, err := u.VerifyPolicy("s3", awsapi.PostPolicy{Algorithm: fields["x-amz-algorithm"], Credential: fields["x-amz-credential"],
		Date: fields["x-amz-date"], Token: fields["x-amz-security-token"], Policy: fields["policy"], Signature: fields["x-amz-signature"]})
	if err != nil {
		var ae *awsapi.Error
		if errors.As(err, &ae) {
			return fromAWS(ae)
		}
		return internal(s, "verify a POST policy", err)
	}
	expires, conds, e := parsePostPolicy(fields["policy"])
	if e != nil {
		return e
	}
	if call.Time.After(expires) {
		return policyRefused("Policy expired.")
	}
	min, max, e := checkPostPolicy(conds, fields, bucket)
	if e != nil {
		return e
	}
	// ${filename} is the name the browser gave, without the folders some
	// browsers send with it (C:\fakepath\photo.jpg)
	filename = filename[strings.LastIndexAny(filename, `/\`)+1:]
	key := strings.ReplaceAll(fields["key"], "${filename}", filename)
	switch {
	case key == "":
		return missingField("key")
	case len(key) > 1024:
		return errorf("KeyTooLongError", 400, "Your key is too long")
	case !utf8.ValidString(key):
		return errorf("InvalidArgument", 400, "The key of a POST form must be UTF-8.")
	}
	h, e := postHeaders(fields)
	if e != nil {
		return e
	}
	if e := checkACLHeaders(h); e != nil {
		return e
	}
	put := r.Clone(r.Context())
	put.Method, put.Header, put.ContentLength = http.MethodPut, h, -1
	put.Body = io.NopCloser(&rangeReader{r: file, min: min, max: max})
	held := &heldWriter{w: w}
	if e := s.storeObject(held, put, call, "ObjectCreated:Post", bucket, key); e != nil {
		return e
	}
	etag := w.Header().Get("ETag")
	location := s.objectURL(r, bucket, key)
	redirect := fields["success_action_redirect"]
	if redirect == "" {
		redirect = fields["redirect"]
	}
	if redirect != "" {
		if to, err := url.Parse(redirect); err == nil && (to.Scheme == "http" || to.Scheme == "https") {
			q := to.Query()
			q.Set("bucket", bucket)
			q.Set("key", key)
			q.Set("etag", etag)
			to.RawQuery = q.Encode()
			w.Header().Set("Location", to.String())
			w.WriteHeader(http.StatusSeeOther)
			return nil
		}
	}
	w.Header().Set("Location", location)
	switch fields["success_action_status"] {
	case "200":
		w.WriteHeader(http.StatusOK)
	case "201":
		writeXMLStatus(w, http.StatusCreated, struct {
			XMLName  xml.Name `xml:"PostResponse"`
			Location string   `xml:"Location"`
			Bucket   string   `xml:"Bucket"`
			Key      string   `xml:"Key"`
			ETag     string   `xml:"ETag"`
		}{Location: location, Bucket: bucket, Key: key, ETag: etag})
	default:
		w.WriteHeader(http.StatusNoContent)
	}
	return nil
}

// objectURL is the URL of bucket/key on the host r came to, in the
// addressing style r used.
func (s *Service) objectURL(r *http.Request, bucket, key string) string {
	base := "http://" + r.Host + "/"
	if r.TLS != nil {
		base = "https://" + r.Host + "/"
	}
	if strings.HasPrefix(r.URL.Path, "/"+bucket) {
		base += bucket + "/"
	}
	return base + strings.ReplaceAll(url.PathEscape(key), "%2F", "/")
}
