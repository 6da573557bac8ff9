package iam

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Condition is one operator and key of a Condition block with its values.
type Condition struct {
	Op       string // the operator as written, e.g. "ForAnyValue:StringLike"
	base     string // the operator without set prefix and IfExists
	Key      string // lower-cased condition key, e.g. "aws:sourceip"
	Values   []string
	ifExists bool
	set      string // "", "forallvalues" or "foranyvalue"
	negated  bool
	nums     []float64
	dates    []time.Time
	nets     []netip.Prefix
}

var operators = map[string]bool{
	"StringEquals": false, "StringNotEquals": true, "StringEqualsIgnoreCase": false, "StringNotEqualsIgnoreCase": true,
	"StringLike": false, "StringNotLike": true,
	"NumericEquals": false, "NumericNotEquals": true, "NumericLessThan": false, "NumericLessThanEquals": false,
	"NumericGreaterThan": false, "NumericGreaterThanEquals": false,
	"DateEquals": false, "DateNotEquals": true, "DateLessThan": false, "DateLessThanEquals": false,
	"DateGreaterThan": false, "DateGreaterThanEquals": false,
	"Bool": false, "BinaryEquals": false, "IpAddress": false, "NotIpAddress": true,
	"ArnEquals": false, "ArnLike": false, "ArnNotEquals": true, "ArnNotLike": true,
	"Null": false,
}

func parseConditions(v any) ([]Condition, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("must be a mapping of operators to {key: values}")
	}
	var out []Condition
	ops := make([]string, 0, len(m))
	for op := range m {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	for _, op := range ops {
		keys, ok := m[op].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s must be a mapping of condition keys to values", op)
		}
		c := Condition{Op: op, base: op}
		if pre, rest, ok := strings.Cut(op, ":"); ok {
			switch pre {
			case "ForAllValues", "ForAnyValue":
				c.set, c.base = strings.ToLower(pre), rest
			default:
				return nil, fmt.Errorf("unknown set operator %q (ForAllValues, ForAnyValue)", pre)
			}
		}
		if b, ok := strings.CutSuffix(c.base, "IfExists"); ok && b != "Null" {
			c.base, c.ifExists = b, true
		}
		neg, known := operators[c.base]
		if !known {
			return nil, fmt.Errorf("unknown condition operator %q", op)
		}
		c.negated = neg
		names := make([]string, 0, len(keys))
		for k := range keys {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			vals, err := conditionValues(keys[k])
			if err != nil {
				return nil, fmt.Errorf("%s %s %v", op, k, err)
			}
			cc := c
			cc.Key, cc.Values = strings.ToLower(k), vals
			if err := cc.compile(); err != nil {
				return nil, fmt.Errorf("%s %s: %v", op, k, err)
			}
			out = append(out, cc)
		}
	}
	return out, nil
}

// conditionValues reads a value or a list of values; numbers and booleans
// are written as JSON writes them.
func conditionValues(v any) ([]string, error) {
	one := func(e any) (string, error) {
		switch t := e.(type) {
		case string:
			return t, nil
		case bool:
			return strconv.FormatBool(t), nil
		case float64:
			return strconv.FormatFloat(t, 'f', -1, 64), nil
		case int:
			return strconv.Itoa(t), nil
		case int64:
			return strconv.FormatInt(t, 10), nil
		}
		return "", fmt.Errorf("must be a string, number or boolean, or a list of them, not %s", show(e))
	}
	if list, ok := v.([]any); ok {
		out := make([]string, 0, len(list))
		for _, e := range list {
			s, err := one(e)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	}
	s, err := one(v)
	if err != nil {
		return nil, err
	}
	return []string{s}, nil
}

func (c *Condition) compile() error {
	switch {
	case strings.HasPrefix(c.base, "Numeric"):
		for _, v := range c.Values {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return fmt.Errorf("%q is not a number", v)
			}
			c.nums = append(c.nums, f)
		}
	case strings.HasPrefix(c.base, "Date"):
		for _, v := range c.Values {
			t, ok := parseDate(v)
			if !ok {
				return fmt.Errorf("%q is not a date (ISO 8601, e.g. 2026-01-01T00:00:00Z, or epoch seconds)", v)
			}
			c.dates = append(c.dates, t)
		}
	case c.base == "IpAddress" || c.base == "NotIpAddress":
		for _, v := range c.Values {
			p, err := netip.ParsePrefix(v)
			if err != nil {
				a, err2 := netip.ParseAddr(v)
				if err2 != nil {
					return fmt.Errorf("%q is not an IP address or CIDR range", v)
				}
				p = netip.PrefixFrom(a, a.BitLen())
			}
			c.nets = append(c.nets, p.Masked())
		}
	case c.base == "Bool" || c.base == "Null":
		for _, v := range c.Values {
			if !strings.EqualFold(v, "true") && !strings.EqualFold(v, "false") {
				return fmt.Errorf("%q is not true or false", v)
			}
		}
	}
	return nil
}

func parseDate(v string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, true
		}
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Unix(n, 0), true
	}
	return time.Time{}, false
}

// eval reports whether the condition holds for ctx.
func (c *Condition) eval(ctx *Context) bool {
	vals, present := ctx.lookup(c.Key)
	if c.base == "Null" {
		want := strings.EqualFold(c.Values[0], "true") // true: the key must be absent
		return want == !present
	}
	if !present && c.ifExists {
		return true // ...IfExists: a missing key holds, set operators too
	}
	switch c.set {
	case "forallvalues":
		// True when every value of the request matches (also when there is none).
		for _, v := range vals {
			if !c.one(v) {
				return false
			}
		}
		return true
	case "foranyvalue":
		for _, v := range vals {
			if c.one(v) {
				return true
			}
		}
		return false
	}
	if !present {
		// A missing key matches nothing: a negated operator holds, others
		// do not, unless ...IfExists.
		return c.ifExists || c.negated
	}
	// A single-valued use of a multi-valued key: any of its values.
	for _, v := range vals {
		if c.one(v) {
			return true
		}
	}
	return false
}

// one applies the operator to one request value: for positive operators,
// true when it matches any policy value; for negated ones, when it matches
// none.
func (c *Condition) one(v string) bool {
	var match func(i int) bool
	switch c.base {
	case "StringEquals", "StringNotEquals":
		match = func(i int) bool { return v == c.Values[i] }
	case "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase":
		match = func(i int) bool { return strings.EqualFold(v, c.Values[i]) }
	case "StringLike", "StringNotLike":
		match = func(i int) bool { return glob(c.Values[i], v) }
	case "ArnEquals", "ArnNotEquals":
		match = func(i int) bool { return v == c.Values[i] }
	case "ArnLike", "ArnNotLike":
		match = func(i int) bool { return matchARN(c.Values[i], v) }
	case "Bool":
		match = func(i int) bool { return strings.EqualFold(v, c.Values[i]) }
	case "BinaryEquals":
		match = func(i int) bool { return v == c.Values[i] }
	case "IpAddress", "NotIpAddress":
		a, err := netip.ParseAddr(v)
		if err != nil {
			return c.negated
		}
		a = a.Unmap()
		match = func(i int) bool { return c.nets[i].Contains(a) }
	default:
		if strings.HasPrefix(c.base, "Numeric") {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return false
			}
			match = func(i int) bool { return compare(c.base[len("Numeric"):], cmpFloat(f, c.nums[i])) }
		} else {
			t, ok := parseDate(v)
			if !ok {
				return false
			}
			match = func(i int) bool { return compare(c.base[len("Date"):], t.Compare(c.dates[i])) }
		}
	}
	for i := range c.Values {
		if match(i) {
			return !c.negated
		}
	}
	return c.negated
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// compare applies Equals, NotEquals (as a match of equality, negated by
// the caller), LessThan, ... to the result of a comparison.
func compare(op string, r int) bool {
	switch op {
	case "Equals", "NotEquals":
		return r == 0
	case "LessThan":
		return r < 0
	case "LessThanEquals":
		return r <= 0
	case "GreaterThan":
		return r > 0
	case "GreaterThanEquals":
		return r >= 0
	}
	return false
}
