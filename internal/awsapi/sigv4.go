package awsapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	sigAlgorithm    = "AWS4-HMAC-SHA256"
	amzDateFormat   = "20060102T150405Z"
	scopeDateFormat = "20060102"
	unsignedPayload = "UNSIGNED-PAYLOAD"

	// MaxClockSkew is how far X-Amz-Date may be from the server's clock.
	MaxClockSkew = 15 * time.Minute
	// maxPresignExpires is the longest X-Amz-Expires AWS accepts (7 days).
	maxPresignExpires = 7 * 24 * 60 * 60
)

// Credentials looks up the secret of an access key.
type Credentials interface {
	Secret(accessKeyID string) (secret string, ok bool)
}

// SessionTokens is what a Credentials that issues temporary keys also
// tells: the session token a key must be used with ("" for a long-term
// key, which must be used with none).
type SessionTokens interface {
	SessionToken(accessKeyID string) string
}

// StaticCredentials is a fixed set of access key → secret.
type StaticCredentials map[string]string

// Secret implements Credentials.
func (c StaticCredentials) Secret(accessKeyID string) (string, bool) {
	s, ok := c[accessKeyID]
	return s, ok
}

// DefaultCredentials are the local-mode admin credentials (test/test), the
// ecosystem's convention for local AWS endpoints.
var DefaultCredentials = StaticCredentials{"test": "test"}

// Auth is the SigV4 authentication a request carries, in its Authorization
// header or, for a presigned URL, in its query.
type Auth struct {
	AccessKeyID   string
	Date          string // credential scope date, YYYYMMDD
	Region        string
	Service       string
	SignedHeaders []string // lowercase, as the client listed them
	Signature     string   // hex
	// Presigned is set when the authentication came from the query string.
	Presigned bool
	// AmzDate and Expires come from the query of a presigned URL.
	AmzDate string
	Expires int
}

// ParseAuthorization parses a SigV4 Authorization header:
//
//	AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/lambda/aws4_request, SignedHeaders=host;x-amz-date, Signature=...
//
// Errors are *Error with AWS's IncompleteSignatureException messages.
func ParseAuthorization(header string) (*Auth, error) {
	alg, rest, _ := strings.Cut(strings.TrimLeft(header, " "), " ")
	if alg != sigAlgorithm {
		if strings.HasPrefix(alg, "AWS4-") {
			return nil, ErrIncompleteSignature.Errorf("Unsupported AWS 'algorithm': '%s'. Cloudlet supports %s (SigV4) only.", alg, sigAlgorithm)
		}
		return nil, incomplete(header, true, true, true)
	}
	var cred, signed, sig string
	var haveCred, haveSigned, haveSig bool
	for part := range strings.SplitSeq(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "Credential":
			cred, haveCred = v, true
		case "SignedHeaders":
			signed, haveSigned = v, true
		case "Signature":
			sig, haveSig = v, true
		}
	}
	if !haveCred || !haveSigned || !haveSig {
		return nil, incomplete(header, !haveCred, !haveSig, !haveSigned)
	}
	a := &Auth{Signature: sig}
	if err := a.parseCredential(cred); err != nil {
		return nil, err
	}
	if err := a.parseSignedHeaders(signed); err != nil {
		return nil, err
	}
	return a, nil
}

// incomplete builds AWS's message for an Authorization header that lacks parameters.
func incomplete(header string, cred, sig, signed bool) *Error {
	var b strings.Builder
	if cred {
		b.WriteString("Authorization header requires 'Credential' parameter. ")
	}
	if sig {
		b.WriteString("Authorization header requires 'Signature' parameter. ")
	}
	if signed {
		b.WriteString("Authorization header requires 'SignedHeaders' parameter. ")
	}
	b.WriteString("Authorization=")
	b.WriteString(header)
	return ErrIncompleteSignature.Errorf("%s", b.String())
}

func (a *Auth) parseCredential(cred string) error {
	parts := strings.Split(cred, "/")
	if len(parts) != 5 || parts[0] == "" || parts[2] == "" || parts[3] == "" {
		return ErrIncompleteSignature.Errorf("Credential must have the form <access key>/<date>/<region>/<service>/aws4_request, not '%s'.", cred)
	}
	if parts[4] != "aws4_request" {
		return ErrIncompleteSignature.Errorf("Credential should be scoped with a valid terminator: 'aws4_request', not '%s'.", parts[4])
	}
	if _, err := time.Parse(scopeDateFormat, parts[1]); err != nil {
		return ErrIncompleteSignature.Errorf("Credential date '%s' must be in the form YYYYMMDD.", parts[1])
	}
	a.AccessKeyID, a.Date, a.Region, a.Service = parts[0], parts[1], parts[2], parts[3]
	return nil
}

func (a *Auth) parseSignedHeaders(s string) error {
	if s == "" {
		return ErrIncompleteSignature.Errorf("SignedHeaders must list at least host.")
	}
	a.SignedHeaders = strings.Split(s, ";")
	for _, h := range a.SignedHeaders {
		if h == "" || h != strings.ToLower(h) {
			return ErrIncompleteSignature.Errorf("SignedHeaders must be lowercase header names separated by ';', not '%s'.", s)
		}
	}
	return nil
}

// parsePresigned reads SigV4 query authentication (a presigned URL).
func parsePresigned(q url.Values) (*Auth, error) {
	if alg := q.Get("X-Amz-Algorithm"); alg != sigAlgorithm {
		return nil, ErrIncompleteSignature.Errorf("Unsupported AWS 'algorithm': '%s'. Cloudlet supports %s (SigV4) only.", alg, sigAlgorithm)
	}
	var missing []string
	for _, k := range []string{"X-Amz-Credential", "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Date"} {
		if q.Get(k) == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return nil, ErrIncompleteSignature.Errorf("AWS query-string parameters must include %s.", strings.Join(missing, ", "))
	}
	a := &Auth{Signature: q.Get("X-Amz-Signature"), Presigned: true, AmzDate: q.Get("X-Amz-Date"), Expires: maxPresignExpires}
	if err := a.parseCredential(q.Get("X-Amz-Credential")); err != nil {
		return nil, err
	}
	if err := a.parseSignedHeaders(q.Get("X-Amz-SignedHeaders")); err != nil {
		return nil, err
	}
	if s := q.Get("X-Amz-Expires"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPresignExpires {
			return nil, ErrIncompleteSignature.Errorf("X-Amz-Expires must be a number of seconds between 1 and %d, not '%s'.", maxPresignExpires, s)
		}
		a.Expires = n
	}
	return a, nil
}

// ParseRequest finds the SigV4 authentication of r: the Authorization header,
// else presigned query parameters. A request with neither gets
// MissingAuthenticationTokenException.
func ParseRequest(r *http.Request) (*Auth, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		return ParseAuthorization(h)
	}
	q := r.URL.Query()
	if q.Has("X-Amz-Signature") || q.Has("X-Amz-Algorithm") || q.Has("X-Amz-Credential") {
		return parsePresigned(q)
	}
	return nil, ErrMissingAuthenticationToken.Err()
}

// Verifier checks SigV4 signatures by re-signing a copy of the request with
// the AWS SDK's own signer and comparing in constant time.
type Verifier struct {
	creds  Credentials
	now    func() time.Time
	signer *v4.Signer
}

// NewVerifier returns a verifier that looks secrets up in creds and reads the
// clock from now (time.Now when nil).
func NewVerifier(creds Credentials, now func() time.Time) *Verifier {
	if now == nil {
		now = time.Now
	}
	return &Verifier{
		creds: creds,
		now:   now,
		// Lambda, DynamoDB and SQS double-escape the path (S3 would not;
		// it gets its own option when it arrives).
		signer: v4.NewSigner(),
	}
}

// ignoredBySigner lists the headers the SDK's signer leaves out of a signature
// (its IgnoredHeaders rule, which matches canonical keys exactly). A client may
// still sign them; keyed in lowercase they pass the rule and are signed.
var ignoredBySigner = map[string]bool{
	"authorization": true, "user-agent": true, "x-amzn-trace-id": true,
	"expect": true, "transfer-encoding": true,
}

// Verify checks that a, parsed from r, is a valid signature of r with body
// as its payload. Errors are *Error.
func (v *Verifier) Verify(r *http.Request, a *Auth, body []byte) error {
	_, _, err := v.verify(r, a, func() (string, error) { return payloadHash(r, body) })
	return err
}

// VerifyStream checks that a, parsed from r, is a valid signature of r's
// headers and returns r's body, checked as it is read against the
// payload the client signed (chunked.go); chunked is the aws-chunked
// decoder, when the body is one, for its trailers. Errors are *Error.
func (v *Verifier) VerifyStream(r *http.Request, a *Auth) (body io.Reader, chunked *ChunkedReader, err error) {
	claimed := r.Header.Get("X-Amz-Content-Sha256")
	secret, signTime, err := v.verify(r, a, func() (string, error) {
		switch {
		case claimed == "" && a.Presigned:
			return unsignedPayload, nil
		case claimed == "":
			return "", ErrIncompleteSignature.Errorf("Missing required header for this request: x-amz-content-sha256")
		case claimed == unsignedPayload || claimed == streamingSigned || claimed == streamingUnsignedTrails || claimed == streamingSignedTrails:
			return claimed, nil
		case len(claimed) == sha256.Size*2 && isHex(claimed):
			return claimed, nil
		}
		return "", ErrIncompleteSignature.Errorf("x-amz-content-sha256 must be the hex SHA-256 of the body, %s, %s, %s or %s, not '%s'.",
			unsignedPayload, streamingSigned, streamingSignedTrails, streamingUnsignedTrails, claimed)
	})
	if err != nil {
		return nil, nil, err
	}
	if a.Service == "s3" {
		// S3 acts on x-amz-* headers (a copy's source, metadata,
		// checksums): one the client did not sign could be added by anyone
		// holding the request (a presigned URL, say).
		signed := map[string]bool{}
		for _, h := range a.SignedHeaders {
			signed[h] = true
		}
		var unsigned []string
		for name := range r.Header {
			lower := strings.ToLower(name)
			if (strings.HasPrefix(lower, "x-amz-") || lower == "content-md5") && !signed[lower] && !(a.Presigned && lower == "x-amz-content-sha256") {
				unsigned = append(unsigned, lower)
			}
		}
		if len(unsigned) > 0 {
			sort.Strings(unsigned)
			return nil, nil, ErrAccessDenied.Errorf("There were headers present in the request which were not signed: %s", strings.Join(unsigned, ", "))
		}
	}
	switch claimed {
	case "", unsignedPayload:
		return r.Body, nil, nil
	case streamingSigned, streamingSignedTrails:
		cs := &chunkSigner{key: signingKey(secret, a.Date, a.Region, a.Service), amzDate: signTime.Format(amzDateFormat),
			scope: a.Date + "/" + a.Region + "/" + a.Service + "/aws4_request", prev: a.Signature}
		c := newChunkedReader(r.Body, cs)
		c.signedTrailer = claimed == streamingSignedTrails
		return c, c, nil
	case streamingUnsignedTrails:
		c := newChunkedReader(r.Body, nil)
		return c, c, nil
	}
	return &hashingReader{r: r.Body, h: sha256.New(), want: claimed}, nil, nil
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}

// verify checks a's signature of r, with the payload hash hashOf gives
// (asked once the headers and times are checked); it returns the key's
// secret and the signing time.
func (v *Verifier) verify(r *http.Request, a *Auth, hashOf func() (string, error)) (string, time.Time, error) {
	token := r.Header.Get("X-Amz-Security-Token")
	if a.Presigned {
		token = r.URL.Query().Get("X-Amz-Security-Token")
	}
	secret, err := v.secretFor(a.AccessKeyID, token)
	if err != nil {
		return "", time.Time{}, err
	}

	amzDate := a.AmzDate
	if !a.Presigned {
		amzDate = r.Header.Get("X-Amz-Date")
		if amzDate == "" {
			return "", time.Time{}, ErrIncompleteSignature.Errorf("Authorization header requires existence of a 'X-Amz-Date' header "+
				"(Cloudlet does not accept the 'Date' header for SigV4). Authorization=%s", r.Header.Get("Authorization"))
		}
	}
	signTime, err := signingTime(amzDate, a.Date)
	if err != nil {
		return "", time.Time{}, err
	}
	if err := v.checkTime(signTime, a); err != nil {
		return "", time.Time{}, err
	}

	payloadHash, err := hashOf()
	if err != nil {
		return "", time.Time{}, err
	}

	req, err := signable(r, a)
	if err != nil {
		return "", time.Time{}, err
	}
	creds := aws.Credentials{AccessKeyID: a.AccessKeyID, SecretAccessKey: secret}
	var got string
	if a.Presigned {
		signed, _, err := v.signer.PresignHTTP(context.Background(), creds, req, payloadHash, a.Service, a.Region, signTime,
			func(o *v4.SignerOptions) {
				o.DisableHeaderHoisting = true
				o.DisableURIPathEscaping = a.Service == "s3"
			})
		if err != nil {
			return "", time.Time{}, ErrInternalFailure.Errorf("re-sign request: %v", err)
		}
		_, got, _ = strings.Cut(signed, "X-Amz-Signature=")
	} else {
		if err := v.signer.SignHTTP(context.Background(), creds, req, payloadHash, a.Service, a.Region, signTime,
			func(o *v4.SignerOptions) { o.DisableURIPathEscaping = a.Service == "s3" }); err != nil {
			return "", time.Time{}, ErrInternalFailure.Errorf("re-sign request: %v", err)
		}
		_, got, _ = strings.Cut(req.Header.Get("Authorization"), "Signature=")
	}
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(a.Signature)) != 1 {
		return "", time.Time{}, ErrInvalidSignature.Err()
	}
	return secret, signTime, nil
}

// secretFor is the secret of accessKeyID, which must come with its own
// session token. A session token that is not the key's (any token, for a
// long-term key) is refused, as AWS refuses it: the signature covers the
// token, but whoever holds a key must not make up a session for it.
func (v *Verifier) secretFor(accessKeyID, token string) (string, error) {
	secret, ok := v.creds.Secret(accessKeyID)
	if !ok {
		return "", ErrUnrecognizedClient.Err()
	}
	want := ""
	if st, ok := v.creds.(SessionTokens); ok {
		want = st.SessionToken(accessKeyID)
	}
	if subtle.ConstantTimeCompare([]byte(token), []byte(want)) != 1 {
		return "", ErrUnrecognizedClient.Err()
	}
	return secret, nil
}

// signingTime parses amzDate, which must fall on scopeDate (the
// credential scope's YYYYMMDD).
func signingTime(amzDate, scopeDate string) (time.Time, error) {
	t, err := time.Parse(amzDateFormat, amzDate)
	if err != nil {
		return t, ErrIncompleteSignature.Errorf("Date must be in ISO-8601 'basic format'. Got '%s'. See http://en.wikipedia.org/wiki/ISO_8601", amzDate)
	}
	if t.Format(scopeDateFormat) != scopeDate {
		return t, ErrInvalidSignature.Errorf("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.",
			scopeDate, t.Format(scopeDateFormat), amzDate)
	}
	return t, nil
}

// checkTime rejects a signature made too long ago or too far in the future.
func (v *Verifier) checkTime(signTime time.Time, a *Auth) error {
	now := v.now().UTC()
	if signTime.After(now.Add(MaxClockSkew)) {
		return ErrInvalidSignature.Errorf("Signature not yet current: %s is still later than %s (%s + 15 min.)",
			signTime.Format(amzDateFormat), now.Add(MaxClockSkew).Format(amzDateFormat), now.Format(amzDateFormat))
	}
	if a.Presigned {
		if end := signTime.Add(time.Duration(a.Expires) * time.Second); now.After(end) {
			return ErrInvalidSignature.Errorf("Signature expired: %s is now earlier than %s (%s - %d sec.)",
				end.Format(amzDateFormat), now.Format(amzDateFormat), signTime.Format(amzDateFormat), a.Expires)
		}
		return nil
	}
	if signTime.Before(now.Add(-MaxClockSkew)) {
		return ErrInvalidSignature.Errorf("Signature expired: %s is now earlier than %s (%s - 15 min.)",
			signTime.Format(amzDateFormat), now.Add(-MaxClockSkew).Format(amzDateFormat), now.Format(amzDateFormat))
	}
	return nil
}

// payloadHash returns the payload hash the client signed: X-Amz-Content-Sha256
// when present (checked against the body unless UNSIGNED-PAYLOAD), else the
// SHA-256 of the body.
func payloadHash(r *http.Request, body []byte) (string, error) {
	claimed := r.Header.Get("X-Amz-Content-Sha256")
	if claimed == "" {
		claimed = r.URL.Query().Get("X-Amz-Content-Sha256")
	}
	if claimed == unsignedPayload {
		return claimed, nil
	}
	sum := sha256.Sum256(body)
	actual := hex.EncodeToString(sum[:])
	if claimed == "" {
		return actual, nil
	}
	if len(claimed) != sha256.Size*2 {
		return "", ErrIncompleteSignature.Errorf("x-amz-content-sha256 must be the hex SHA-256 of the body or %s, not '%s' "+
			"(Cloudlet does not support streaming payload signatures yet).", unsignedPayload, claimed)
	}
	// Without this check a captured request could be replayed with another body.
	if subtle.ConstantTimeCompare([]byte(strings.ToLower(claimed)), []byte(actual)) != 1 {
		return "", ErrInvalidSignature.Errorf("The provided 'x-amz-content-sha256' header does not match what was computed.")
	}
	return claimed, nil
}

// signable builds the request the signer signs: r's method, its path exactly
// as it came over the wire, its query, Host, and only the headers the client
// signed.
func signable(r *http.Request, a *Auth) (*http.Request, error) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	rawQuery := r.URL.RawQuery
	if a.Presigned {
		q := r.URL.Query()
		q.Del("X-Amz-Signature")
		rawQuery = q.Encode()
	}
	req := &http.Request{
		Method: r.Method,
		// The signer escapes Opaque's path once more, as clients do when they
		// sign Lambda paths like /functions/f%3A%24LATEST/invocations.
		URL:    &url.URL{Scheme: scheme, Host: r.Host, Opaque: "//" + r.Host + wirePath(r), RawQuery: rawQuery},
		Host:   r.Host,
		Header: make(http.Header, len(a.SignedHeaders)+2),
	}
	for _, name := range a.SignedHeaders {
		switch name {
		case "host":
			// The signer always signs Host, from req.Host.
		case "content-length":
			// The signer signs Content-Length from req.ContentLength when positive.
			req.ContentLength = r.ContentLength
		default:
			values := r.Header.Values(name)
			if len(values) == 0 {
				return nil, ErrInvalidSignature.Errorf("The request signature covers header '%s', which the request does not carry.", name)
			}
			key := textproto.CanonicalMIMEHeaderKey(name)
			if ignoredBySigner[name] {
				key = name
			}
			req.Header[key] = values
		}
	}
	return req, nil
}

// wirePath returns the request path exactly as the client sent it.
func wirePath(r *http.Request) string {
	uri := r.RequestURI
	if i := strings.IndexByte(uri, '?'); i >= 0 {
		uri = uri[:i]
	}
	if strings.HasPrefix(uri, "/") {
		return uri
	}
	// Absolute-form (proxy) requests, "*", or a request built in a test.
	if p := r.URL.EscapedPath(); p != "" {
		return p
	}
	return "/"
}
