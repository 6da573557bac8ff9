package awsapi

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// streamer is a BodyStreamer that answers the body it read, or the
// error, and the trailers.
type streamer struct{}

func (streamer) StreamsBody() {}

func (streamer) ServeAWS(w http.ResponseWriter, r *http.Request, call *Call) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(400)
		fmt.Fprintf(w, "error: %v (as signed: %v)", err, errors.Is(err, ErrBodyNotAsSigned))
		return
	}
	fmt.Fprintf(w, "%s|%s", b, call.Trailer().Get("x-amz-checksum-crc32"))
}

func streamServer(t *testing.T) *httptest.Server {
	ts := httptest.NewServer(New(Options{Services: map[string]Service{"s3": streamer{}}}))
	t.Cleanup(ts.Close)
	return ts
}

var testCreds = aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}

// signedChunked builds an aws-chunked body of chunks signed from seed with
// the SDK's own stream signer, as the SDKs sign them.
func signedChunked(t *testing.T, seed string, at time.Time, chunks ...string) []byte {
	seedSig, _ := hex.DecodeString(seed)
	ss := v4.NewStreamSigner(testCreds, "s3", "us-east-1", seedSig)
	var b bytes.Buffer
	for _, c := range append(chunks, "") {
		sig, err := ss.GetSignature(context.Background(), nil, []byte(c), at)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%x;chunk-signature=%s\r\n%s\r\n", len(c), hex.EncodeToString(sig), c)
	}
	return b.Bytes()
}

// signedTrailed builds a STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER body:
// chunks signed with the SDK's stream signer, then the trailer, signed
// as AWS documents it (AWS4-HMAC-SHA256-TRAILER, chained from the last
// chunk's signature; the SDK's signer has no trailer signing, so the
// test signs it itself, apart from the code under test).
func signedTrailed(t *testing.T, seed string, at time.Time, trailer string, chunks ...string) []byte {
	seedSig, _ := hex.DecodeString(seed)
	ss := v4.NewStreamSigner(testCreds, "s3", "us-east-1", seedSig)
	var b bytes.Buffer
	prev := ""
	for _, c := range append(chunks, "") {
		sig, err := ss.GetSignature(context.Background(), nil, []byte(c), at)
		if err != nil {
			t.Fatal(err)
		}
		prev = hex.EncodeToString(sig)
		fmt.Fprintf(&b, "%x;chunk-signature=%s\r\n", len(c), prev)
		if c != "" {
			fmt.Fprintf(&b, "%s\r\n", c)
		}
	}
	// the string to sign, as AWS's "SigV4 streaming with trailers" writes
	// it, built here apart from the code under test
	date := at.UTC().Format("20060102")
	key := []byte("AWS4test")
	for _, part := range []string{date, "us-east-1", "s3", "aws4_request"} {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(part))
		key = m.Sum(nil)
	}
	canonical := sha256.Sum256([]byte(trailer + "\n"))
	m := hmac.New(sha256.New, key)
	m.Write([]byte("AWS4-HMAC-SHA256-TRAILER\n" + at.UTC().Format("20060102T150405Z") + "\n" + date + "/us-east-1/s3/aws4_request\n" +
		prev + "\n" + hex.EncodeToString(canonical[:])))
	fmt.Fprintf(&b, "%s\r\nx-amz-trailer-signature:%s\r\n\r\n", trailer, hex.EncodeToString(m.Sum(nil)))
	return b.Bytes()
}

func put(t *testing.T, url string, hash string, body []byte, sign func(*http.Request, time.Time) []byte) (int, string) {
	req, _ := http.NewRequest(http.MethodPut, url+"/bucket/key", bytes.NewReader(body))
	req.Header.Set("X-Amz-Content-Sha256", hash)
	at := time.Now()
	if err := v4.NewSigner().SignHTTP(context.Background(), testCreds, req, hash, "s3", "us-east-1", at,
		func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }); err != nil {
		t.Fatal(err)
	}
	if sign != nil {
		b := sign(req, at)
		req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// Streamed bodies reach a BodyStreamer checked against what was signed:
// a SHA-256, chunk signatures (made by the SDK's stream signer), or
// nothing but the headers; a tampered body ends in ErrBodyNotAsSigned.
func TestStreamedBodies(t *testing.T) {
	ts := streamServer(t)
	body := []byte("hello, streamed world")
	sum := sha256.Sum256(body)
	if code, out := put(t, ts.URL, hex.EncodeToString(sum[:]), body, nil); code != 200 || out != string(body)+"|" {
		t.Fatalf("hashed body: %d %s", code, out)
	}
	wrong := sha256.Sum256([]byte("other"))
	if code, out := put(t, ts.URL, hex.EncodeToString(wrong[:]), body, nil); code != 400 || !strings.Contains(out, "as signed: true") {
		t.Fatalf("a body that is not its hash: %d %s", code, out)
	}
	if code, out := put(t, ts.URL, "UNSIGNED-PAYLOAD", body, nil); code != 200 || out != string(body)+"|" {
		t.Fatalf("unsigned payload: %d %s", code, out)
	}
	chunks := func(tamper bool) func(*http.Request, time.Time) []byte {
		return func(req *http.Request, at time.Time) []byte {
			_, seed, _ := strings.Cut(req.Header.Get("Authorization"), "Signature=")
			b := signedChunked(t, seed, at, "hello, ", "chunked ", "world")
			if tamper {
				b = bytes.Replace(b, []byte("chunked"), []byte("CHUNKED"), 1)
			}
			return b
		}
	}
	if code, out := put(t, ts.URL, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", nil, chunks(false)); code != 200 || out != "hello, chunked world|" {
		t.Fatalf("signed chunks: %d %s", code, out)
	}
	if code, out := put(t, ts.URL, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", nil, chunks(true)); code != 400 || !strings.Contains(out, "signature does not match") {
		t.Fatalf("a tampered chunk: %d %s", code, out)
	}
	trailer := func(*http.Request, time.Time) []byte {
		return []byte("7\r\nhello, \r\n5\r\nworld\r\n0\r\nx-amz-checksum-crc32:sOO8/Q==\r\n\r\n")
	}
	if code, out := put(t, ts.URL, "STREAMING-UNSIGNED-PAYLOAD-TRAILER", nil, trailer); code != 200 || out != "hello, world|sOO8/Q==" {
		t.Fatalf("unsigned chunks with a trailer: %d %s", code, out)
	}
	signedTrailer := func(trailer string, tamper bool) func(*http.Request, time.Time) []byte {
		return func(req *http.Request, at time.Time) []byte {
			_, seed, _ := strings.Cut(req.Header.Get("Authorization"), "Signature=")
			b := signedTrailed(t, seed, at, "x-amz-checksum-crc32:sOO8/Q==", "hello, ", "world")
			if tamper { // the checksum changed after the trailer was signed
				b = bytes.Replace(b, []byte("sOO8/Q=="), []byte(trailer), 1)
			}
			return b
		}
	}
	const signedTrailers = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	if code, out := put(t, ts.URL, signedTrailers, nil, signedTrailer("", false)); code != 200 || out != "hello, world|sOO8/Q==" {
		t.Fatalf("signed chunks with a signed trailer: %d %s", code, out)
	}
	if code, out := put(t, ts.URL, signedTrailers, nil, signedTrailer("AAAAAA==", true)); code != 400 || !strings.Contains(out, "trailers' signature does not match") {
		t.Fatalf("a trailer changed after its signature: %d %s", code, out)
	}
	unsignedTrailer := func(req *http.Request, at time.Time) []byte {
		b := signedChunked(t, strings.SplitN(req.Header.Get("Authorization"), "Signature=", 2)[1], at, "hello, ", "world")
		return append(b, "x-amz-checksum-crc32:sOO8/Q==\r\n\r\n"...)
	}
	if code, out := put(t, ts.URL, signedTrailers, nil, unsignedTrailer); code != 400 || !strings.Contains(out, "no x-amz-trailer-signature") {
		t.Fatalf("a signed-trailer body whose trailer is not signed: %d %s", code, out)
	}
	if code, out := put(t, ts.URL, "SOMETHING-ELSE", body, nil); code == 200 || !strings.Contains(out, "x-amz-content-sha256 must be") {
		t.Fatalf("an unknown payload hash: %d %s", code, out)
	}
}

// Decoding never panics, never loops, and reads no more than it was given.
func FuzzChunkedReader(f *testing.F) {
	for _, s := range []string{"7\r\nhello, \r\n5\r\nworld\r\n0\r\nx-amz-checksum-crc32:sOO8/Q==\r\n\r\n", "0\r\n\r\n",
		"5;chunk-signature=abc\r\nhello\r\n", "ffffffffffffffff\r\n", "3\r\nab", "1\r\na\rX"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, signed := range []bool{false, true} {
			var cs *chunkSigner
			if signed {
				cs = &chunkSigner{key: []byte("k"), amzDate: "20261202T000000Z", scope: "20261202/us-east-1/s3/aws4_request", prev: "00"}
			}
			c := newChunkedReader(bytes.NewReader(b), cs)
			c.signedTrailer = signed && len(b)%2 == 0 // both signed variants
			out, err := io.ReadAll(c)
			if len(out) > len(b) {
				t.Fatalf("read %d bytes from %d", len(out), len(b))
			}
			if signed && err == nil && len(out) > 0 {
				t.Fatalf("signed chunks with made-up signatures accepted: %q", b)
			}
		}
	})
}
