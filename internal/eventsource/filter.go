package eventsource

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Filter is a parsed Lambda event filter pattern: a record is delivered
// when it matches any of a mapping's filters (or there are none).
//
// The pattern language is Lambda's (EventBridge's): an object whose keys
// name fields of the record and whose values are either nested objects or
// arrays of matchers, any of which must match the field: a literal
// (string, number, true, false, null), {"prefix": s}, {"suffix": s},
// {"equals-ignore-case": s}, {"anything-but": literal or [literals] or
// {"prefix": s}}, {"numeric": [op, n, op, n]} with op one of = < <= > >=,
// {"exists": bool}.
type Filter struct {
	fields map[string]any // name → *Filter or []matcher
}

type matcher struct {
	kind  string // literal, prefix, suffix, ignore-case, anything-but, anything-but-prefix, numeric, exists
	lit   any    // literal value (string, float64, bool, nil)
	list  []any  // anything-but literals
	str   string
	nums  []numericTest
	exist bool
}

type numericTest struct {
	op string
	n  float64
}

// ParseFilter reads a filter pattern (JSON).
func ParseFilter(pattern string) (*Filter, error) {
	dec := json.NewDecoder(strings.NewReader(pattern))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("filter pattern %s is not JSON: %v", clip(pattern), err)
	}
	if dec.More() {
		return nil, fmt.Errorf("filter pattern %s: more than one JSON value", clip(pattern))
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("filter pattern %s must be a JSON object", clip(pattern))
	}
	return parseObject(m, 0)
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

func parseObject(m map[string]any, depth int) (*Filter, error) {
	if depth > 32 {
		return nil, fmt.Errorf("filter pattern nested too deep")
	}
	f := &Filter{fields: map[string]any{}}
	for k, v := range m {
		switch t := v.(type) {
		case map[string]any:
			sub, err := parseObject(t, depth+1)
			if err != nil {
				return nil, err
			}
			f.fields[k] = sub
		case []any:
			if len(t) == 0 {
				return nil, fmt.Errorf("filter pattern: the matchers of %q are empty", k)
			}
			ms := make([]matcher, 0, len(t))
			for _, x := range t {
				mt, err := parseMatcher(x)
				if err != nil {
					return nil, fmt.Errorf("filter pattern: %q: %v", k, err)
				}
				ms = append(ms, mt)
			}
			f.fields[k] = ms
		default:
			return nil, fmt.Errorf("filter pattern: %q must be an object or an array of matchers", k)
		}
	}
	return f, nil
}

func literal(x any) (any, bool) {
	switch t := x.(type) {
	case nil, string, bool:
		return t, true
	case json.Number:
		n, err := t.Float64()
		return n, err == nil
	}
	return nil, false
}

func parseMatcher(x any) (matcher, error) {
	if lit, ok := literal(x); ok {
		return matcher{kind: "literal", lit: lit}, nil
	}
	m, ok := x.(map[string]any)
	if !ok || len(m) != 1 {
		return matcher{}, fmt.Errorf("a matcher is a value or an object with one operator")
	}
	for op, arg := range m {
		switch op {
		case "prefix", "suffix", "equals-ignore-case":
			s, ok := arg.(string)
			if !ok {
				return matcher{}, fmt.Errorf("%s takes a string", op)
			}
			kind := op
			if op == "equals-ignore-case" {
				kind = "ignore-case"
			}
			return matcher{kind: kind, str: s}, nil
		case "exists":
			b, ok := arg.(bool)
			if !ok {
				return matcher{}, fmt.Errorf("exists takes true or false")
			}
			return matcher{kind: "exists", exist: b}, nil
		case "anything-but":
			switch t := arg.(type) {
			case []any:
				var list []any
				for _, e := range t {
					lit, ok := literal(e)
					if !ok {
						return matcher{}, fmt.Errorf("anything-but takes values")
					}
					list = append(list, lit)
				}
				return matcher{kind: "anything-but", list: list}, nil
			case map[string]any:
				p, ok := t["prefix"].(string)
				if !ok || len(t) != 1 {
					return matcher{}, fmt.Errorf("anything-but takes values or {\"prefix\": ...}")
				}
				return matcher{kind: "anything-but-prefix", str: p}, nil
			default:
				lit, ok := literal(t)
				if !ok {
					return matcher{}, fmt.Errorf("anything-but takes values")
				}
				return matcher{kind: "anything-but", list: []any{lit}}, nil
			}
		case "numeric":
			list, ok := arg.([]any)
			if !ok || len(list) == 0 || len(list)%2 != 0 || len(list) > 4 {
				return matcher{}, fmt.Errorf("numeric takes [op, number] or [op, number, op, number]")
			}
			var tests []numericTest
			for i := 0; i < len(list); i += 2 {
				o, _ := list[i].(string)
				num, ok := list[i+1].(json.Number)
				if !ok {
					return matcher{}, fmt.Errorf("numeric compares with numbers")
				}
				n, err := num.Float64()
				if err != nil {
					return matcher{}, fmt.Errorf("numeric compares with numbers")
				}
				switch o {
				case "=", "<", "<=", ">", ">=":
				default:
					return matcher{}, fmt.Errorf("numeric operators are =, <, <=, > and >=, not %q", o)
				}
				tests = append(tests, numericTest{o, n})
			}
			return matcher{kind: "numeric", nums: tests}, nil
		default:
			return matcher{}, fmt.Errorf("unknown operator %q", op)
		}
	}
	return matcher{}, nil
}

// Match reports whether a record (JSON) matches the filter.
func (f *Filter) Match(record []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(record))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return false
	}
	return f.match(v)
}

func (f *Filter) match(v any) bool {
	obj, _ := v.(map[string]any)
	for k, want := range f.fields {
		val, present := obj[k]
		switch w := want.(type) {
		case *Filter:
			if !present || !w.match(val) {
				return false
			}
		case []matcher:
			if !anyMatch(w, val, present) {
				return false
			}
		}
	}
	return true
}

func anyMatch(ms []matcher, val any, present bool) bool {
	// a field holding an array matches when any of its elements does
	vals := []any{val}
	if arr, ok := val.([]any); ok {
		vals = arr
	}
	for _, m := range ms {
		if m.kind == "exists" {
			if m.exist == present {
				return true
			}
			continue
		}
		if !present {
			continue
		}
		for _, x := range vals {
			if m.matches(x) {
				return true
			}
		}
	}
	return false
}

func (m matcher) matches(x any) bool {
	lit, ok := literal(x)
	if !ok {
		return false
	}
	switch m.kind {
	case "literal":
		return lit == m.lit
	case "prefix":
		s, ok := lit.(string)
		return ok && strings.HasPrefix(s, m.str)
	case "suffix":
		s, ok := lit.(string)
		return ok && strings.HasSuffix(s, m.str)
	case "ignore-case":
		s, ok := lit.(string)
		return ok && strings.EqualFold(s, m.str)
	case "anything-but":
		for _, l := range m.list {
			if l == lit {
				return false
			}
		}
		return true
	case "anything-but-prefix":
		s, ok := lit.(string)
		return ok && !strings.HasPrefix(s, m.str)
	case "numeric":
		var n float64
		switch t := lit.(type) {
		case float64:
			n = t
		case string: // DynamoDB numbers are strings in the record
			f, err := strconv.ParseFloat(t, 64)
			if err != nil {
				return false
			}
			n = f
		default:
			return false
		}
		for _, t := range m.nums {
			ok := false
			switch t.op {
			case "=":
				ok = n == t.n
			case "<":
				ok = n < t.n
			case "<=":
				ok = n <= t.n
			case ">":
				ok = n > t.n
			case ">=":
				ok = n >= t.n
			}
			if !ok {
				return false
			}
		}
		return true
	}
	return false
}
