package gateway

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
)

// reply is a function's response, parsed and checked, not yet written.
type reply struct {
	status  int
	headers []pair // canonical names; Set-Cookie for 2.0 cookies
	body    []byte
}

// parseReply reads a function's response as API Gateway does. For a REST
// API (payload 1.0) it must be an object with an integer statusCode; an HTTP
// API (2.0) also accepts any other JSON, sent as an application/json body.
// bad says what is wrong with a response that cannot be used.
func parseReply(d []byte, v2 bool, s *scratch) (rep reply, bad string) {
	if !json.Valid(d) {
		return rep, "the response is not valid JSON"
	}
	i := skipSpace(d, 0)
	if d[i] != '{' {
		if v2 {
			return defaultReply(d, i, s), ""
		}
		return rep, "the response is not a JSON object"
	}
	var status, headers, multi, cookies, body, b64 []byte
	members(d, i, func(k, v []byte) bool {
		switch {
		case keyIs(k, "statusCode"):
			status = v
		case keyIs(k, "headers"):
			headers = v
		case keyIs(k, "multiValueHeaders"):
			multi = v
		case keyIs(k, "cookies"):
			cookies = v
		case keyIs(k, "body"):
			body = v
		case keyIs(k, "isBase64Encoded"):
			b64 = v
		}
		return true
	})
	if status == nil {
		if v2 {
			return defaultReply(d, i, s), ""
		}
		return rep, "the response has no statusCode"
	}
	code, ok := parseStatus(status)
	if !ok {
		return rep, "statusCode " + string(status) + " is not an integer from 200 to 599"
	}
	rep.status = code

	ps := s.pairs[:0]
	defer func() { s.pairs = ps }()
	// multiValueHeaders first: for a name in both maps, AWS keeps only the
	// multi-value list. HTTP APIs do not read multiValueHeaders.
	if !v2 && !isNull(multi) {
		if multi[0] != '{' {
			return rep, "multiValueHeaders is not an object"
		}
		members(multi, 0, func(k, v []byte) bool {
			name, ok := headerName(k)
			if isNull(v) {
				return true
			}
			if v[0] != '[' {
				bad = "multiValueHeaders." + string(k[1:len(k)-1]) + " is not an array"
				return false
			}
			elements(v, 0, func(e []byte) bool {
				val, null, ok2 := scalar(e)
				if !ok2 {
					bad = "multiValueHeaders." + string(k[1:len(k)-1]) + " holds an object or array"
					return false
				}
				if ok && !null {
					ps = append(ps, pair{name, val})
				}
				return true
			})
			return bad == ""
		})
		if bad != "" {
			return rep, bad
		}
	}
	nMulti := len(ps)
	if !isNull(headers) {
		if headers[0] != '{' {
			return rep, "headers is not an object"
		}
		members(headers, 0, func(k, v []byte) bool {
			val, null, ok := scalar(v)
			if !ok {
				bad = "headers." + string(k[1:len(k)-1]) + " is an object or array"
				return false
			}
			name, valid := headerName(k)
			if !valid || null || hasName(ps[:nMulti], name) {
				return true
			}
			ps = append(ps, pair{name, val})
			return true
		})
		if bad != "" {
			return rep, bad
		}
	}
	if v2 && !isNull(cookies) {
		if cookies[0] != '[' {
			return rep, "cookies is not an array"
		}
		elements(cookies, 0, func(e []byte) bool {
			if e[0] != '"' {
				bad = "cookies holds something other than strings"
				return false
			}
			ps = append(ps, pair{"Set-Cookie", string(appendUnquoted(nil, e))})
			return true
		})
		if bad != "" {
			return rep, bad
		}
	}
	rep.headers = ps

	if !isNull(body) {
		if body[0] != '"' {
			return rep, "body is not a string"
		}
		s.buf = appendUnquoted(s.buf[:0], body)
		rep.body = s.buf
		if len(b64) == 4 && string(b64) == "true" {
			n := len(s.buf)
			s.buf = slices.Grow(s.buf, base64.RawStdEncoding.DecodedLen(n))
			dec, err := decodeBase64(s.buf[n:n+base64.RawStdEncoding.DecodedLen(n)], s.buf[:n])
			if err != nil {
				return rep, "body is not valid base64 although isBase64Encoded is true"
			}
			rep.body = dec
		}
	}
	return rep, ""
}

// defaultReply is how an HTTP API answers with a response that has no
// statusCode: 200, application/json, the JSON itself as the body (a JSON
// string's contents, not the quoted string).
func defaultReply(d []byte, i int, s *scratch) reply {
	rep := reply{status: http.StatusOK}
	end := skipValue(d, i)
	if d[i] == '"' {
		s.buf = appendUnquoted(s.buf[:0], d[i:end])
		rep.body = s.buf
	} else {
		rep.body = d[i:end]
	}
	return rep
}

// decodeBase64 decodes src into dst, which has room for it. Padding is
// optional and line breaks are ignored, as lenient decoders do.
func decodeBase64(dst, src []byte) ([]byte, error) {
	for len(src) > 0 && (src[len(src)-1] == '=' || src[len(src)-1] == '\n' || src[len(src)-1] == '\r') {
		src = src[:len(src)-1]
	}
	n, err := base64.RawStdEncoding.Decode(dst, src)
	return dst[:n], err
}

func isNull(v []byte) bool { return v == nil || v[0] == 'n' }

func parseStatus(v []byte) (int, bool) {
	if len(v) != 3 {
		return 0, false
	}
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, n >= 200 && n <= 599
}

// scalar returns a header value: a string's contents, or a number's or
// boolean's text. Objects and arrays are not header values.
func scalar(v []byte) (val string, null, ok bool) {
	switch v[0] {
	case '"':
		var buf [128]byte
		return string(appendUnquoted(buf[:0], v)), false, true
	case 'n':
		return "", true, true
	case '{', '[':
		return "", false, false
	}
	return string(v), false, true
}

// headerName decodes a raw JSON key into a canonical header name; ok is
// false when it is not a valid HTTP field name (it is then dropped).
func headerName(k []byte) (string, bool) {
	var buf [64]byte
	b := appendUnquoted(buf[:0], k)
	if len(b) == 0 {
		return "", false
	}
	upper := true
	for i, c := range b {
		if !isTokenChar(c) {
			return "", false
		}
		switch {
		case upper && 'a' <= c && c <= 'z':
			b[i] = c - 'a' + 'A'
		case !upper && 'A' <= c && c <= 'Z':
			b[i] = c - 'A' + 'a'
		}
		upper = c == '-'
	}
	if name, ok := commonHeaders[string(b)]; ok {
		return name, true // no allocation for the usual names
	}
	return string(b), true
}

// commonHeaders interns the response header names functions usually set.
var commonHeaders = intern(
	"Access-Control-Allow-Credentials", "Access-Control-Allow-Headers", "Access-Control-Allow-Methods",
	"Access-Control-Allow-Origin", "Access-Control-Expose-Headers", "Cache-Control", "Content-Disposition",
	"Content-Encoding", "Content-Type", "Etag", "Expires", "Last-Modified", "Location", "Set-Cookie", "Vary",
)

func intern(names ...string) map[string]string {
	m := make(map[string]string, len(names))
	for _, n := range names {
		m[n] = n
	}
	return m
}

func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

func hasName(ps []pair, name string) bool {
	for _, p := range ps {
		if p.k == name {
			return true
		}
	}
	return false
}

// writeReply sends rep with the gateway's own headers.
func (x *exchange) writeReply(w http.ResponseWriter, rep reply) {
	h := w.Header()
	// One backing array holds every header value; each name gets a
	// full-capacity slice of it, so a later append elsewhere copies
	// instead of overwriting a neighbour.
	vals := make([]string, 0, len(rep.headers)+6)
	set := func(k, v string) {
		if old, ok := h[k]; ok {
			h[k] = append(old, v)
			return
		}
		vals = append(vals, v)
		n := len(vals)
		h[k] = vals[n-1 : n : n]
	}
	for _, p := range rep.headers {
		switch p.k {
		case "Content-Length", "Transfer-Encoding", "Connection":
			continue // the gateway frames the body itself
		}
		set(p.k, p.v)
	}
	if _, ok := h["Content-Type"]; !ok {
		set("Content-Type", "application/json")
	}
	if x.route.CORS {
		if _, ok := h["Access-Control-Allow-Origin"]; !ok {
			set("Access-Control-Allow-Origin", "*")
		}
	}
	if x.extID != "" {
		set("x-amzn-RequestId", x.reqID)
		set("x-amz-apigw-id", x.extID)
	} else {
		set("apigw-requestid", x.reqID)
	}
	set("Content-Length", strconv.Itoa(len(rep.body)))
	w.WriteHeader(rep.status)
	_, _ = w.Write(rep.body)
}
