package gateway

import (
	"bytes"
	"unicode/utf16"
	"unicode/utf8"
)

// Events are written by hand into a reused buffer and function responses are
// read with a small scanner after json.Valid has vouched for them: the request
// path then allocates little beyond the payload it hands to the invoker. The
// fuzz tests hold both against encoding/json.

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD, as
// with encoding/json.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	b = appendEscaped(b, s)
	return append(b, '"')
}

// appendEscaped appends the inside of the JSON string for s, without quotes,
// so that several values can be joined in one string.
func appendEscaped(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			b = appendEscape(b, c)
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	return append(b, s[start:]...)
}

// appendStringUTF8 is appendString for a body already known to be valid
// UTF-8: only ASCII needs a look.
func appendStringUTF8(b, s []byte) []byte {
	b = append(b, '"')
	start := 0
	for i, c := range s {
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		b = appendEscape(b, c)
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func appendEscape(b []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(b, '\\', c)
	case '\n':
		return append(b, '\\', 'n')
	case '\r':
		return append(b, '\\', 'r')
	case '\t':
		return append(b, '\\', 't')
	}
	return append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
}

// appendLowerString appends s lower-cased (ASCII letters only, as header
// names are) as a JSON string. Lower-casing the escaped output is safe: escape
// letters are lower case already and \u hex digits are case-insensitive.
func appendLowerString(b []byte, s string) []byte {
	mark := len(b)
	b = appendString(b, s)
	for i := mark; i < len(b); i++ {
		if c := b[i]; 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return b
}

// The scanner below trusts its input to be valid JSON (json.Valid).

func skipSpace(d []byte, i int) int {
	for i < len(d) && (d[i] == ' ' || d[i] == '\t' || d[i] == '\n' || d[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the index just past the value starting at d[i].
func skipValue(d []byte, i int) int {
	switch d[i] {
	case '"':
		return skipString(d, i)
	case '{', '[':
		depth := 0
		for i < len(d) {
			switch d[i] {
			case '"':
				i = skipString(d, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	}
	for i < len(d) {
		switch d[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return i
}

// skipString returns the index just past the string starting at d[i] == '"'.
func skipString(d []byte, i int) int {
	for i++; i < len(d); i++ {
		switch d[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return i
}

// members calls f with the raw key and value of each member of the object
// starting at d[i] == '{', until f returns false.
func members(d []byte, i int, f func(key, val []byte) bool) {
	i = skipSpace(d, i+1)
	for i < len(d) && d[i] != '}' {
		kEnd := skipString(d, i)
		key := d[i:kEnd]
		i = skipSpace(d, kEnd)
		i = skipSpace(d, i+1) // ':'
		vEnd := skipValue(d, i)
		if !f(key, d[i:vEnd]) {
			return
		}
		i = skipSpace(d, vEnd)
		if i < len(d) && d[i] == ',' {
			i = skipSpace(d, i+1)
		}
	}
}

// elements calls f with each raw element of the array starting at d[i] == '['.
func elements(d []byte, i int, f func(val []byte) bool) {
	i = skipSpace(d, i+1)
	for i < len(d) && d[i] != ']' {
		vEnd := skipValue(d, i)
		if !f(d[i:vEnd]) {
			return
		}
		i = skipSpace(d, vEnd)
		if i < len(d) && d[i] == ',' {
			i = skipSpace(d, i+1)
		}
	}
}

// keyIs reports whether the raw JSON string key decodes to name.
func keyIs(key []byte, name string) bool {
	inner := key[1 : len(key)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return string(inner) == name
	}
	var buf [64]byte
	return string(appendUnquoted(buf[:0], key)) == name
}

// appendUnquoted appends the contents of the raw JSON string q (quotes
// included) to b, decoded as encoding/json does: invalid UTF-8 and unpaired
// surrogates become U+FFFD.
func appendUnquoted(b, q []byte) []byte {
	s := q[1 : len(q)-1]
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\':
			if i+1 >= len(s) {
				return b
			}
			e := s[i+1]
			i += 2
			switch e {
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r, ok := hex4(s, i)
				if !ok {
					return b
				}
				i += 4
				if utf16.IsSurrogate(r) {
					r2, ok := rune(0), false
					if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
						r2, ok = hex4(s, i+2)
					}
					if dec := utf16.DecodeRune(r, r2); ok && dec != utf8.RuneError {
						r = dec
						i += 6
					} else {
						r = utf8.RuneError
					}
				}
				b = utf8.AppendRune(b, r)
			default: // '"', '\\', '/'
				b = append(b, e)
			}
		case c < utf8.RuneSelf:
			start := i
			for i < len(s) && s[i] != '\\' && s[i] < utf8.RuneSelf {
				i++
			}
			b = append(b, s[start:i]...)
		default:
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = utf8.AppendRune(b, utf8.RuneError)
			} else {
				b = append(b, s[i:i+size]...)
			}
			i += size
		}
	}
	return b
}

func hex4(s []byte, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range s[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
