package s3

import (
	"encoding/xml"
	"net/http"
	"strconv"
	"strings"

	"github.com/cloudlet/cloudlet/internal/awsapi"
)

// A bucket's CORS configuration (Put/Get/DeleteBucketCors) lets pages of
// other origins use it from a browser: a preflight (OPTIONS, never
// signed) is answered from the first rule that allows its origin, method
// and headers, and an actual request that carries an Origin gets the
// Access-Control-* headers of the first rule allowing its origin and
// method. S3 decides nothing else by CORS: a request a rule does not
// allow is still served (the browser hides its answer).

// corsRule is one CORSRule, as S3's XML names it and as the bucket's doc
// keeps it.
type corsRule struct {
	ID      string   `xml:"ID,omitempty" json:"id,omitempty"`
	Headers []string `xml:"AllowedHeader" json:"headers,omitempty"`
	Methods []string `xml:"AllowedMethod" json:"methods"`
	Origins []string `xml:"AllowedOrigin" json:"origins"`
	Expose  []string `xml:"ExposeHeader" json:"expose,omitempty"`
	MaxAge  *int     `xml:"MaxAgeSeconds,omitempty" json:"maxAge,omitempty"`
}

type corsXML struct {
	XMLName xml.Name   `xml:"CORSConfiguration"`
	Xmlns   string     `xml:"xmlns,attr,omitempty"`
	Rules   []corsRule `xml:"CORSRule"`
}

var corsMethods = map[string]bool{"GET": true, "PUT": true, "HEAD": true, "POST": true, "DELETE": true}

// parseCORS reads PutBucketCors's body.
func parseCORS(body []byte) ([]corsRule, *s3Error) {
	var x corsXML
	if xml.Unmarshal(body, &x) != nil || x.XMLName.Local != "CORSConfiguration" {
		return nil, malformedXML()
	}
	return x.Rules, checkCORS(x.Rules)
}

// checkCORS checks a configuration's rules as S3 does.
func checkCORS(rules []corsRule) *s3Error {
	if len(rules) == 0 || len(rules) > 100 {
		return malformedXML()
	}
	for i := range rules {
		c := &rules[i]
		if len(c.Methods) == 0 || len(c.Origins) == 0 || len(c.ID) > 255 || c.MaxAge != nil && *c.MaxAge < 0 {
			return malformedXML()
		}
		for _, m := range c.Methods {
			if !corsMethods[m] {
				return errorf("InvalidRequest", 400, "Found unsupported HTTP method in CORS config. Unsupported method is "+m)
			}
		}
		for _, o := range c.Origins {
			if strings.Count(o, "*") > 1 {
				return errorf("InvalidRequest", 400, `AllowedOrigin "`+o+`" can not have more than one wildcard.`)
			}
		}
		for _, h := range c.Headers {
			if strings.Count(h, "*") > 1 {
				return errorf("InvalidRequest", 400, `AllowedHeader "`+h+`" can not have more than one wildcard.`)
			}
		}
	}
	return nil
}

// corsOp serves Put/Get/DeleteBucketCors.
func (s *Service) corsOp(w http.ResponseWriter, r *http.Request, call *awsapi.Call, bucket string) *s3Error {
	op := map[string]string{http.MethodPut: "PutBucketCors", http.MethodGet: "GetBucketCors", http.MethodDelete: "DeleteBucketCors"}[r.Method]
	if op == "" {
		return methodNotAllowed()
	}
	if e := s.authorize(call, op, s.bucketARN(bucket), nil); e != nil {
		return e
	}
	var rules []corsRule
	if op == "PutBucketCors" {
		body, e := readSmall(r, 64<<10)
		if e != nil {
			return e
		}
		if rules, e = parseCORS(body); e != nil {
			return e
		}
	}
	e := s.bucketDocOp(r, bucket, op != "GetBucketCors", "set a bucket's CORS configuration", func(d *bucketDoc) {
		switch op {
		case "GetBucketCors":
			rules = d.CORS
		case "PutBucketCors":
			d.CORS, d.CORSDeployed = rules, false // the API's now
		default:
			d.CORS, d.CORSDeployed = nil, false
		}
	})
	if op != "GetBucketCors" {
		s.bucketsChanged() // the rules kept in memory
	}
	if e != nil {
		return e
	}
	switch op {
	case "GetBucketCors":
		if len(rules) == 0 {
			return &s3Error{code: "NoSuchCORSConfiguration", status: 404, msg: "The CORS configuration does not exist", bucket: bucket}
		}
		writeXML(w, corsXML{Xmlns: xmlns, Rules: rules})
	case "PutBucketCors":
		w.WriteHeader(http.StatusOK)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
	return nil
}

// wildcard reports whether s matches pattern, which holds at most one
// '*' standing for any run of characters.
func wildcard(pattern, s string) bool {
	pre, post, ok := strings.Cut(pattern, "*")
	if !ok {
		return pattern == s
	}
	return len(s) >= len(pre)+len(post) && strings.HasPrefix(s, pre) && strings.HasSuffix(s, post)
}

// allows reports whether c allows a request from origin with method and
// the (lowercase) request headers.
func (c *corsRule) allows(origin, method string, headers []string) bool {
	ok := false
	for _, o := range c.Origins {
		if wildcard(o, origin) {
			ok = true
			break
		}
	}
	if !ok || !contains(c.Methods, method) {
		return false
	}
next:
	for _, h := range headers {
		for _, a := range c.Headers {
			if wildcard(strings.ToLower(a), h) {
				continue next
			}
		}
		return false
	}
	return true
}

func contains(list []string, s string) bool { return indexOf(list, s) >= 0 }

// corsHeaders sets the Access-Control-* headers of rule c for origin.
func corsHeaders(h http.Header, c *corsRule, origin string) {
	if contains(c.Origins, "*") {
		h.Set("Access-Control-Allow-Origin", "*")
	} else {
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	h.Set("Access-Control-Allow-Methods", strings.Join(c.Methods, ", "))
	if len(c.Expose) > 0 {
		h.Set("Access-Control-Expose-Headers", strings.Join(c.Expose, ", "))
	}
	if c.MaxAge != nil {
		h.Set("Access-Control-Max-Age", strconv.Itoa(*c.MaxAge))
	}
	h.Set("Vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method")
}

// applyCORS sets, on the answer to an actual request that carries an
// Origin, the headers of the bucket's first rule allowing its origin and
// method. It never refuses the request.
func (s *Service) applyCORS(w http.ResponseWriter, r *http.Request, bucket string) {
	origin := r.Header.Get("Origin")
	if origin == "" || bucket == "" {
		return
	}
	b, e := s.bucketInMemory(r, bucket)
	if e != nil || b == nil || len(b.cors) == 0 {
		return // the request itself says what is wrong
	}
	// the answer depends on the Origin whether or not a rule allows it:
	// a cache must not give one origin's answer to another
	w.Header().Set("Vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method")
	for i := range b.cors {
		if b.cors[i].allows(origin, r.Method, nil) {
			corsHeaders(w.Header(), &b.cors[i], origin)
			return
		}
	}
}

// preflight answers a CORS preflight (OPTIONS) on bucket or an object in
// it.
func (s *Service) preflight(w http.ResponseWriter, r *http.Request, bucket, key string) *s3Error {
	origin, method := r.Header.Get("Origin"), r.Header.Get("Access-Control-Request-Method")
	if origin == "" {
		return errorf("BadRequest", 400, "Insufficient information. Origin request header needed.")
	}
	if !corsMethods[method] {
		return errorf("BadRequest", 400, "Invalid Access-Control-Request-Method: "+method)
	}
	if bucket == "" {
		return errorf("AccessForbidden", 403, "CORSResponse: Bucket not found")
	}
	b, e := s.bucketInMemory(r, bucket)
	if e != nil {
		return e
	}
	if b == nil {
		return errorf("AccessForbidden", 403, "CORSResponse: Bucket not found")
	}
	if len(b.cors) == 0 {
		return errorf("AccessForbidden", 403, "CORSResponse: CORS is not enabled for this bucket.")
	}
	var headers []string
	for _, h := range strings.Split(r.Header.Get("Access-Control-Request-Headers"), ",") {
		if h = strings.ToLower(strings.TrimSpace(h)); h != "" {
			headers = append(headers, h)
		}
	}
	for i := range b.cors {
		c := &b.cors[i]
		if !c.allows(origin, method, headers) {
			continue
		}
		corsHeaders(w.Header(), c, origin)
		if len(headers) > 0 {
			w.Header().Set("Access-Control-Allow-Headers", strings.Join(headers, ", "))
		}
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
		return nil
	}
	resource := "BUCKET"
	if key != "" {
		resource = "OBJECT"
	}
	e = errorf("AccessForbidden", 403, "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, "+
		"request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.")
	e.extra = [][2]string{{"Method", method}, {"ResourceType", resource}}
	return e
}

// ServesUnsigned implements awsapi.UnsignedServer: S3 answers CORS
// preflights and browser POST uploads (a multipart/form-data POST on a
// bucket), which carry no SigV4 signature of their own.
func (s *Service) ServesUnsigned(r *http.Request) bool {
	if r.Method == http.MethodOptions {
		return true
	}
	if r.Method != http.MethodPost || !strings.HasPrefix(strings.ToLower(r.Header.Get("Content-Type")), "multipart/form-data") {
		return false
	}
	bucket, key := target(r)
	return bucket != "" && key == ""
}

// ServeUnsigned implements awsapi.UnsignedServer.
func (s *Service) ServeUnsigned(w http.ResponseWriter, r *http.Request, u *awsapi.Unsigned) {
	w.Header().Set("x-amz-request-id", u.RequestID)
	bucket, key := target(r)
	var e *s3Error
	if r.Method == http.MethodOptions {
		e = s.preflight(w, r, bucket, key)
	} else {
		s.applyCORS(w, r, bucket)
		e = s.postObject(w, r, u, bucket)
	}
	if e != nil {
		writeError(w, r, u.RequestID, e)
	}
}
