package gateway

import (
	"encoding/base64"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// scratch holds the per-request buffers, reused through a sync.Pool. Nothing
// in it may outlive the request: the payload given to the invoker is a copy.
type scratch struct {
	buf   []byte   // the event, then the decoded response body
	body  []byte   // the request body
	keys  []string // header names, sorted
	pairs []pair   // query parameters, then response headers
	host  [1]string
}

type pair struct{ k, v string }

// maxPooled keeps one huge request from pinning its buffers in the pool.
const maxPooled = 1 << 20

func (s *scratch) reset() {
	clear(s.keys)
	clear(s.pairs)
	s.host[0] = ""
	s.buf, s.body, s.keys, s.pairs = s.buf[:0], s.body[:0], s.keys[:0], s.pairs[:0]
	if cap(s.buf) > maxPooled {
		s.buf = nil
	}
	if cap(s.body) > maxPooled {
		s.body = nil
	}
}

// exchange is one request on its way to a function.
type exchange struct {
	t      *table
	r      *http.Request
	route  *route
	m      match
	path   string // the request path, escaped as received
	body   []byte
	now    time.Time
	reqID  string // requestId
	extID  string // REST extendedRequestId and x-amz-apigw-id
	s      *scratch
	binary bool
}

const timeLayout = "02/Jan/2006:15:04:05 -0700"

// textTypes are the media types whose bodies reach the function as text.
var textTypes = []string{
	"application/json", "application/xml", "application/x-www-form-urlencoded", "application/javascript",
}

// isText reports whether a body with Content-Type ct is passed as a string
// (when it is valid UTF-8) rather than base64.
func isText(ct string) bool {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.TrimSpace(ct)
	if ct == "" {
		return true
	}
	if len(ct) >= 5 && strings.EqualFold(ct[:5], "text/") {
		return true
	}
	for _, t := range textTypes {
		if strings.EqualFold(ct, t) {
			return true
		}
	}
	if len(ct) > 12 && strings.EqualFold(ct[:12], "application/") {
		sub := ct[12:]
		return hasSuffixFold(sub, "+json") || hasSuffixFold(sub, "+xml")
	}
	return false
}

func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}

func sourceIP(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

func (x *exchange) domain() (name, prefix string) {
	if x.t.domainName != "" {
		return x.t.domainName, x.t.domainPrefix
	}
	name = x.r.Host
	prefix = name
	if i := strings.IndexAny(prefix, ".:"); i >= 0 {
		prefix = prefix[:i]
	}
	return name, prefix
}

// headerKeys collects the request's header names, and "Host" (which
// net/http moves out of the map), sorted so events are deterministic.
func (x *exchange) headerKeys() []string {
	keys := x.s.keys[:0]
	for k, vs := range x.r.Header {
		if len(vs) > 0 {
			keys = append(keys, k)
		}
	}
	if _, ok := x.r.Header["Host"]; !ok && x.r.Host != "" {
		keys = append(keys, "Host")
	}
	slices.Sort(keys)
	x.s.keys = keys
	return keys
}

func (x *exchange) headerValues(k string) []string {
	if v, ok := x.r.Header[k]; ok {
		return v
	}
	x.s.host[0] = x.r.Host // the synthetic "Host"
	return x.s.host[:]
}

// queryPairs parses the raw query string leniently, as API Gateway does: no
// error for a bad escape (the text is kept as is), no ';' separator. Pairs
// are sorted by key, keeping the order of repeated keys.
func (x *exchange) queryPairs() []pair {
	ps := x.s.pairs[:0]
	q := x.r.URL.RawQuery
	for q != "" {
		var part string
		part, q, _ = strings.Cut(q, "&")
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		ps = append(ps, pair{queryUnescape(k), queryUnescape(v)})
	}
	slices.SortStableFunc(ps, func(a, b pair) int { return strings.Compare(a.k, b.k) })
	x.s.pairs = ps
	return ps
}

func queryUnescape(s string) string {
	if strings.ContainsAny(s, "%+") {
		if u, err := url.QueryUnescape(s); err == nil {
			return u
		}
	}
	return s
}

func pathUnescape(s string) string {
	if strings.IndexByte(s, '%') >= 0 {
		if u, err := url.PathUnescape(s); err == nil {
			return u
		}
	}
	return s
}

func (x *exchange) appendPathParameters(b []byte) []byte {
	b = append(b, '{')
	for i, name := range x.route.params {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, name)
		b = append(b, ':')
		b = appendString(b, pathUnescape(x.m.param(i)))
	}
	return append(b, '}')
}

func (x *exchange) appendBody(b []byte) []byte {
	if x.binary {
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, x.body)
		return append(b, '"')
	}
	return appendStringUTF8(b, x.body)
}

// appendV1 appends the payload format 1.0 event of a REST API.
func (x *exchange) appendV1(b []byte) []byte {
	r, rt, t := x.r, x.route, x.t
	// path is the request path without the stage, encoded as received.
	full := x.path
	path := full
	if x.m.stripped {
		path = full[len(t.stagePrefix):]
	}
	if path == "" {
		path = "/"
	}
	b = append(b, `{"resource":`...)
	b = appendString(b, rt.Path)
	b = append(b, `,"path":`...)
	b = appendString(b, path)
	b = append(b, `,"httpMethod":`...)
	b = appendString(b, r.Method)

	keys := x.headerKeys()
	b = append(b, `,"headers":`...)
	if len(keys) == 0 {
		b = append(b, "null"...)
	} else {
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			vs := x.headerValues(k)
			b = appendString(b, k)
			b = append(b, ':')
			b = appendString(b, vs[len(vs)-1]) // the last value wins
		}
		b = append(b, '}')
	}
	b = append(b, `,"multiValueHeaders":`...)
	if len(keys) == 0 {
		b = append(b, "null"...)
	} else {
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':', '[')
			for j, v := range x.headerValues(k) {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendString(b, v)
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}

	ps := x.queryPairs()
	b = append(b, `,"queryStringParameters":`...)
	if len(ps) == 0 {
		b = append(b, "null"...)
	} else {
		b = append(b, '{')
		for i, p := range ps {
			if i+1 < len(ps) && ps[i+1].k == p.k {
				continue // the last value wins
			}
			if b[len(b)-1] != '{' {
				b = append(b, ',')
			}
			b = appendString(b, p.k)
			b = append(b, ':')
			b = appendString(b, p.v)
		}
		b = append(b, '}')
	}
	b = append(b, `,"multiValueQueryStringParameters":`...)
	if len(ps) == 0 {
		b = append(b, "null"...)
	} else {
		b = append(b, '{')
		for i, p := range ps {
			if i == 0 || ps[i-1].k != p.k {
				if i > 0 {
					b = append(b, ']', ',')
				}
				b = appendString(b, p.k)
				b = append(b, ':', '[')
			} else {
				b = append(b, ',')
			}
			b = appendString(b, p.v)
		}
		b = append(b, ']', '}')
	}

	b = append(b, `,"pathParameters":`...)
	if len(rt.params) == 0 {
		b = append(b, "null"...)
	} else {
		b = x.appendPathParameters(b)
	}
	b = append(b, `,"stageVariables":null,"requestContext":{"resourceId":`...)
	b = appendString(b, rt.resourceID)
	b = append(b, `,"resourcePath":`...)
	b = appendString(b, rt.Path)
	b = append(b, `,"httpMethod":`...)
	b = appendString(b, r.Method)
	b = append(b, `,"extendedRequestId":`...)
	b = appendString(b, x.extID)
	b = append(b, `,"requestTime":"`...)
	b = x.now.UTC().AppendFormat(b, timeLayout)
	b = append(b, `","path":`...)
	if x.m.stripped {
		b = appendString(b, full)
	} else {
		b = append(b, '"')
		b = appendEscaped(b, t.stagePrefix)
		b = appendEscaped(b, path)
		b = append(b, '"')
	}
	b = append(b, `,"accountId":`...)
	b = appendString(b, t.cfg.AccountID)
	b = append(b, `,"protocol":`...)
	b = appendString(b, r.Proto)
	b = append(b, `,"stage":`...)
	b = appendString(b, t.cfg.Stage)
	name, prefix := x.domain()
	b = append(b, `,"domainPrefix":`...)
	b = appendString(b, prefix)
	b = append(b, `,"requestTimeEpoch":`...)
	b = strconv.AppendInt(b, x.now.UnixMilli(), 10)
	b = append(b, `,"requestId":`...)
	b = appendString(b, x.reqID)
	b = append(b, `,"identity":{"cognitoIdentityPoolId":null,"accountId":null,"cognitoIdentityId":null,"caller":null,"sourceIp":`...)
	b = appendString(b, sourceIP(r))
	b = append(b, `,"principalOrgId":null,"accessKey":null,"cognitoAuthenticationType":null,"cognitoAuthenticationProvider":null,"userArn":null,"userAgent":`...)
	if ua, ok := r.Header["User-Agent"]; ok && len(ua) > 0 {
		b = appendString(b, ua[0])
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"user":null},"domainName":`...)
	b = appendString(b, name)
	b = append(b, `,"apiId":`...)
	b = appendString(b, t.apiID)
	b = append(b, `},"body":`...)
	if len(x.body) == 0 {
		b = append(b, "null"...)
	} else {
		b = x.appendBody(b)
	}
	b = append(b, `,"isBase64Encoded":`...)
	b = strconv.AppendBool(b, x.binary)
	return append(b, '}')
}

// compareFold orders ASCII strings ignoring case.
func compareFold(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		ca, cb := lower(a[i]), lower(b[i])
		if ca != cb {
			return int(ca) - int(cb)
		}
	}
	return len(a) - len(b)
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// appendV2 appends the payload format 2.0 event of an HTTP API.
func (x *exchange) appendV2(b []byte) []byte {
	r, rt, t := x.r, x.route, x.t
	// HTTP APIs hand the function the decoded path, unlike REST APIs.
	path := r.URL.Path
	if path == "" {
		path = "/"
	}
	b = append(b, `{"version":"2.0","routeKey":`...)
	b = appendString(b, rt.routeKey)
	b = append(b, `,"rawPath":`...)
	b = appendString(b, path)
	b = append(b, `,"rawQueryString":`...)
	b = appendString(b, r.URL.RawQuery)

	// Header names are lower-cased and repeated headers joined with commas;
	// names that differ only in case are one header. Cookies move to their
	// own field.
	keys := x.headerKeys()
	slices.SortFunc(keys, func(a, b string) int {
		if c := compareFold(a, b); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	n := 0
	for _, k := range keys {
		if !strings.EqualFold(k, "Cookie") {
			continue
		}
		for _, line := range x.headerValues(k) {
			for c := range strings.SplitSeq(line, ";") {
				if c = strings.TrimSpace(c); c == "" {
					continue
				}
				if n == 0 {
					b = append(b, `,"cookies":[`...)
				} else {
					b = append(b, ',')
				}
				b = appendString(b, c)
				n++
			}
		}
	}
	if n > 0 {
		b = append(b, ']')
	}

	b = append(b, `,"headers":{`...)
	first := true
	for i, k := range keys {
		if strings.EqualFold(k, "Cookie") {
			continue
		}
		if i > 0 && compareFold(keys[i-1], k) == 0 {
			for _, v := range x.headerValues(k) {
				b = append(b, ',')
				b = appendEscaped(b, v)
			}
			continue
		}
		if !first {
			b = append(b, '"', ',')
		}
		first = false
		b = appendLowerString(b, k)
		b = append(b, ':', '"')
		for j, v := range x.headerValues(k) {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendEscaped(b, v)
		}
	}
	if !first {
		b = append(b, '"')
	}
	b = append(b, '}')

	if ps := x.queryPairs(); len(ps) > 0 {
		b = append(b, `,"queryStringParameters":{`...)
		for i, p := range ps {
			if i > 0 && ps[i-1].k == p.k {
				b = append(b, ',')
				b = appendEscaped(b, p.v)
				continue
			}
			if i > 0 {
				b = append(b, '"', ',')
			}
			b = appendString(b, p.k)
			b = append(b, ':', '"')
			b = appendEscaped(b, p.v)
		}
		b = append(b, '"', '}')
	}
	if len(rt.params) > 0 {
		b = append(b, `,"pathParameters":`...)
		b = x.appendPathParameters(b)
	}

	name, prefix := x.domain()
	b = append(b, `,"requestContext":{"accountId":`...)
	b = appendString(b, t.cfg.AccountID)
	b = append(b, `,"apiId":`...)
	b = appendString(b, t.apiID)
	b = append(b, `,"domainName":`...)
	b = appendString(b, name)
	b = append(b, `,"domainPrefix":`...)
	b = appendString(b, prefix)
	b = append(b, `,"http":{"method":`...)
	b = appendString(b, r.Method)
	b = append(b, `,"path":`...)
	b = appendString(b, path)
	b = append(b, `,"protocol":`...)
	b = appendString(b, r.Proto)
	b = append(b, `,"sourceIp":`...)
	b = appendString(b, sourceIP(r))
	b = append(b, `,"userAgent":`...)
	ua := ""
	if v := r.Header["User-Agent"]; len(v) > 0 {
		ua = v[0]
	}
	b = appendString(b, ua)
	b = append(b, `},"requestId":`...)
	b = appendString(b, x.reqID)
	b = append(b, `,"routeKey":`...)
	b = appendString(b, rt.routeKey)
	b = append(b, `,"stage":"$default","time":"`...)
	b = x.now.UTC().AppendFormat(b, timeLayout)
	b = append(b, `","timeEpoch":`...)
	b = strconv.AppendInt(b, x.now.UnixMilli(), 10)
	b = append(b, '}')
	if len(x.body) > 0 {
		b = append(b, `,"body":`...)
		b = x.appendBody(b)
	}
	b = append(b, `,"isBase64Encoded":`...)
	b = strconv.AppendBool(b, x.binary)
	return append(b, '}')
}
