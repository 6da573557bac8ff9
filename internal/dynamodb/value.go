package dynamodb

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/cockroachdb/apd/v3"
)

// kind is an AttributeValue's data type.
type kind uint8

const (
	kS kind = iota + 1
	kN
	kB
	kSS
	kNS
	kBS
	kM
	kL
	kNULL
	kBOOL
)

var kindNames = [...]string{"", "S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"}

func (k kind) String() string { return kindNames[k] }

func kindOf(name string) kind {
	for i, n := range kindNames {
		if n == name && i > 0 {
			return kind(i)
		}
	}
	return 0
}

// Value is one DynamoDB AttributeValue. Numbers are kept in their
// canonical text (no leading or trailing zeros), binaries as raw bytes in
// S and Set.
type Value struct {
	T    kind
	S    string
	Set  []string
	M    map[string]*Value
	L    []*Value
	Bool bool
}

// Item is an item or a key: attribute names to values.
type Item map[string]*Value

// valueError is a malformed AttributeValue, answered as a
// ValidationException with its message.
type valueError struct{ msg string }

func (e *valueError) Error() string { return e.msg }

func invalidValue(format string, a ...any) error { return &valueError{fmt.Sprintf(format, a...)} }

var numberContext = apd.Context{Precision: 100, MaxExponent: apd.MaxExponent, MinExponent: apd.MinExponent, Traps: apd.DefaultTraps}

// parseNumber checks a number as DynamoDB does (38 significant digits,
// magnitude between 1E-130 and 9.99..E+125) and returns it canonical.
func parseNumber(s string) (*apd.Decimal, string, error) {
	if s == "" {
		return nil, "", invalidValue("The parameter cannot be converted to a numeric value")
	}
	d, _, err := apd.NewFromString(s)
	if err != nil || d.Form != apd.Finite {
		return nil, "", invalidValue("The parameter cannot be converted to a numeric value: %s", s)
	}
	d.Reduce(d)
	if d.IsZero() {
		d.SetFinite(0, 0)
		return d, "0", nil
	}
	digits := d.Coeff.Text(10)
	if len(digits) > 38 {
		return nil, "", invalidValue("Attempting to store more than 38 significant digits in a Number")
	}
	adj := int(d.Exponent) + len(digits) - 1
	if adj > 125 {
		return nil, "", invalidValue("Number overflow. Attempting to store a number with magnitude larger than supported range")
	}
	if adj < -130 {
		return nil, "", invalidValue("Number underflow. Attempting to store a number with magnitude smaller than supported range")
	}
	return d, d.Text('f'), nil
}

func mustDecimal(s string) *apd.Decimal {
	d, _, err := apd.NewFromString(s)
	if err != nil {
		return apd.New(0, 0)
	}
	return d
}

// UnmarshalJSON reads an AttributeValue, checking it as DynamoDB does.
func (v *Value) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	if len(m) == 0 {
		return invalidValue("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes")
	}
	if len(m) > 1 {
		return invalidValue("Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes")
	}
	for name, raw := range m {
		v.T = kindOf(name)
		if v.T == 0 {
			return invalidValue("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes")
		}
		if bytes.Equal(raw, []byte("null")) {
			return invalidValue("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes")
		}
		switch v.T {
		case kS:
			return json.Unmarshal(raw, &v.S)
		case kN:
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return err
			}
			_, c, err := parseNumber(s)
			v.S = c
			return err
		case kB:
			var bs []byte
			if err := json.Unmarshal(raw, &bs); err != nil {
				return err
			}
			v.S = string(bs)
		case kSS, kNS:
			if err := json.Unmarshal(raw, &v.Set); err != nil {
				return err
			}
			if len(v.Set) == 0 {
				return invalidValue("One or more parameter values were invalid: An %s set  may not be empty", map[kind]string{kSS: "string", kNS: "number"}[v.T])
			}
			if v.T == kNS {
				for i, s := range v.Set {
					_, c, err := parseNumber(s)
					if err != nil {
						return err
					}
					v.Set[i] = c
				}
			}
			if dupes(v.Set) && v.T == kNS {
				return invalidValue("Input collection contains duplicates")
			}
			if dupes(v.Set) {
				return invalidValue("One or more parameter values were invalid: Input collection %s contains duplicates.", setText(v))
			}
		case kBS:
			var bss [][]byte
			if err := json.Unmarshal(raw, &bss); err != nil {
				return err
			}
			if len(bss) == 0 {
				return invalidValue("One or more parameter values were invalid: Binary sets should not be empty")
			}
			v.Set = make([]string, len(bss))
			for i, b := range bss {
				v.Set[i] = string(b)
			}
			if dupes(v.Set) {
				shown := make([]string, len(bss))
				for i, b := range bss {
					shown[i] = base64.StdEncoding.EncodeToString(b)
				}
				return invalidValue("One or more parameter values were invalid: Input collection [%s]of type BS contains duplicates.", strings.Join(shown, ", "))
			}
		case kM:
			v.M = map[string]*Value{}
			return json.Unmarshal(raw, &v.M)
		case kL:
			return json.Unmarshal(raw, &v.L)
		case kNULL:
			if err := json.Unmarshal(raw, &v.Bool); err != nil {
				return err
			}
			if !v.Bool {
				return invalidValue("One or more parameter values were invalid: Null attribute value types must have the value of true")
			}
		case kBOOL:
			return json.Unmarshal(raw, &v.Bool)
		}
	}
	return nil
}

func dupes(set []string) bool {
	if len(set) < 2 {
		return false
	}
	seen := make(map[string]struct{}, len(set))
	for _, s := range set {
		if _, ok := seen[s]; ok {
			return true
		}
		seen[s] = struct{}{}
	}
	return false
}

func setText(v *Value) string { return "[" + strings.Join(v.Set, ", ") + "]" }

// MarshalJSON writes v in DynamoDB's wire form.
func (v *Value) MarshalJSON() ([]byte, error) { return appendValue(nil, v), nil }

func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			j, _ := json.Marshal(s)
			return append(b, j...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func appendBinary(b []byte, s string) []byte {
	b = append(b, '"')
	b = base64.StdEncoding.AppendEncode(b, []byte(s))
	return append(b, '"')
}

func appendValue(b []byte, v *Value) []byte {
	b = append(b, `{"`...)
	b = append(b, kindNames[v.T]...)
	b = append(b, `":`...)
	switch v.T {
	case kS, kN:
		b = appendString(b, v.S)
	case kB:
		b = appendBinary(b, v.S)
	case kSS, kNS, kBS:
		b = append(b, '[')
		for i, s := range v.Set {
			if i > 0 {
				b = append(b, ',')
			}
			if v.T == kBS {
				b = appendBinary(b, s)
			} else {
				b = appendString(b, s)
			}
		}
		b = append(b, ']')
	case kM:
		b = appendItem(b, v.M)
	case kL:
		b = append(b, '[')
		for i, e := range v.L {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendValue(b, e)
		}
		b = append(b, ']')
	case kNULL, kBOOL:
		if v.Bool {
			b = append(b, "true"...)
		} else {
			b = append(b, "false"...)
		}
	}
	return append(b, '}')
}

// appendItem writes an item (or map) with its names in order, so that
// equal items encode alike.
func appendItem(b []byte, m map[string]*Value) []byte {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	b = append(b, '{')
	for i, n := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, n)
		b = append(b, ':')
		b = appendValue(b, m[n])
	}
	return append(b, '}')
}

// MarshalJSON writes the item in DynamoDB's wire form.
func (it Item) MarshalJSON() ([]byte, error) { return appendItem(nil, it), nil }

// decodeItem reads an item kept in the store.
func decodeItem(doc []byte) (Item, error) {
	var it Item
	if err := json.Unmarshal(doc, &it); err != nil {
		return nil, err
	}
	return it, nil
}

// numberSize is a number's size as DynamoDB counts it: its significant
// digits in base-100 pairs aligned on the decimal point, one byte more,
// and one for a negative sign.
func numberSize(s string) int {
	d := mustDecimal(s)
	if d.IsZero() {
		return 1
	}
	digits := strings.TrimRight(d.Coeff.Text(10), "0")
	e := int(d.Exponent) + len(d.Coeff.Text(10)) - 1
	n := 1 + (len(digits)+1)/2
	if len(digits)%2 == 0 && e%2 == 0 {
		n++
	}
	if d.Negative {
		n++
	}
	return n
}

// size is v's size in bytes as DynamoDB counts it.
func (v *Value) size() int {
	switch v.T {
	case kS, kB:
		return len(v.S)
	case kN:
		return numberSize(v.S)
	case kSS, kBS:
		n := 0
		for _, s := range v.Set {
			n += len(s)
		}
		return n
	case kNS:
		n := 0
		for _, s := range v.Set {
			n += numberSize(s)
		}
		return n
	case kM:
		n := 3
		for k, e := range v.M {
			n += len(k) + e.size() + 1
		}
		return n
	case kL:
		n := 3
		for _, e := range v.L {
			n += e.size() + 1
		}
		return n
	default:
		return 1
	}
}

// size is the item's size in bytes as DynamoDB counts it (the 400 KB
// limit and capacity units).
func (it Item) size() int {
	n := 0
	for k, v := range it {
		n += len(k) + v.size()
	}
	return n
}

// equal reports whether a and b are the same value (sets in any order).
func equal(a, b *Value) bool {
	if a == nil || b == nil || a.T != b.T {
		return false
	}
	switch a.T {
	case kS, kB:
		return a.S == b.S
	case kN:
		return mustDecimal(a.S).Cmp(mustDecimal(b.S)) == 0
	case kSS, kNS, kBS:
		if len(a.Set) != len(b.Set) {
			return false
		}
		in := make(map[string]bool, len(a.Set))
		for _, s := range a.Set {
			in[s] = true
		}
		for _, s := range b.Set {
			if !in[s] {
				return false
			}
		}
		return true
	case kM:
		if len(a.M) != len(b.M) {
			return false
		}
		for k, e := range a.M {
			if !equal(e, b.M[k]) {
				return false
			}
		}
		return true
	case kL:
		if len(a.L) != len(b.L) {
			return false
		}
		for i := range a.L {
			if !equal(a.L[i], b.L[i]) {
				return false
			}
		}
		return true
	default:
		return a.Bool == b.Bool
	}
}

// compare orders two scalars of one type (S, N or B); ok is false when
// they cannot be ordered.
func compare(a, b *Value) (int, bool) {
	if a == nil || b == nil || a.T != b.T {
		return 0, false
	}
	switch a.T {
	case kS, kB:
		return strings.Compare(a.S, b.S), true
	case kN:
		return mustDecimal(a.S).Cmp(mustDecimal(b.S)), true
	}
	return 0, false
}

// clone copies v deeply.
func (v *Value) clone() *Value {
	c := *v
	if v.Set != nil {
		c.Set = append([]string(nil), v.Set...)
	}
	if v.M != nil {
		c.M = make(map[string]*Value, len(v.M))
		for k, e := range v.M {
			c.M[k] = e.clone()
		}
	}
	if v.L != nil {
		c.L = make([]*Value, len(v.L))
		for i, e := range v.L {
			c.L[i] = e.clone()
		}
	}
	return &c
}

func (it Item) clone() Item {
	c := make(Item, len(it))
	for k, v := range it {
		c[k] = v.clone()
	}
	return c
}

// keyBytes encodes a key value so that bytewise order is DynamoDB's
// order: strings by their UTF-8 bytes, binaries bytewise, numbers by
// value.
func keyBytes(v *Value) []byte {
	switch v.T {
	case kN:
		return numberKey(v.S)
	default:
		return []byte(v.S)
	}
}

// numberKey encodes a canonical number order-preservingly: a sign byte
// (0 negative, 1 zero, 2 positive), the biased decimal exponent in two
// bytes, then the significant digits; negatives have the exponent and
// digits inverted and end in 0xFF, so that a longer negative sorts first.
func numberKey(s string) []byte {
	d := mustDecimal(s)
	if d.IsZero() {
		return []byte{1}
	}
	digits := d.Coeff.Text(10)
	digits = strings.TrimRight(digits, "0")
	adj := int(d.Exponent) + len(d.Coeff.Text(10)) - 1
	e := uint16(adj + 1000)
	out := make([]byte, 0, 4+len(digits))
	if d.Negative {
		e = ^e
		out = append(out, 0, byte(e>>8), byte(e))
		for i := 0; i < len(digits); i++ {
			out = append(out, ^digits[i])
		}
		return append(out, 0xFF)
	}
	out = append(out, 2, byte(e>>8), byte(e))
	return append(out, digits...)
}

// validUTF8 reports whether s can be a DynamoDB string.
func validUTF8(s string) bool { return utf8.ValidString(s) }
