package awsapi

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/cloudlet/cloudlet/internal/iam"
	"github.com/cloudlet/cloudlet/internal/lambda"
)

// HealthPath answers without authentication whether the server is ready.
const HealthPath = "/_cloudlet/health"

// DefaultMaxBody is the largest request body a service accepts unless it
// implements BodyLimiter.
const DefaultMaxBody = 6 << 20

// Service serves the calls of one AWS service, chosen by the service of the
// credential scope ("lambda", "s3", "dynamodb", "sqs").
type Service interface {
	// ServeAWS answers one call whose signature has been verified.
	// call.Body holds the whole request body, and r.Body reads it again
	// (but for a BodyStreamer: r.Body reads the body as it arrives, checked
	// against its signature, and call.Body is nil).
	ServeAWS(w http.ResponseWriter, r *http.Request, call *Call)
}

// BodyLimiter is implemented by services that accept a body size other than
// DefaultMaxBody, or answer a larger body with an error of their own.
type BodyLimiter interface {
	// MaxBody returns the largest body the service reads and the error for
	// a larger one.
	MaxBody() (int64, *Error)
}

// Call is one verified AWS API call.
type Call struct {
	RequestID   string // x-amzn-RequestId of the response
	AccessKeyID string // the verified caller
	AccountID   string
	Region      string // region of the credential scope
	Service     string // service of the credential scope
	Body        []byte // the whole request body
	Logger      *slog.Logger
	// Key is the caller's key with its principal (nil when the Handler
	// has no Authorizer).
	Key  *iam.Key
	Time time.Time // when the call arrived (aws:CurrentTime)

	auth     *iam.Authorizer
	sourceIP string
	secure   bool
	chunked  *ChunkedReader // a streamed aws-chunked body, for its trailers
}

// Trailer is the trailing headers of a streamed aws-chunked body, once
// it has been read (nil for other bodies).
func (c *Call) Trailer() http.Header {
	if c.chunked == nil {
		return nil
	}
	return c.chunked.Trailer
}

// Options configure a Handler.
type Options struct {
	// Credentials holds the secrets of the accepted access keys
	// (DefaultCredentials, test/test, when nil).
	Credentials Credentials
	// Region is the region this server serves (us-east-1 when empty);
	// requests signed for another region are refused with a message saying so.
	Region string
	// AccountID is the account of every caller (000000000000 when empty).
	AccountID string
	Logger    *slog.Logger // slog.Default() when nil
	// Health answers GET /_cloudlet/health: whether the server is ready
	// (200, else 503) and a JSON body saying what it serves; nil means
	// always ready, with {"status":"ok"}.
	Health func() (ready bool, body []byte)
	// Services maps the credential-scope service name to its Service.
	Services map[string]Service
	// Now is the clock signatures are checked against (time.Now when nil).
	Now func() time.Time
	// Authorizer decides every call of a caller that is not the admin;
	// its Keys are then the Credentials. Without one, every verified
	// call is allowed (tests and embedding).
	Authorizer *iam.Authorizer
}

// Handler is the AWS front door: it authenticates every call with SigV4 and
// hands it to the service named in the credential scope.
type Handler struct {
	verifier *Verifier
	region   string
	account  string
	log      *slog.Logger
	healthOf func() (bool, []byte)
	services map[string]Service
	auth     *iam.Authorizer
	now      func() time.Time
}

// New returns a Handler for opts.
func New(opts Options) *Handler {
	h := &Handler{
		region:   opts.Region,
		account:  opts.AccountID,
		log:      opts.Logger,
		healthOf: opts.Health,
		services: make(map[string]Service, len(opts.Services)),
	}
	h.auth, h.now = opts.Authorizer, opts.Now
	if h.now == nil {
		h.now = time.Now
	}
	creds := opts.Credentials
	if h.auth != nil {
		creds = h.auth.Keys
	}
	if creds == nil {
		creds = DefaultCredentials
	}
	h.verifier = NewVerifier(creds, opts.Now)
	if h.region == "" {
		h.region = "us-east-1"
	}
	if h.account == "" {
		h.account = "000000000000"
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	for name, s := range opts.Services {
		h.services[name] = s
	}
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := lambda.NewRequestID()
	if r.URL.Path == HealthPath {
		h.health(w, id)
		return
	}
	log := h.log.With("request_id", id)
	if u := h.unsigned(r); u != nil {
		w.Header().Set("x-amzn-RequestId", id)
		u.ServeUnsigned(w, r, &Unsigned{RequestID: id, Logger: log, h: h, r: r})
		return
	}

	a, err := ParseRequest(r)
	if err != nil {
		h.reject(w, r, id, nil, err, log)
		return
	}
	svc, ok := h.services[a.Service]
	if !ok {
		h.reject(w, r, id, nil, ErrUnknownOperation.Errorf(
			"Cloudlet does not serve the service '%s' named in the credential scope; it serves %s.",
			a.Service, strings.Join(h.serviceNames(), ", ")), log)
		return
	}
	if a.Region != h.region {
		h.reject(w, r, id, svc, ErrInvalidSignature.Errorf(
			"Credential should be scoped to a valid region, not '%s'. This Cloudlet server serves region '%s': "+
				"set AWS_REGION (or --region) to %s, or start Cloudlet with that region.", a.Region, h.region, h.region), log)
		return
	}
	var body []byte
	var stream io.Reader
	var chunked *ChunkedReader
	if _, ok := svc.(BodyStreamer); ok {
		if stream, chunked, err = h.verifier.VerifyStream(r, a); err != nil {
			h.reject(w, r, id, svc, err, log)
			return
		}
	} else {
		if body, err = readBody(r, svc); err != nil {
			h.reject(w, r, id, svc, err, log)
			return
		}
		if err := h.verifier.Verify(r, a, body); err != nil {
			h.reject(w, r, id, svc, err, log)
			return
		}
	}
	call := &Call{
		RequestID:   id,
		AccessKeyID: a.AccessKeyID,
		AccountID:   h.account,
		Region:      a.Region,
		Service:     a.Service,
		Body:        body,
		Logger:      log.With("service", a.Service, "access_key", a.AccessKeyID),
		Time:        h.now(),
		auth:        h.auth,
		sourceIP:    sourceIP(r),
		secure:      r.TLS != nil,
		chunked:     chunked,
	}
	if err := h.attachKey(call); err != nil {
		h.reject(w, r, id, svc, err, log)
		return
	}
	if stream != nil {
		r.Body = struct {
			io.Reader
			io.Closer
		}{stream, r.Body}
	} else {
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	w.Header().Set("x-amzn-RequestId", id)
	svc.ServeAWS(w, r, call)
}

func (h *Handler) health(w http.ResponseWriter, id string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-amzn-RequestId", id)
	if h.healthOf == nil {
		_, _ = io.WriteString(w, `{"status":"ok"}`)
		return
	}
	ready, body := h.healthOf()
	if !ready {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_, _ = w.Write(body)
}

// attachKey gives call its caller's key (when the Handler has an
// Authorizer), refusing a key revoked or expired since its signature was
// checked.
func (h *Handler) attachKey(call *Call) error {
	if h.auth == nil {
		return nil
	}
	key, ok := h.auth.Keys.Lookup(call.AccessKeyID)
	if !ok {
		return ErrUnrecognizedClient.Err()
	}
	if h.auth.Keys.Expired(call.AccessKeyID) {
		return ErrExpiredToken.Err()
	}
	call.Key = key
	return nil
}

// reject answers a call that failed before reaching its service, in the
// service's error shape when it has one.
func (h *Handler) reject(w http.ResponseWriter, r *http.Request, id string, svc Service, err error, log *slog.Logger) {
	var e *Error
	if !errors.As(err, &e) {
		e = ErrInternalFailure.Err()
	}
	log.Info("aws call rejected", "method", r.Method, "path", r.URL.Path, "code", e.Code, "message", e.Message)
	if ew, ok := svc.(ErrorWriter); ok {
		ew.WriteError(w, id, e)
		return
	}
	writeJSONError(w, id, e)
}

func (h *Handler) serviceNames() []string {
	names := make([]string, 0, len(h.services))
	for n := range h.services {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return []string{"no services"}
	}
	return names
}

// readBody reads the whole body of r, refusing more than the service accepts.
func readBody(r *http.Request, svc Service) ([]byte, error) {
	limit, tooLarge := int64(DefaultMaxBody), ErrRequestEntityTooLarge.Err()
	if bl, ok := svc.(BodyLimiter); ok {
		limit, tooLarge = bl.MaxBody()
	}
	if r.ContentLength > limit {
		return nil, tooLarge
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength))
	}
	n, err := buf.ReadFrom(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, ErrInternalFailure.Errorf("read request body: %v", err)
	}
	if n > limit {
		return nil, tooLarge
	}
	return buf.Bytes(), nil
}
