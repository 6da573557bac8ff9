package manifest

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// This file parses the Serverless Framework variable syntax; resolve.go
// gives the variables their values.
//
// As in the Framework, ${...} is a variable only when it starts with a
// lower-case source name followed by ":" or "(", so CloudFormation's
// ${AWS::Region} and shell-style ${HOME} are left as written.

// segment is a run of literal text or one variable of a string.
type segment struct {
	lit string
	v   *variable // nil for literal text
}

// variable is one ${...} expression.
type variable struct {
	text    string    // as written, for messages
	sources []*source // tried in order: the source, then its fallbacks
}

// source is one comma-separated part of a variable: a reference such as
// env:HOME or file(./x.yml):key, a literal fallback, or a nested ${...}.
type source struct {
	typ      string // self, opt, sls, env, file, aws, param, ...
	param    string // argument of file(...); may hold variables
	hasParam bool
	address  string    // text after the colon; may hold variables
	literal  *node     // quoted string, number, true, false or null
	nested   *variable // a fallback written as ${...}
}

// parseTemplate splits s into literal text and variables. It returns nil
// when s holds no variable.
func parseTemplate(s string) ([]segment, error) {
	var segs []segment
	lit := 0
	for i := 0; i < len(s); {
		j := strings.Index(s[i:], "${")
		if j < 0 {
			break
		}
		start := i + j
		if !variableStart(s[start+2:]) {
			i = start + 2
			continue
		}
		end, err := closeBrace(s, start+2)
		if err != nil {
			return nil, err
		}
		v, err := parseVariable(s[start:end])
		if err != nil {
			return nil, err
		}
		if start > lit {
			segs = append(segs, segment{lit: s[lit:start]})
		}
		segs = append(segs, segment{v: v})
		i, lit = end, end
	}
	if segs == nil {
		return nil, nil
	}
	if lit < len(s) {
		segs = append(segs, segment{lit: s[lit:]})
	}
	return segs, nil
}

// variableStart reports whether the text after "${" begins a variable:
// a lower-case letter, letters and digits, then ":" or "(".
func variableStart(rest string) bool {
	if rest == "" || rest[0] < 'a' || rest[0] > 'z' {
		return false
	}
	for k := 1; k < len(rest); k++ {
		c := rest[k]
		switch {
		case isAlnum(c) || c == '.':
		case c == ':':
			// ${aws::x} is CloudFormation's, not ours.
			return k+1 >= len(rest) || rest[k+1] != ':'
		default:
			return c == '('
		}
	}
	return false
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// scanner walks variable text, keeping track of nesting and of quoted
// strings. Quotes open a string only where a value starts (after "," "("
// or ":"), so an apostrophe inside an address is plain text.
type scanner struct {
	quote  byte
	braces int  // open ${ ... }
	parens int  // open ( ... )
	prev   byte // last non-space character outside strings
}

// step consumes s[k] and returns how many extra bytes it consumed.
func (sc *scanner) step(s string, k int) int {
	c := s[k]
	if sc.quote != 0 {
		switch {
		case c == '\\' && sc.quote == '"':
			return 1
		case c == sc.quote:
			sc.quote, sc.prev = 0, c
		}
		return 0
	}
	extra := 0
	switch {
	case (c == '\'' || c == '"') && (sc.prev == ',' || sc.prev == '(' || sc.prev == ':'):
		sc.quote = c
	case c == '$' && k+1 < len(s) && s[k+1] == '{':
		sc.braces++
		extra, c = 1, '{'
	case c == '}':
		sc.braces--
	case c == '(':
		sc.parens++
	case c == ')':
		sc.parens--
	}
	if c != ' ' {
		sc.prev = c
	}
	return extra
}

// closeBrace returns the index after the "}" closing the variable whose
// body starts at from.
func closeBrace(s string, from int) (int, error) {
	sc := scanner{braces: 1, prev: '{'}
	for k := from; k < len(s); k++ {
		k += sc.step(s, k)
		if sc.braces == 0 {
			return k + 1, nil
		}
	}
	return 0, fmt.Errorf("variable %s has no closing }", clip(s[from-2:]))
}

// clip shortens s for an error message.
func clip(s string) string {
	const max = 60
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}

// splitTop splits s at the commas outside nested variables, parentheses
// and quoted strings.
func splitTop(s string) []string {
	var parts []string
	sc := scanner{prev: ','}
	start := 0
	for k := 0; k < len(s); k++ {
		if s[k] == ',' && sc.quote == 0 && sc.braces == 0 && sc.parens == 0 {
			parts = append(parts, s[start:k])
			start = k + 1
			sc.prev = ','
			continue
		}
		k += sc.step(s, k)
	}
	return append(parts, s[start:])
}

// parseVariable parses text, a whole "${...}".
func parseVariable(text string) (*variable, error) {
	v := &variable{text: text}
	for i, part := range splitTop(text[2 : len(text)-1]) {
		src, err := parseSource(strings.TrimSpace(part), i == 0)
		if err != nil {
			return nil, fmt.Errorf("invalid variable %s: %w", clip(text), err)
		}
		v.sources = append(v.sources, src)
	}
	return v, nil
}

var numberRe = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$`)

func parseSource(p string, first bool) (*source, error) {
	switch {
	case p == "":
		return nil, errors.New("empty fallback after a comma")
	case !first && (p[0] == '\'' || p[0] == '"'):
		s, err := unquote(p)
		if err != nil {
			return nil, err
		}
		return &source{literal: &node{kind: kindString, s: s}}, nil
	case !first && strings.HasPrefix(p, "${"):
		end, err := closeBrace(p, 2)
		if err != nil {
			return nil, err
		}
		if end != len(p) {
			return nil, fmt.Errorf("unexpected %q after %s", p[end:], p[:end])
		}
		v, err := parseVariable(p)
		if err != nil {
			return nil, err
		}
		return &source{nested: v}, nil
	case !first && (p == "true" || p == "false"):
		return &source{literal: &node{kind: kindBool, b: p == "true"}}, nil
	case !first && p == "null":
		return &source{literal: &node{kind: kindNull}}, nil
	case !first && numberRe.MatchString(p):
		if i, err := strconv.ParseInt(p, 10, 64); err == nil {
			return &source{literal: &node{kind: kindInt, i: i}}, nil
		}
		f, err := strconv.ParseFloat(p, 64)
		if err != nil {
			return nil, fmt.Errorf("invalid number %s", p)
		}
		return &source{literal: &node{kind: kindFloat, f: f}}, nil
	}
	k := 0
	for k < len(p) && (isAlnum(p[k]) || p[k] == '.') {
		k++
	}
	src := &source{typ: p[:k]}
	rest := p[k:]
	if k == 0 || p[0] < 'a' || p[0] > 'z' || rest == "" || rest[0] != ':' && rest[0] != '(' {
		return nil, fmt.Errorf("fallback %q is neither a variable nor a value; quote text, e.g. '%s'", p, p)
	}
	if rest[0] == '(' {
		end := closeParen(rest)
		if end < 0 {
			return nil, fmt.Errorf("%s( has no closing )", src.typ)
		}
		src.param, src.hasParam = strings.TrimSpace(rest[1:end]), true
		rest = strings.TrimSpace(rest[end+1:])
		if rest == "" {
			return src, nil
		}
		if rest[0] != ':' {
			return nil, fmt.Errorf("unexpected %q after %s(...)", rest, src.typ)
		}
	}
	src.address = strings.TrimSpace(rest[1:])
	if src.address != "" && (src.address[0] == '\'' || src.address[0] == '"') {
		s, err := unquote(src.address)
		if err != nil {
			return nil, err
		}
		src.address = s
	}
	return src, nil
}

// closeParen returns the index of the ")" matching s[0], or -1.
func closeParen(s string) int {
	sc := scanner{prev: '('}
	for k := 0; k < len(s); k++ {
		k += sc.step(s, k)
		if sc.parens == 0 && sc.braces == 0 && sc.quote == 0 && s[k] == ')' {
			return k
		}
	}
	return -1
}

// unquote reads a 'single' or "double" quoted string (double quotes take
// JSON escapes, as in the Framework).
func unquote(p string) (string, error) {
	if len(p) < 2 || p[len(p)-1] != p[0] {
		return "", fmt.Errorf("unterminated string %s", clip(p))
	}
	if p[0] == '\'' {
		s := p[1 : len(p)-1]
		if strings.ContainsRune(s, '\'') {
			return "", fmt.Errorf("invalid string %s", clip(p))
		}
		return s, nil
	}
	s, err := strconv.Unquote(p)
	if err != nil {
		return "", fmt.Errorf("invalid string %s", clip(p))
	}
	return s, nil
}
