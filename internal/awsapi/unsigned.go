package awsapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
)

// UnsignedServer is implemented by a service that answers requests which
// carry no SigV4 signature of their own: S3's CORS preflights (a browser
// never signs an OPTIONS) and its browser POST uploads, whose signature is
// a field of the form, over the form's policy. The service decides which
// requests it takes; it must authenticate anything that changes state
// itself, through Unsigned.VerifyPolicy.
type UnsignedServer interface {
	// ServesUnsigned says whether the service answers r, which carries
	// neither an Authorization header nor a presigned query.
	ServesUnsigned(r *http.Request) bool
	// ServeUnsigned answers r.
	ServeUnsigned(w http.ResponseWriter, r *http.Request, u *Unsigned)
}

// Unsigned is what a service answering an unsigned request may do with it.
type Unsigned struct {
	RequestID string
	Logger    *slog.Logger
	h         *Handler
	r         *http.Request
}

// unsigned returns the service that answers r when r carries no
// signature, or nil.
func (h *Handler) unsigned(r *http.Request) UnsignedServer {
	if r.Header.Get("Authorization") != "" {
		return nil
	}
	q := r.URL.Query()
	if q.Has("X-Amz-Signature") || q.Has("X-Amz-Credential") || q.Has("X-Amz-Algorithm") {
		return nil
	}
	names := make([]string, 0, len(h.services))
	for n := range h.services {
		names = append(names, n)
	}
	sort.Strings(names) // the same service every time, should two ask
	for _, n := range names {
		if u, ok := h.services[n].(UnsignedServer); ok && u.ServesUnsigned(r) {
			return u
		}
	}
	return nil
}

// PostPolicy is the signature fields of a browser POST form (AWS's
// "Authenticating Requests in Browser-Based Uploads Using POST").
type PostPolicy struct {
	Algorithm  string // x-amz-algorithm: AWS4-HMAC-SHA256
	Credential string // x-amz-credential: AKID/date/region/service/aws4_request
	Date       string // x-amz-date: the signing time, ISO-8601 basic format
	Token      string // x-amz-security-token, for temporary keys
	Policy     string // policy: the base64 policy document, as sent
	Signature  string // x-amz-signature: hex HMAC-SHA256 of Policy
}

// VerifyPolicy checks p's signature of its policy with the secret of its
// credential, as a signed request is checked (the key exists and has not
// expired, the session token is the key's, the scope is this server's
// region and service), and returns the Call it makes. The policy's own
// expiration and conditions are the service's to check. Errors are *Error.
func (u *Unsigned) VerifyPolicy(service string, p PostPolicy) (*Call, error) {
	h := u.h
	if p.Algorithm != "AWS4-HMAC-SHA256" {
		return nil, ErrIncompleteSignature.Errorf("Only the AWS4-HMAC-SHA256 algorithm is accepted for a POST form, not '%s'.", p.Algorithm)
	}
	parts := strings.Split(p.Credential, "/")
	if len(parts) != 5 || parts[4] != "aws4_request" || parts[0] == "" {
		return nil, ErrIncompleteSignature.Errorf("Credential should be in the form AKID/YYYYMMDD/region/service/aws4_request, not '%s'.", p.Credential)
	}
	akid, date, region, svc := parts[0], parts[1], parts[2], parts[3]
	if svc != service {
		return nil, ErrInvalidSignature.Errorf("Credential should be scoped to correct service: '%s'.", service)
	}
	if region != h.region {
		return nil, ErrInvalidSignature.Errorf(
			"Credential should be scoped to a valid region, not '%s'. This Cloudlet server serves region '%s'.", region, h.region)
	}
	if _, err := signingTime(p.Date, date); err != nil {
		return nil, err
	}
	secret, err := h.verifier.secretFor(akid, p.Token)
	if err != nil {
		return nil, err
	}
	m := hmac.New(sha256.New, signingKey(secret, date, region, svc))
	io.WriteString(m, p.Policy)
	if got := hex.EncodeToString(m.Sum(nil)); subtle.ConstantTimeCompare([]byte(got), []byte(strings.ToLower(p.Signature))) != 1 {
		return nil, ErrInvalidSignature.Err()
	}
	call := &Call{
		RequestID:   u.RequestID,
		AccessKeyID: akid,
		AccountID:   h.account,
		Region:      region,
		Service:     svc,
		Logger:      u.Logger.With("service", svc, "access_key", akid),
		Time:        h.now(),
		auth:        h.auth,
		sourceIP:    sourceIP(u.r),
		secure:      u.r.TLS != nil,
	}
	if err := h.attachKey(call); err != nil {
		return nil, err
	}
	return call, nil
}
