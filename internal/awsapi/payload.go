package awsapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// checkPayload returns "" when p is one JSON document, else the reason in the
// words of the Jackson parser behind Lambda's own message
// ("Unrecognized token 'abc': was expecting ...\n at [Source: ...]").
func checkPayload(p []byte) string {
	validUTF8 := utf8.Valid(p)
	if validUTF8 && json.Valid(p) {
		return ""
	}
	if !validUTF8 {
		i := firstInvalidUTF8(p)
		if p[i] >= 0xc2 && p[i] <= 0xf4 && i+1 < len(p) {
			// A valid lead byte followed by a bad continuation.
			return fmt.Sprintf("Invalid UTF-8 middle byte 0x%02x%s", p[i+1], jacksonSource(p, i+2))
		}
		return fmt.Sprintf("Invalid UTF-8 start byte 0x%02x%s", p[i], jacksonSource(p, i+1))
	}
	dec := json.NewDecoder(bytes.NewReader(p))
	var v json.RawMessage
	err := dec.Decode(&v)
	if err == nil {
		// One value only: anything but whitespace after it is an error.
		rest := bytes.TrimLeft(p[dec.InputOffset():], " \t\r\n")
		if len(rest) == 0 {
			return ""
		}
		at := len(p) - len(rest)
		return unexpectedChar(p, at, "expected end-of-input after the root-level value")
	}
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		at := int(syn.Offset) - 1
		if at < 0 || at >= len(p) || strings.Contains(syn.Error(), "unexpected end") {
			return "Unexpected end-of-input" + jacksonSource(p, len(p)+1)
		}
		msg := syn.Error()
		if strings.Contains(msg, "in literal") || isTokenByte(p[at]) && strings.Contains(msg, "beginning of value") {
			start := at
			for start > 0 && isTokenByte(p[start-1]) {
				start--
			}
			end := at
			for end < len(p) && isTokenByte(p[end]) {
				end++
			}
			return fmt.Sprintf("Unrecognized token '%s': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')%s",
				p[start:end], jacksonSource(p, end+1))
		}
		return unexpectedChar(p, at, expectation(msg))
	}
	// io.ErrUnexpectedEOF, or io.EOF for an empty or blank payload.
	return "Unexpected end-of-input" + jacksonSource(p, len(p)+1)
}

func isTokenByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c >= 0x80
}

// expectation turns the context of a Go syntax error into Jackson's wording.
func expectation(goErr string) string {
	switch {
	case strings.Contains(goErr, "beginning of object key"):
		return "was expecting double-quote to start field name"
	case strings.Contains(goErr, "after object key:value pair"):
		return "was expecting comma to separate Object entries"
	case strings.Contains(goErr, "after array element"):
		return "was expecting comma to separate Array entries"
	case strings.Contains(goErr, "after object key"):
		return "was expecting a colon to separate field name and value"
	default:
		return "expected a valid value (JSON String, Number, Array, Object or token 'null', 'true' or 'false')"
	}
}

func unexpectedChar(p []byte, at int, expect string) string {
	r, _ := utf8.DecodeRune(p[at:])
	return fmt.Sprintf("Unexpected character ('%c' (code %d)): %s%s", r, r, expect, jacksonSource(p, at+1))
}

// jacksonSource renders Jackson's location suffix for byte offset col (1-based).
func jacksonSource(p []byte, offset int) string {
	line, col := 1, 1
	for i := 0; i < offset-1 && i < len(p); i++ {
		if p[i] == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	src := p
	const maxSource = 500 // Jackson truncates the source it quotes
	if len(src) > maxSource {
		src = src[:maxSource]
	}
	return fmt.Sprintf("\n at [Source: (byte[])%q; line: %d, column: %d]", strings.ToValidUTF8(string(src), "\uFFFD"), line, col)
}

func firstInvalidUTF8(p []byte) int {
	for i := 0; i < len(p); {
		r, size := utf8.DecodeRune(p[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return 0
}
