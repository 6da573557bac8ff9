package awsapi

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// Streamed bodies: a service that implements BodyStreamer reads the body
// itself, as it arrives, instead of the Handler reading it whole. The
// payload hash the client signed decides how the body is checked while
// it is read:
//
//   - a hex SHA-256: the body's hash, compared when the body ends;
//   - UNSIGNED-PAYLOAD: not checked (the headers are signed);
//   - STREAMING-AWS4-HMAC-SHA256-PAYLOAD: aws-chunked, each chunk signed
//     with the signature before it, starting from the request's;
//   - STREAMING-UNSIGNED-PAYLOAD-TRAILER: aws-chunked without signatures,
//     with trailing headers (the checksums the SDKs send by default);
//   - STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER: signed chunks, then
//     trailing headers signed by x-amz-trailer-signature, chained from
//     the last chunk's signature.
//
// A body that fails its check ends with an error wrapping
// ErrBodyNotAsSigned: what was read before must not be kept.

// BodyStreamer is implemented by services that read request bodies
// themselves (S3's objects).
type BodyStreamer interface {
	StreamsBody()
}

// ErrBodyNotAsSigned is wrapped by the read errors of a streamed body
// that does not match what was signed.
var ErrBodyNotAsSigned = errors.New("the body does not match its signature")

// Payload hashes of streamed bodies.
const (
	streamingSigned         = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	streamingUnsignedTrails = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
	streamingSignedTrails   = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
)

// MaxChunkLine bounds one aws-chunked header or trailer line.
const MaxChunkLine = 4096

// hashingReader checks a body against its signed SHA-256 at EOF.
type hashingReader struct {
	r    io.Reader
	h    hash.Hash
	want string
	err  error
}

func (h *hashingReader) Read(p []byte) (int, error) {
	if h.err != nil {
		return 0, h.err
	}
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	if err == io.EOF {
		if got := hex.EncodeToString(h.h.Sum(nil)); subtle.ConstantTimeCompare([]byte(got), []byte(strings.ToLower(h.want))) != 1 {
			h.err = ErrBodyNotAsSigned
			return n, h.err
		}
	}
	if err != nil {
		h.err = err
	}
	return n, err
}

// chunkSigner computes the signatures of aws-chunked chunks.
type chunkSigner struct {
	key     []byte // the request's signing key
	amzDate string
	scope   string
	prev    string // the signature before the next chunk's
}

var emptySHA256 = func() string { s := sha256.Sum256(nil); return hex.EncodeToString(s[:]) }()

// trailer returns the signature of the canonical trailing headers.
func (c *chunkSigner) trailer(canonical string) string {
	sum := sha256.Sum256([]byte(canonical))
	m := hmac.New(sha256.New, c.key)
	io.WriteString(m, "AWS4-HMAC-SHA256-TRAILER\n"+c.amzDate+"\n"+c.scope+"\n"+c.prev+"\n"+hex.EncodeToString(sum[:]))
	return hex.EncodeToString(m.Sum(nil))
}

func (c *chunkSigner) next(dataHash []byte) string {
	m := hmac.New(sha256.New, c.key)
	io.WriteString(m, "AWS4-HMAC-SHA256-PAYLOAD\n"+c.amzDate+"\n"+c.scope+"\n"+c.prev+"\n"+emptySHA256+"\n"+hex.EncodeToString(dataHash))
	c.prev = hex.EncodeToString(m.Sum(nil))
	return c.prev
}

func signingKey(secret, date, region, service string) []byte {
	mac := func(key []byte, data string) []byte {
		m := hmac.New(sha256.New, key)
		io.WriteString(m, data)
		return m.Sum(nil)
	}
	return mac(mac(mac(mac([]byte("AWS4"+secret), date), region), service), "aws4_request")
}

// ChunkedReader decodes an aws-chunked body: the data of its chunks, each
// checked against its signature when signer is not nil; the trailing
// headers are kept in Trailer once the body is read.
type ChunkedReader struct {
	br      *bufio.Reader
	signer  *chunkSigner
	left    int64 // data left in the current chunk
	sig     string
	h       hash.Hash
	done    bool
	err     error
	Trailer http.Header
	// signedTrailer: the trailers end with x-amz-trailer-signature
	signedTrailer bool
}

// NewChunkedReader decodes r, an aws-chunked body; signer is nil for the
// unsigned variant.
func newChunkedReader(r io.Reader, signer *chunkSigner) *ChunkedReader {
	return &ChunkedReader{br: bufio.NewReaderSize(r, 64<<10), signer: signer, h: sha256.New(), Trailer: http.Header{}}
}

func chunkError(msg string) error {
	return errors.Join(ErrBodyNotAsSigned, errors.New("aws-chunked: "+msg))
}

func (c *ChunkedReader) line() (string, error) {
	var b []byte
	for {
		frag, isPrefix, err := c.br.ReadLine()
		if err != nil {
			if err == io.EOF {
				return "", chunkError("the body ends inside a chunk header")
			}
			return "", err
		}
		b = append(b, frag...)
		if len(b) > MaxChunkLine {
			return "", chunkError("a chunk header is too long")
		}
		if !isPrefix {
			return string(b), nil
		}
	}
}

// header reads the next chunk's header: its size and signature.
func (c *ChunkedReader) header() error {
	line, err := c.line()
	if err != nil {
		return err
	}
	size, ext, _ := strings.Cut(line, ";")
	n, perr := strconv.ParseInt(strings.TrimSpace(size), 16, 64)
	if perr != nil || n < 0 || len(size) > 16 {
		return chunkError("a chunk size is not hexadecimal: " + strconv.Quote(clipLine(line)))
	}
	c.sig = ""
	if ext != "" {
		k, v, _ := strings.Cut(ext, "=")
		if strings.TrimSpace(k) != "chunk-signature" {
			return chunkError("unknown chunk extension " + strconv.Quote(clipLine(ext)))
		}
		c.sig = strings.TrimSpace(v)
	}
	if c.signer != nil && c.sig == "" {
		return chunkError("a chunk has no chunk-signature")
	}
	c.left = n
	c.h.Reset()
	if n == 0 {
		if err := c.endChunk(); err != nil {
			return err
		}
		return c.trailers()
	}
	return nil
}

// endChunk checks the chunk just read against its signature.
func (c *ChunkedReader) endChunk() error {
	if c.signer == nil {
		return nil
	}
	want := c.signer.next(c.h.Sum(nil))
	if subtle.ConstantTimeCompare([]byte(want), []byte(c.sig)) != 1 {
		return chunkError("a chunk's signature does not match")
	}
	return nil
}

// trailers reads the trailing headers after the last chunk, and checks
// their signature when they are signed.
func (c *ChunkedReader) trailers() error {
	var canonical strings.Builder
	sig := ""
	for {
		line, err := c.line()
		if err != nil {
			if errors.Is(err, ErrBodyNotAsSigned) && c.signer != nil && !c.signedTrailer {
				// the signed variant may end right after the last chunk's CRLF
				c.done = true
				return nil
			}
			return err
		}
		if line == "" {
			break
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return chunkError("a trailer is not name:value: " + strconv.Quote(clipLine(line)))
		}
		k, v = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v)
		if k == "x-amz-trailer-signature" && c.signedTrailer {
			sig = v
			continue
		}
		if canonical.Len()+len(line) > MaxChunkLine {
			return chunkError("the trailers are too long")
		}
		canonical.WriteString(k + ":" + v + "\n")
		c.Trailer.Add(k, v)
	}
	if c.signedTrailer {
		if sig == "" {
			return chunkError("the trailers have no x-amz-trailer-signature")
		}
		if want := c.signer.trailer(canonical.String()); subtle.ConstantTimeCompare([]byte(want), []byte(sig)) != 1 {
			return chunkError("the trailers' signature does not match")
		}
	}
	c.done = true
	return nil
}

func clipLine(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

func (c *ChunkedReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	for c.left == 0 {
		if c.done {
			return 0, io.EOF
		}
		if err := c.header(); err != nil {
			c.err = err
			return 0, err
		}
		if c.done {
			return 0, io.EOF
		}
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.br.Read(p)
	c.h.Write(p[:n])
	c.left -= int64(n)
	if err == io.EOF && c.left > 0 {
		c.err = chunkError("the body ends inside a chunk")
		return n, c.err
	}
	if err != nil && err != io.EOF {
		c.err = err
		return n, err
	}
	if c.left == 0 {
		// the chunk's CRLF, then its signature
		var crlf [2]byte
		if _, err := io.ReadFull(c.br, crlf[:]); err != nil || crlf != [2]byte{'\r', '\n'} {
			c.err = chunkError("a chunk does not end with CRLF")
			return n, c.err
		}
		if err := c.endChunk(); err != nil {
			c.err = err
			return n, err
		}
	}
	return n, nil
}
