package s3

import (
	"context"
	"encoding/xml"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/cloudlet/cloudlet/internal/awsapi"
	"github.com/cloudlet/cloudlet/internal/iam"
	"github.com/cloudlet/cloudlet/internal/store"
)

// ops is S3's operation table (the Service Authorization Reference's rows
// for the operations served).
var ops = iam.Register("s3",
	iam.Operation{Name: "ListBuckets", Action: "s3:ListAllMyBuckets", ResourceType: "*"},
	iam.Operation{Name: "CreateBucket", Action: "s3:CreateBucket", ResourceType: "bucket"},
	iam.Operation{Name: "HeadBucket", Action: "s3:ListBucket", ResourceType: "bucket"},
	iam.Operation{Name: "DeleteBucket", Action: "s3:DeleteBucket", ResourceType: "bucket"},
	iam.Operation{Name: "GetBucketLocation", Action: "s3:GetBucketLocation", ResourceType: "bucket"},
	iam.Operation{Name: "ListObjects", Action: "s3:ListBucket", ResourceType: "bucket"},
	iam.Operation{Name: "ListObjectsV2", Action: "s3:ListBucket", ResourceType: "bucket"},
	iam.Operation{Name: "PutObject", Action: "s3:PutObject", ResourceType: "object"},
	iam.Operation{Name: "GetObject", Action: "s3:GetObject", ResourceType: "object"},
	iam.Operation{Name: "HeadObject", Action: "s3:GetObject", ResourceType: "object"},
	iam.Operation{Name: "DeleteObject", Action: "s3:DeleteObject", ResourceType: "object"},
	iam.Operation{Name: "CopyObject", Action: "s3:PutObject", ResourceType: "object"},
	iam.Operation{Name: "DeleteObjects", Action: "s3:DeleteObject", ResourceType: "object"},
	iam.Operation{Name: "CreateMultipartUpload", Action: "s3:PutObject", ResourceType: "object"},
	iam.Operation{Name: "UploadPart", Action: "s3:PutObject", ResourceType: "object"},
	iam.Operation{Name: "CompleteMultipartUpload", Action: "s3:PutObject", ResourceType: "object"},
	iam.Operation{Name: "AbortMultipartUpload", Action: "s3:AbortMultipartUpload", ResourceType: "object"},
	iam.Operation{Name: "ListParts", Action: "s3:ListMultipartUploadParts", ResourceType: "object"},
	iam.Operation{Name: "ListMultipartUploads", Action: "s3:ListBucketMultipartUploads", ResourceType: "bucket"},
	iam.Operation{Name: "PutBucketPolicy", Action: "s3:PutBucketPolicy", ResourceType: "bucket"},
	iam.Operation{Name: "GetBucketPolicy", Action: "s3:GetBucketPolicy", ResourceType: "bucket"},
	iam.Operation{Name: "DeleteBucketPolicy", Action: "s3:DeleteBucketPolicy", ResourceType: "bucket"},
	iam.Operation{Name: "PutBucketNotificationConfiguration", Action: "s3:PutBucketNotification", ResourceType: "bucket"},
	iam.Operation{Name: "GetBucketNotificationConfiguration", Action: "s3:GetBucketNotification", ResourceType: "bucket"},
	iam.Operation{Name: "GetBucketAcl", Action: "s3:GetBucketAcl", ResourceType: "bucket"},
	iam.Operation{Name: "PutBucketAcl", Action: "s3:PutBucketAcl", ResourceType: "bucket"},
	iam.Operation{Name: "GetObjectAcl", Action: "s3:GetObjectAcl", ResourceType: "object"},
	iam.Operation{Name: "PutObjectAcl", Action: "s3:PutObjectAcl", ResourceType: "object"},
	iam.Operation{Name: "PutObjectTagging", Action: "s3:PutObjectTagging", ResourceType: "object"},
	iam.Operation{Name: "GetObjectTagging", Action: "s3:GetObjectTagging", ResourceType: "object"},
	iam.Operation{Name: "DeleteObjectTagging", Action: "s3:DeleteObjectTagging", ResourceType: "object"},
	iam.Operation{Name: "PutBucketTagging", Action: "s3:PutBucketTagging", ResourceType: "bucket"},
	iam.Operation{Name: "GetBucketTagging", Action: "s3:GetBucketTagging", ResourceType: "bucket"},
	iam.Operation{Name: "DeleteBucketTagging", Action: "s3:PutBucketTagging", ResourceType: "bucket"},
	iam.Operation{Name: "PutBucketLifecycleConfiguration", Action: "s3:PutLifecycleConfiguration", ResourceType: "bucket"},
	iam.Operation{Name: "GetBucketLifecycleConfiguration", Action: "s3:GetLifecycleConfiguration", ResourceType: "bucket"},
	iam.Operation{Name: "DeleteBucketLifecycle", Action: "s3:PutLifecycleConfiguration", ResourceType: "bucket"},
	iam.Operation{Name: "PutBucketVersioning", Action: "s3:PutBucketVersioning", ResourceType: "bucket"},
	iam.Operation{Name: "GetBucketVersioning", Action: "s3:GetBucketVersioning", ResourceType: "bucket"},
	iam.Operation{Name: "ListObjectVersions", Action: "s3:ListBucketVersions", ResourceType: "bucket"},
	// the object operations on a version named by versionId
	iam.Operation{Name: "GetObjectVersion", Action: "s3:GetObjectVersion", ResourceType: "object"},
	iam.Operation{Name: "HeadObjectVersion", Action: "s3:GetObjectVersion", ResourceType: "object"},
	iam.Operation{Name: "DeleteObjectVersion", Action: "s3:DeleteObjectVersion", ResourceType: "object"},
	iam.Operation{Name: "PutObjectVersionTagging", Action: "s3:PutObjectVersionTagging", ResourceType: "object"},
	iam.Operation{Name: "GetObjectVersionTagging", Action: "s3:GetObjectVersionTagging", ResourceType: "object"},
	iam.Operation{Name: "DeleteObjectVersionTagging", Action: "s3:DeleteObjectVersionTagging", ResourceType: "object"},
	iam.Operation{Name: "PutObjectLockConfiguration", Action: "s3:PutBucketObjectLockConfiguration", ResourceType: "bucket"},
	iam.Operation{Name: "GetObjectLockConfiguration", Action: "s3:GetBucketObjectLockConfiguration", ResourceType: "bucket"},
	iam.Operation{Name: "PutObjectRetention", Action: "s3:PutObjectRetention", ResourceType: "object"},
	iam.Operation{Name: "GetObjectRetention", Action: "s3:GetObjectRetention", ResourceType: "object"},
	iam.Operation{Name: "PutObjectLegalHold", Action: "s3:PutObjectLegalHold", ResourceType: "object"},
	iam.Operation{Name: "GetObjectLegalHold", Action: "s3:GetObjectLegalHold", ResourceType: "object"},
	iam.Operation{Name: "PutBucketCors", Action: "s3:PutBucketCORS", ResourceType: "bucket"},
	iam.Operation{Name: "GetBucketCors", Action: "s3:GetBucketCORS", ResourceType: "bucket"},
	iam.Operation{Name: "DeleteBucketCors", Action: "s3:PutBucketCORS", ResourceType: "bucket"},
	// x-amz-bypass-governance-retention on a delete or a retention change
	iam.Operation{Name: "BypassGovernanceRetention", Action: "s3:BypassGovernanceRetention", ResourceType: "object"},
)

// Service serves the S3 REST API over the store (metadata) and Blobs
// (bodies).
type Service struct {
	st      *store.Store
	blobs   Blobs
	region  string
	account string
	log     *slog.Logger

	notify     Notifier     // the buckets' notifications (events.go); nil: none
	pol        policies     // the buckets' policies (policy.go)
	names      bucketNames  // the buckets that exist (buckets.go)
	targets    Destinations // checks notification targets (notifications.go)
	testEvents TestEvents   // sends s3:TestEvent to newly configured queues

	listRows atomic.Int64 // rows the object and version listings have read (tests)
}

// New returns the S3 API over st and blobs.
func New(st *store.Store, blobs Blobs, region, account string, logger *slog.Logger) *Service {
	if logger == nil {
		logger = slog.Default()
	}
	return &Service{st: st, blobs: blobs, region: region, account: account, log: logger}
}

// StreamsBody implements awsapi.BodyStreamer: object bodies are read as
// they arrive, never whole in memory.
func (s *Service) StreamsBody() {}

// Sweep removes blobs no object names (a crash between a body's commit
// and its metadata's, or after an overwrite) and unfinished uploads: the
// server calls it at start, before serving.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	live := map[string]bool{}
	err := s.st.View(ctx, func(tx *store.Tx) error {
		rows, err := tx.Query(`SELECT blob FROM s3_objects WHERE blob != '' UNION ALL SELECT blob FROM s3_versions WHERE blob != ''
			UNION ALL SELECT blob FROM s3_parts`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			live[id] = true
		}
		return rows.Err()
	})
	if err != nil {
		return 0, err
	}
	return s.blobs.Sweep(func(id string) bool { return live[id] })
}

// s3Error is an S3 error: its code, status and message, and the
// resource it names.
type s3Error struct {
	code, msg   string
	status      int
	bucket, key string
	extra       [][2]string // more elements, e.g. ArgumentName
	headers     [][2]string // response headers, e.g. x-amz-delete-marker
}

func errorf(code string, status int, msg string) *s3Error {
	return &s3Error{code: code, status: status, msg: msg}
}

func malformedXML() *s3Error {
	return errorf("MalformedXML", 400, "The XML you provided was not well-formed or did not validate against our published schema")
}

func methodNotAllowed() *s3Error {
	return errorf("MethodNotAllowed", 405, "The specified method is not allowed against this resource.")
}

func noSuchBucket(b string) *s3Error {
	return &s3Error{code: "NoSuchBucket", status: 404, msg: "The specified bucket does not exist", bucket: b}
}

func noSuchKey(k string) *s3Error {
	return &s3Error{code: "NoSuchKey", status: 404, msg: "The specified key does not exist.", key: k}
}

func internal(s *Service, what string, err error) *s3Error {
	if errors.Is(err, store.ErrClosed) {
		return errorf("ServiceUnavailable", 503, "Please reduce your request rate.")
	}
	s.log.Error("s3: "+what, "err", err)
	return errorf("InternalError", 500, "We encountered an internal error. Please try again.")
}

// fromAWS turns the front door's errors into S3's.
func fromAWS(e *awsapi.Error) *s3Error {
	switch e.Code {
	case "AccessDeniedException":
		return errorf("AccessDenied", 403, e.Message)
	case "InvalidSignatureException":
		if strings.HasPrefix(e.Message, "Signature expired") || strings.HasPrefix(e.Message, "Signature not yet current") {
			if strings.Contains(e.Message, " sec.)") { // a presigned URL's expiry
				return errorf("AccessDenied", 403, "Request has expired")
			}
			return errorf("RequestTimeTooSkewed", 403, "The difference between the request time and the current time is too large.")
		}
		if strings.HasPrefix(e.Message, "Credential should be scoped") {
			return errorf("AuthorizationHeaderMalformed", 400, e.Message)
		}
		return errorf("SignatureDoesNotMatch", 403, "The request signature we calculated does not match the signature you provided. Check your key and signing method.")
	case "UnrecognizedClientException":
		return errorf("InvalidAccessKeyId", 403, "The AWS Access Key Id you provided does not exist in our records.")
	case "ExpiredTokenException":
		return errorf("ExpiredToken", 400, "The provided token has expired.")
	case "IncompleteSignatureException":
		return errorf("InvalidRequest", 400, e.Message)
	case "UnknownOperationException":
		return errorf("NotImplemented", 501, e.Message)
	}
	return errorf(e.Code, e.Status, e.Message)
}

// WriteError implements awsapi.ErrorWriter: S3's XML error.
func (s *Service) WriteError(w http.ResponseWriter, requestID string, e *awsapi.Error) {
	writeError(w, nil, requestID, fromAWS(e))
}

type errorDoc struct {
	XMLName    xml.Name `xml:"Error"`
	Code       string   `xml:"Code"`
	Message    string   `xml:"Message"`
	BucketName string   `xml:"BucketName,omitempty"`
	Key        string   `xml:"Key,omitempty"`
	Extra      []xmlKV  `xml:",any"`
	RequestID  string   `xml:"RequestId"`
	HostID     string   `xml:"HostId"`
}

type xmlKV struct {
	XMLName xml.Name
	Value   string `xml:",chardata"`
}

func writeError(w http.ResponseWriter, r *http.Request, requestID string, e *s3Error) {
	h := w.Header()
	h.Set("x-amz-request-id", requestID)
	for _, kv := range e.headers {
		h.Set(kv[0], kv[1])
	}
	if r != nil && r.Method == http.MethodHead { // HEAD answers carry no body
		w.WriteHeader(e.status)
		return
	}
	doc := errorDoc{Code: e.code, Message: e.msg, BucketName: e.bucket, Key: e.key, RequestID: requestID, HostID: requestID}
	for _, kv := range e.extra {
		doc.Extra = append(doc.Extra, xmlKV{XMLName: xml.Name{Local: kv[0]}, Value: kv[1]})
	}
	b, _ := xml.Marshal(doc)
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", strconv.Itoa(len(xml.Header)+len(b)))
	w.WriteHeader(e.status)
	w.Write([]byte(xml.Header))
	w.Write(b)
}

func writeXML(w http.ResponseWriter, v any) { writeXMLStatus(w, http.StatusOK, v) }

func writeXMLStatus(w http.ResponseWriter, status int, v any) {
	b, err := xml.Marshal(v)
	if err != nil {
		w.WriteHeader(500)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", strconv.Itoa(len(xml.Header)+len(b)))
	w.WriteHeader(status)
	w.Write([]byte(xml.Header))
	w.Write(b)
}

const xmlns = "http://s3.amazonaws.com/doc/2006-03-01/"

// target is the bucket and key a request names: path style
// (/bucket/key) or virtual-hosted style (bucket.localhost,
// bucket.s3.localhost, bucket.s3.<region>.localhost).
func target(r *http.Request) (bucket, key string) {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	path := r.URL.Path
	if net.ParseIP(host) == nil && strings.HasSuffix(host, ".localhost") {
		labels := strings.Split(strings.TrimSuffix(host, ".localhost"), ".")
		if i := indexOf(labels, "s3"); i > 0 {
			return strings.Join(labels[:i], "."), strings.TrimPrefix(path, "/")
		} else if i < 0 {
			return strings.Join(labels, "."), strings.TrimPrefix(path, "/")
		}
	}
	rest := strings.TrimPrefix(path, "/")
	bucket, key, _ = strings.Cut(rest, "/")
	return bucket, key
}

func splitHostPort(hp string) (string, string, error) { return net.SplitHostPort(hp) }

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

func (s *Service) bucketARN(b string) string { return "arn:aws:s3:::" + b }

func (s *Service) objectARN(b, k string) string { return "arn:aws:s3:::" + b + "/" + k }

// ServeAWS implements awsapi.Service.
func (s *Service) ServeAWS(w http.ResponseWriter, r *http.Request, call *awsapi.Call) {
	w.Header().Set("x-amz-request-id", call.RequestID)
	bucket, key := target(r)
	q := r.URL.Query()
	var e *s3Error
	if r.Method != http.MethodOptions {
		s.applyCORS(w, r, bucket)
	}
	switch {
	case r.Method == http.MethodOptions: // a preflight, signed though it need not be
		e = s.preflight(w, r, bucket, key)
	case bucket == "" && r.Method == http.MethodGet:
		e = s.listBuckets(w, r, call)
	case bucket == "":
		e = methodNotAllowed()
	case key == "":
		e = s.bucketOp(w, r, call, bucket, q)
	default:
		e = s.objectOp(w, r, call, bucket, key, q)
	}
	if e != nil {
		writeError(w, r, call.RequestID, e)
	}
}

// authorize decides op on resource for the call, with S3's condition keys.
// The bucket's policy, when it has one, is the resource policy.
func (s *Service) authorize(call *awsapi.Call, op, resource string, keys func(*iam.Context)) *s3Error {
	var rp *iam.Policy
	if b, ok := strings.CutPrefix(resource, "arn:aws:s3:::"); ok {
		b, _, _ = strings.Cut(b, "/")
		p, err := s.bucketPolicy(context.Background(), b)
		if err != nil {
			return internal(s, "read the bucket policies", err)
		}
		rp = p
	}
	if e := call.Authorize(ops.Op(op), resource, rp, keys); e != nil {
		return fromAWS(e)
	}
	return nil
}
