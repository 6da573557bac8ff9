package lambda

import (
	"bytes"
	"errors"
	"io"
	"strconv"
)

// The Runtime API's wire: HTTP/1.1 requests from one runtime, parsed here
// rather than by net/http so that the instance's goroutine can read the
// runtime's answer and write the next event on the connection itself,
// without handing each request between goroutines (see runtimeapi.go).

// Limits of what a runtime may send.
const (
	maxAPIHeaderBytes = 64 << 10
	maxAPIBody        = MaxSyncPayload + 1 // one more, to tell "too large"
)

var (
	errAPIMalformed = errors.New("malformed request")
	errAPITooLarge  = errors.New("request too large")
)

// apiRequest is one request of a runtime.
type apiRequest struct {
	method, path string
	errorType    string // Lambda-Runtime-Function-Error-Type
	body         []byte
	tooLarge     bool // the body was over maxAPIBody; body holds its start
	close        bool // Connection: close, or HTTP/1.0
}

// apiReader reads requests from a connection through a buffer of its own.
type apiReader struct {
	read func([]byte) (int, error)
	buf  []byte
	r, w int
	cont func() // answers Expect: 100-continue (curl asks before large bodies)
}

func newAPIReader(read func([]byte) (int, error)) *apiReader {
	return &apiReader{read: read, buf: make([]byte, 8<<10)}
}

// fill reads more into the buffer, growing it up to limit bytes unread.
func (b *apiReader) fill(limit int) error {
	if b.r > 0 && b.r == b.w {
		b.r, b.w = 0, 0
	}
	if b.w == len(b.buf) {
		if b.r > 0 {
			b.w = copy(b.buf, b.buf[b.r:b.w])
			b.r = 0
		} else {
			if len(b.buf) >= limit {
				return errAPITooLarge
			}
			nb := make([]byte, min(2*len(b.buf), limit))
			copy(nb, b.buf[:b.w])
			b.buf = nb
		}
	}
	n, err := b.read(b.buf[b.w:])
	if n > 0 {
		b.w += n
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// line returns the next CRLF- (or LF-) terminated line, without it.
func (b *apiReader) line(limit int) ([]byte, error) {
	for {
		if i := bytes.IndexByte(b.buf[b.r:b.w], '\n'); i >= 0 {
			l := b.buf[b.r : b.r+i]
			b.r += i + 1
			return bytes.TrimSuffix(l, []byte("\r")), nil
		}
		if b.w-b.r >= limit {
			return nil, errAPITooLarge
		}
		if err := b.fill(limit); err != nil {
			return nil, err
		}
	}
}

// take returns the next n bytes (n ≤ what fill may grow the buffer to).
func (b *apiReader) take(n int) ([]byte, error) {
	for b.w-b.r < n {
		if err := b.fill(max(n, len(b.buf))); err != nil {
			return nil, err
		}
	}
	p := b.buf[b.r : b.r+n]
	b.r += n
	return p, nil
}

// buffered reports whether bytes of a next request are already here.
func (b *apiReader) buffered() bool { return b.w > b.r }

// next reads one request. io.EOF means the connection closed between
// requests; any other error, that it cannot be read on.
func (b *apiReader) next() (*apiRequest, error) {
	line, err := b.line(maxAPIHeaderBytes)
	for err == nil && len(line) == 0 { // stray CRLF between requests
		line, err = b.line(maxAPIHeaderBytes)
	}
	if err != nil {
		return nil, err
	}
	method, rest, ok1 := bytes.Cut(line, []byte(" "))
	target, proto, ok2 := bytes.Cut(rest, []byte(" "))
	if !ok1 || !ok2 || len(method) == 0 || len(target) == 0 || !bytes.HasPrefix(proto, []byte("HTTP/1.")) {
		return nil, errAPIMalformed
	}
	req := &apiRequest{method: string(method), path: string(target), close: string(proto) == "HTTP/1.0"}
	if i := bytes.IndexByte(target, '?'); i >= 0 {
		req.path = string(target[:i])
	}
	length, chunked, expect := -1, false, false
	headerBytes := len(line)
	for {
		h, err := b.line(maxAPIHeaderBytes)
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if len(h) == 0 {
			break
		}
		if headerBytes += len(h); headerBytes > maxAPIHeaderBytes {
			return nil, errAPITooLarge
		}
		k, v, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			return nil, errAPIMalformed
		}
		v = bytes.TrimSpace(v)
		switch {
		case bytes.EqualFold(k, []byte("Content-Length")):
			n, err := strconv.Atoi(string(v))
			if err != nil || n < 0 || length >= 0 && n != length {
				return nil, errAPIMalformed
			}
			length = n
		case bytes.EqualFold(k, []byte("Transfer-Encoding")):
			if !bytes.EqualFold(v, []byte("chunked")) {
				return nil, errAPIMalformed
			}
			chunked = true
		case bytes.EqualFold(k, []byte("Connection")):
			req.close = bytes.EqualFold(v, []byte("close"))
		case bytes.EqualFold(k, []byte("Lambda-Runtime-Function-Error-Type")):
			req.errorType = string(v)
		case bytes.EqualFold(k, []byte("Expect")):
			expect = bytes.EqualFold(v, []byte("100-continue"))
		}
	}
	if expect && (chunked || length > 0) && b.cont != nil && !b.buffered() {
		b.cont()
	}
	switch {
	case chunked:
		err = b.chunkedBody(req)
	case length > 0:
		err = b.body(req, length)
	}
	return req, err
}

// body reads a body of n bytes, keeping at most maxAPIBody of it.
func (b *apiReader) body(req *apiRequest, n int) error {
	for n > 0 {
		step := min(n, 64<<10)
		p, err := b.take(step)
		if err != nil {
			return err
		}
		if len(req.body)+len(p) > maxAPIBody {
			req.tooLarge = true
		} else {
			req.body = append(req.body, p...)
		}
		n -= step
	}
	return nil
}

func (b *apiReader) chunkedBody(req *apiRequest) error {
	for {
		line, err := b.line(1024)
		if err != nil {
			return err
		}
		size, _, _ := bytes.Cut(line, []byte(";"))
		n, err := strconv.ParseUint(string(bytes.TrimSpace(size)), 16, 31)
		if err != nil {
			return errAPIMalformed
		}
		if n == 0 {
			for { // trailers, then the empty line
				t, err := b.line(maxAPIHeaderBytes)
				if err != nil {
					return err
				}
				if len(t) == 0 {
					return nil
				}
			}
		}
		if err := b.body(req, int(n)); err != nil {
			return err
		}
		if crlf, err := b.line(2); err != nil || len(crlf) != 0 {
			return errAPIMalformed
		}
	}
}

// Answers to a runtime.
var (
	apiAccepted = []byte("HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n{\"status\":\"OK\"}\n")
	apiContinue = []byte("HTTP/1.1 100 Continue\r\n\r\n")
)

func apiErrorAnswer(status int, errorType, msg string) []byte {
	doc := errorDoc(errorType, msg)
	b := make([]byte, 0, 128+len(doc))
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ' ')
	b = append(b, statusText(status)...)
	b = append(b, "\r\nContent-Type: application/json\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(doc)), 10)
	b = append(b, "\r\n\r\n"...)
	return append(b, doc...)
}

func statusText(status int) string {
	switch status {
	case 400:
		return "Bad Request"
	case 404:
		return "Not Found"
	case 413:
		return "Request Entity Too Large"
	case 500:
		return "Internal Server Error"
	}
	return "Error"
}

// appendEvent is the answer to GET next: the event of c, with the headers
// the Runtime API documents.
func appendEvent(b []byte, c *call, arn string) []byte {
	b = append(b, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: "...)
	b = append(b, c.id...)
	b = append(b, "\r\nLambda-Runtime-Deadline-Ms: "...)
	b = strconv.AppendInt(b, c.deadline.UnixMilli(), 10)
	b = append(b, "\r\nLambda-Runtime-Invoked-Function-Arn: "...)
	b = append(b, arn...)
	if c.req.TraceID != "" {
		b = append(b, "\r\nLambda-Runtime-Trace-Id: "...)
		b = append(b, headerSafe(c.req.TraceID)...)
	}
	if c.req.ClientContext != "" {
		b = append(b, "\r\nLambda-Runtime-Client-Context: "...)
		b = append(b, headerSafe(c.req.ClientContext)...)
	}
	b = append(b, "\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(c.req.Payload)), 10)
	b = append(b, "\r\n\r\n"...)
	return append(b, c.req.Payload...)
}

// headerSafe drops what would end a header line early.
func headerSafe(s string) string {
	if !bytes.ContainsAny([]byte(s), "\r\n") {
		return s
	}
	return string(bytes.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, []byte(s)))
}
