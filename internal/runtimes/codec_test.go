package runtimes

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestAppendInvokeWire(t *testing.T) {
	inv := &Invocation{
		RequestID:       "id-1",
		DeadlineMs:      1700000000123,
		TraceID:         "Root=1-abc",
		ClientContext:   "",
		CognitoIdentity: `{"cognitoIdentityId":"x"}`,
		Payload:         []byte(`{"a":1}`),
	}
	got := AppendInvoke([]byte("prefix"), inv)
	body := "Iid-1\n1700000000123\nRoot=1-abc\n\n{\"cognitoIdentityId\":\"x\"}\n{\"a\":1}"
	want := append([]byte("prefix"), binary.LittleEndian.AppendUint32(nil, uint32(len(body)))...)
	want = append(want, body...)
	if !bytes.Equal(got, want) {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

func TestAppendInvokeNewlinesInFields(t *testing.T) {
	inv := &Invocation{RequestID: "a\nb", ClientContext: "{\n\"k\": 1\r\n}", Payload: []byte("{\n}")}
	frame := AppendInvoke(nil, inv)
	kind, body, _, err := ReadFrame(bytes.NewReader(frame), nil)
	if err != nil || kind != KindInvoke {
		t.Fatal(kind, err)
	}
	var got Invocation
	if err := ParseInvoke(body, &got); err != nil {
		t.Fatal(err)
	}
	if got.RequestID != "a b" || got.ClientContext != "{ \"k\": 1  }" || string(got.Payload) != "{\n}" {
		t.Errorf("got %+v", got)
	}
}

func TestInvokeRoundTrip(t *testing.T) {
	cases := []Invocation{
		{},
		{RequestID: "r", DeadlineMs: -5, Payload: []byte("null")},
		{RequestID: "8f5c7e0e-aaaa", DeadlineMs: 1 << 50, TraceID: "t", ClientContext: "{}", CognitoIdentity: "{}", Payload: []byte(strings.Repeat("x\n", 1000))},
	}
	var frames []byte
	for i := range cases {
		frames = AppendInvoke(frames, &cases[i])
	}
	r := bytes.NewReader(frames)
	var buf []byte
	for i, want := range cases {
		kind, body, nb, err := ReadFrame(r, buf)
		buf = nb
		if err != nil || kind != KindInvoke {
			t.Fatalf("frame %d: %q %v", i, kind, err)
		}
		var got Invocation
		if err := ParseInvoke(body, &got); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if got.RequestID != want.RequestID || got.DeadlineMs != want.DeadlineMs || got.TraceID != want.TraceID ||
			got.ClientContext != want.ClientContext || got.CognitoIdentity != want.CognitoIdentity ||
			!bytes.Equal(got.Payload, want.Payload) {
			t.Errorf("frame %d: got %+v, want %+v", i, got, want)
		}
	}
	if _, _, _, err := ReadFrame(r, buf); err != io.EOF {
		t.Errorf("after the last frame: %v, want io.EOF", err)
	}
}

func TestReadFrame(t *testing.T) {
	frame := func(n uint32, rest string) []byte {
		return append(binary.LittleEndian.AppendUint32(nil, n), rest...)
	}
	cases := []struct {
		name     string
		in       []byte
		wantKind byte
		wantBody string
		wantErr  error
	}{
		{"empty body", AppendFrame(nil, KindReady, nil), KindReady, "", nil},
		{"response", AppendFrame(nil, KindResponse, []byte(`{"ok":true}`)), KindResponse, `{"ok":true}`, nil},
		{"clean EOF", nil, 0, "", io.EOF},
		{"EOF in prefix", []byte{1, 0}, 0, "", io.ErrUnexpectedEOF},
		{"EOF in body", frame(10, "Rabc"), 0, "", io.ErrUnexpectedEOF},
		{"zero length", frame(0, ""), 0, "", ErrEmptyFrame},
		{"too large", frame(MaxFrameSize+1, "R"), 0, "", ErrFrameTooLarge},
		{"largest claimed, short", frame(MaxFrameSize, "R"), 0, "", io.ErrUnexpectedEOF},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			kind, body, _, err := ReadFrame(bytes.NewReader(c.in), nil)
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("err %v, want %v", err, c.wantErr)
			}
			if err == nil && (kind != c.wantKind || string(body) != c.wantBody) {
				t.Errorf("got %q %q", kind, body)
			}
		})
	}
}

func TestReadFrameOneByteAtATime(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789"), 100_000) // 1 MB: crosses readChunk
	in := AppendFrame(nil, KindResponse, big)
	in = AppendFrame(in, KindError, []byte("e"))
	r := iotest.HalfReader(iotest.OneByteReader(bytes.NewReader(in)))
	buf := make([]byte, 0, 8)
	kind, body, buf, err := ReadFrame(r, buf)
	if err != nil || kind != KindResponse || !bytes.Equal(body, big) {
		t.Fatalf("big frame: %q %d bytes %v", kind, len(body), err)
	}
	kind, body, _, err = ReadFrame(r, buf)
	if err != nil || kind != KindError || string(body) != "e" {
		t.Fatalf("second frame: %q %q %v", kind, body, err)
	}
}

func TestReadFrameReusesBuffer(t *testing.T) {
	in := AppendFrame(nil, KindResponse, []byte("hello"))
	buf := make([]byte, 0, 64)
	_, body, nb, err := ReadFrame(bytes.NewReader(in), buf)
	if err != nil {
		t.Fatal(err)
	}
	if &nb[:1][0] != &buf[:1][0] || &body[0] != &buf[:2][1] {
		t.Errorf("buffer not reused")
	}
	allocs := testing.AllocsPerRun(100, func() {
		ReadFrame(bytes.NewReader(in), buf)
	})
	if allocs > 1 { // the bytes.Reader itself
		t.Errorf("%v allocations per ReadFrame with a large enough buffer", allocs)
	}
}

func TestParseInvokeMalformed(t *testing.T) {
	for _, body := range []string{"", "id", "id\n1\nt\ncc\n", "id\nnotanumber\n\n\n\n{}"} {
		var inv Invocation
		if err := ParseInvoke([]byte(body), &inv); !errors.Is(err, ErrMalformedInvoke) {
			t.Errorf("ParseInvoke(%q) = %v", body, err)
		}
	}
}

func FuzzReadFrame(f *testing.F) {
	f.Add(AppendFrame(nil, KindResponse, []byte(`{"a":1}`)))
	f.Add(AppendInvoke(nil, &Invocation{RequestID: "r", DeadlineMs: 1, Payload: []byte("{}")}))
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 'R'})
	f.Add(binary.LittleEndian.AppendUint32(nil, MaxFrameSize))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		var buf []byte
		for {
			kind, body, nb, err := ReadFrame(r, buf)
			// Bounded allocation: never much more than the input proves.
			if cap(nb) > 2*len(data)+readChunk+512 {
				t.Fatalf("buffer of %d bytes for %d bytes of input", cap(nb), len(data))
			}
			buf = nb
			if err != nil {
				return
			}
			if len(body)+1 > MaxFrameSize {
				t.Fatalf("frame of %d bytes", len(body)+1)
			}
			if kind == KindInvoke {
				var inv Invocation
				if ParseInvoke(body, &inv) == nil {
					// What parses re-encodes to an equivalent frame.
					again := AppendInvoke(nil, &inv)
					_, body2, _, err := ReadFrame(bytes.NewReader(again), nil)
					var inv2 Invocation
					if err != nil || ParseInvoke(body2, &inv2) != nil || inv2.RequestID != strings.ReplaceAll(inv.RequestID, "\r", " ") ||
						inv2.DeadlineMs != inv.DeadlineMs || !bytes.Equal(inv2.Payload, inv.Payload) {
						t.Fatalf("re-encoding %+v gave %+v (%v)", inv, inv2, err)
					}
				}
			}
		}
	})
}
