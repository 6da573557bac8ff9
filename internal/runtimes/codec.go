package runtimes

import (
	"bytes"
	"encoding/binary"
	"io"
	"strconv"
)

// Frame kinds. Platform → runtime: KindInvoke and KindSpecialise. Runtime →
// platform: the others.
const (
	KindInvoke     = 'I' // an invocation (see AppendInvoke for the body)
	KindSpecialise = 'S' // a stem cell becomes an instance of a function (see AppendSpecialise)
	KindExec       = 'X' // an exec stem cell becomes a function's own program (see AppendExec)
	KindReady      = 'Y' // init done, the handler is loaded; empty body
	KindInitError  = 'N' // init failed; body is the error document; the process then exits non-zero
	KindResponse   = 'R' // the invocation's result, JSON-encoded (undefined/None → null)
	KindError      = 'E' // the invocation failed; body is the error document
)

// MaxFrameSize bounds the N of a frame (kind byte plus body). It is far above
// Lambda's 6 MB payload limit so that the platform, not the codec, decides what
// is too large; it only stops a corrupt length prefix from allocating gigabytes.
const MaxFrameSize = 16 << 20

// Invocation is the body of a KindInvoke frame.
type Invocation struct {
	RequestID       string
	DeadlineMs      int64 // Unix milliseconds
	TraceID         string
	ClientContext   string // JSON, or "" (base64 of the JSON is accepted by the bootstraps too)
	CognitoIdentity string // JSON, or ""
	Payload         []byte // the raw event JSON
}

// AppendInvoke appends a whole KindInvoke frame, length prefix included, to dst
// and returns the extended slice.
//
// The four header fields are newline-terminated on the wire, so any '\n' or
// '\r' in them is replaced by a space (for the JSON fields that is the same
// document: a raw line break is only valid as whitespace between tokens).
func AppendInvoke(dst []byte, inv *Invocation) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0, KindInvoke)
	dst = appendField(dst, inv.RequestID)
	dst = strconv.AppendInt(dst, inv.DeadlineMs, 10)
	dst = append(dst, '\n')
	dst = appendField(dst, inv.TraceID)
	dst = appendField(dst, inv.ClientContext)
	dst = appendField(dst, inv.CognitoIdentity)
	dst = append(dst, inv.Payload...)
	binary.LittleEndian.PutUint32(dst[start:], uint32(len(dst)-start-4))
	return dst
}

func appendField(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\n' || c == '\r' {
			c = ' '
		}
		dst = append(dst, c)
	}
	return append(dst, '\n')
}

// AppendSpecialise appends a whole KindSpecialise frame: the function's
// environment, one "KEY=value" entry after another, each ended by a NUL byte
// (which a variable cannot contain).
func AppendSpecialise(dst []byte, env []string) []byte {
	return appendNULFrame(dst, KindSpecialise, env)
}

// AppendExec appends a whole KindExec frame: the program's path and the
// environment to run it with, each ended by a NUL byte.
func AppendExec(dst []byte, path string, env []string) []byte {
	return appendNULFrame(dst, KindExec, append([]string{path}, env...))
}

// appendNULFrame appends a frame whose body is every entry of list, each
// ended by a NUL byte.
func appendNULFrame(dst []byte, kind byte, list []string) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0, kind)
	for _, e := range list {
		dst = append(append(dst, e...), 0)
	}
	binary.LittleEndian.PutUint32(dst[start:], uint32(len(dst)-start-4))
	return dst
}

// AppendFrame appends a frame of the given kind and body to dst. The
// bootstraps produce these frames; Go code needs it for tests and for
// runtimes written in Go.
func AppendFrame(dst []byte, kind byte, body []byte) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(body)+1))
	dst = append(dst, kind)
	return append(dst, body...)
}

// ParseInvoke decodes the body of a KindInvoke frame (as returned by
// ReadFrame). inv.Payload aliases body.
func ParseInvoke(body []byte, inv *Invocation) error {
	var fields [5][]byte
	rest := body
	for i := range fields {
		j := bytes.IndexByte(rest, '\n')
		if j < 0 {
			return ErrMalformedInvoke
		}
		fields[i], rest = rest[:j], rest[j+1:]
	}
	deadline, err := strconv.ParseInt(string(fields[1]), 10, 64)
	if err != nil {
		return ErrMalformedInvoke
	}
	inv.RequestID = string(fields[0])
	inv.DeadlineMs = deadline
	inv.TraceID = string(fields[2])
	inv.ClientContext = string(fields[3])
	inv.CognitoIdentity = string(fields[4])
	inv.Payload = rest
	return nil
}

// readChunk is how much ReadFrame reads ahead of what the data has proved to
// exist: a frame whose prefix claims 16 MB but that ends after 10 bytes costs
// a 64 KB buffer, not a 16 MB one.
const readChunk = 64 << 10

// ReadFrame reads one frame from r. It reuses buf (grown if needed) and
// returns the frame's kind, its body (aliasing newBuf, valid until the next
// call that is given newBuf) and newBuf for the next call.
//
// err is io.EOF when r ends cleanly before a frame starts,
// io.ErrUnexpectedEOF when it ends inside one, ErrEmptyFrame or
// ErrFrameTooLarge for a bad length prefix, or the reader's own error.
// It never starts goroutines, so it suits blocking file descriptors.
func ReadFrame(r io.Reader, buf []byte) (kind byte, body []byte, newBuf []byte, err error) {
	if cap(buf) < 4 {
		buf = make([]byte, 0, 512)
	}
	hdr := buf[:4]
	if _, err := io.ReadFull(r, hdr); err != nil {
		return 0, nil, buf[:0], err
	}
	n := int(binary.LittleEndian.Uint32(hdr))
	switch {
	case n == 0:
		return 0, nil, buf[:0], ErrEmptyFrame
	case n > MaxFrameSize:
		return 0, nil, buf[:0], ErrFrameTooLarge
	}
	if n <= cap(buf) {
		buf = buf[:n]
		if _, err := io.ReadFull(r, buf); err != nil {
			return 0, nil, buf[:0], eofInFrame(err)
		}
		return buf[0], buf[1:], buf, nil
	}
	// Grow as the data arrives, never more than readChunk (or double) past it.
	have := 0
	buf = buf[:0]
	for have < n {
		want := min(n, max(have+readChunk, 2*have))
		if cap(buf) < want {
			nb := make([]byte, want)
			copy(nb, buf[:have])
			buf = nb
		}
		buf = buf[:want]
		m, err := io.ReadFull(r, buf[have:want])
		have += m
		if err != nil {
			return 0, nil, buf[:0], eofInFrame(err)
		}
	}
	return buf[0], buf[1:n], buf[:n], nil
}

func eofInFrame(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
