package dynamodb

import (
	"fmt"
	"strconv"
	"strings"
)

// This file parses DynamoDB's expression language: condition, filter and
// key condition expressions, update expressions and projection
// expressions. Names (#n) and values (:v) resolve at parse time against
// the request's ExpressionAttributeNames and ExpressionAttributeValues,
// and the parser records which were used so that unused ones can be
// refused as DynamoDB refuses them.

// pathElem is one step of a document path: an attribute name or a list
// index.
type pathElem struct {
	name    string
	index   int
	isIndex bool
}

type docPath []pathElem

func (p docPath) String() string {
	parts := make([]string, len(p))
	for i, e := range p {
		if e.isIndex {
			parts[i] = "[" + strconv.Itoa(e.index) + "]"
		} else {
			parts[i] = e.name
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

type operandKind uint8

const (
	opPath operandKind = iota + 1
	opValue
	opSize
	opIfNotExists
	opListAppend
	opPlus
	opMinus
)

// operand is a value in an expression.
type operand struct {
	kind  operandKind
	path  docPath
	value *Value
	args  []*operand
}

type condKind uint8

const (
	cCompare condKind = iota + 1
	cBetween
	cIn
	cAnd
	cOr
	cNot
	cExists
	cNotExists
	cType
	cBeginsWith
	cContains
)

// cond is a condition (boolean) expression.
type cond struct {
	kind condKind
	cmp  string // =, <>, <, <=, >, >= for cCompare
	a    []*operand
	c    []*cond
}

// exprContext is the request's names and values, and what the parsed
// expressions used of them.
type exprContext struct {
	names      map[string]string
	values     map[string]*Value
	usedNames  map[string]bool
	usedValues map[string]bool
}

func newExprContext(names map[string]string, values map[string]*Value) *exprContext {
	return &exprContext{names: names, values: values, usedNames: map[string]bool{}, usedValues: map[string]bool{}}
}

// unused is the error for names or values no expression used.
func (x *exprContext) unused() error {
	var vs, ns []string
	for k := range x.values {
		if !x.usedValues[k] {
			vs = append(vs, k)
		}
	}
	for k := range x.names {
		if !x.usedNames[k] {
			ns = append(ns, k)
		}
	}
	if len(ns) > 0 {
		return invalidValue("Value provided in ExpressionAttributeNames unused in expressions: keys: {%s}", strings.Join(sortStrings(ns), ", "))
	}
	if len(vs) > 0 {
		return invalidValue("Value provided in ExpressionAttributeValues unused in expressions: keys: {%s}", strings.Join(sortStrings(vs), ", "))
	}
	return nil
}

type token struct {
	text string
	pos  int
}

type parser struct {
	what string // ConditionExpression, UpdateExpression, ...
	src  string
	toks []token
	i    int
	x    *exprContext
}

func isIdentStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isIdent(c byte) bool      { return isIdentStart(c) || c >= '0' && c <= '9' }

func lex(what, src string) ([]token, error) {
	var toks []token
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '#' || c == ':':
			j := i + 1
			for j < len(src) && isIdent(src[j]) {
				j++
			}
			if j == i+1 {
				return nil, syntaxError(what, src, token{string(c), i})
			}
			toks = append(toks, token{src[i:j], i})
			i = j
		case isIdent(c):
			j := i + 1
			for j < len(src) && isIdent(src[j]) {
				j++
			}
			toks = append(toks, token{src[i:j], i})
			i = j
		case c == '<' || c == '>':
			if i+1 < len(src) && (src[i+1] == '=' || c == '<' && src[i+1] == '>') {
				toks = append(toks, token{src[i : i+2], i})
				i += 2
			} else {
				toks = append(toks, token{src[i : i+1], i})
				i++
			}
		case strings.IndexByte("()[],.=+-", c) >= 0:
			toks = append(toks, token{src[i : i+1], i})
			i++
		default:
			return nil, syntaxError(what, src, token{string(c), i})
		}
	}
	return toks, nil
}

func syntaxError(what, src string, t token) error {
	if t.text == "" {
		return invalidValue("Invalid %s: Syntax error; token: \"<EOF>\", near: \"%s\"", what, tail(src))
	}
	end := t.pos + len(t.text) + 4
	if end > len(src) {
		end = len(src)
	}
	start := t.pos - 4
	if start < 0 {
		start = 0
	}
	return invalidValue("Invalid %s: Syntax error; token: \"%s\", near: \"%s\"", what, t.text, strings.TrimSpace(src[start:end]))
}

func tail(s string) string {
	if len(s) > 8 {
		return strings.TrimSpace(s[len(s)-8:])
	}
	return s
}

func newParser(what, src string, x *exprContext) (*parser, error) {
	if strings.TrimSpace(src) == "" {
		return nil, invalidValue("Invalid %s: The expression can not be empty;", what)
	}
	toks, err := lex(what, src)
	if err != nil {
		return nil, err
	}
	return &parser{what: what, src: src, toks: toks, x: x}, nil
}

func (p *parser) peek() string {
	if p.i < len(p.toks) {
		return p.toks[p.i].text
	}
	return ""
}

func (p *parser) peekKeyword(kw string) bool { return strings.EqualFold(p.peek(), kw) }

func (p *parser) next() token {
	if p.i < len(p.toks) {
		p.i++
		return p.toks[p.i-1]
	}
	return token{}
}

func (p *parser) fail() error {
	if p.i < len(p.toks) {
		return syntaxError(p.what, p.src, p.toks[p.i])
	}
	return invalidValue("Invalid %s: Syntax error; token: \"<EOF>\", near: \"%s\"", p.what, p.toks[len(p.toks)-1].text)
}

func (p *parser) expect(s string) error {
	if p.peek() != s {
		return p.fail()
	}
	p.i++
	return nil
}

func (p *parser) done() error {
	if p.i != len(p.toks) {
		return p.fail()
	}
	return nil
}

// path parses a document path: name ('.' name | '[' n ']')*.
func (p *parser) path() (docPath, error) {
	var out docPath
	name, err := p.name()
	if err != nil {
		return nil, err
	}
	out = append(out, pathElem{name: name})
	for {
		switch p.peek() {
		case ".":
			p.i++
			name, err := p.name()
			if err != nil {
				return nil, err
			}
			out = append(out, pathElem{name: name})
		case "[":
			p.i++
			t := p.next()
			n, err := strconv.Atoi(t.text)
			if err != nil || n < 0 {
				if t.text != "" {
					p.i--
				}
				return nil, p.fail()
			}
			if err := p.expect("]"); err != nil {
				return nil, err
			}
			out = append(out, pathElem{index: n, isIndex: true})
		default:
			return out, nil
		}
	}
}

func (p *parser) name() (string, error) {
	t := p.next()
	switch {
	case strings.HasPrefix(t.text, "#"):
		v, ok := p.x.names[t.text]
		if !ok {
			return "", invalidValue("Invalid %s: An expression attribute name used in the document path is not defined; attribute name: %s", p.what, t.text)
		}
		p.x.usedNames[t.text] = true
		return v, nil
	case t.text != "" && isIdentStart(t.text[0]):
		if reserved[strings.ToUpper(t.text)] {
			return "", invalidValue("Invalid %s: Attribute name is a reserved keyword; reserved keyword: %s", p.what, t.text)
		}
		return t.text, nil
	}
	if t.text != "" {
		p.i--
	}
	return "", p.fail()
}

func (p *parser) value() (*operand, error) {
	t := p.next()
	v, ok := p.x.values[t.text]
	if !ok {
		return nil, invalidValue("Invalid %s: An expression attribute value used in expression is not defined; attribute value: %s", p.what, t.text)
	}
	p.x.usedValues[t.text] = true
	return &operand{kind: opValue, value: v}, nil
}

// operand parses a path, a value or size(path) (and, in updates, the
// update functions).
func (p *parser) operand(update bool) (*operand, error) {
	t := p.peek()
	switch {
	case strings.HasPrefix(t, ":"):
		return p.value()
	case t == "size" && !update && p.i+1 < len(p.toks) && p.toks[p.i+1].text == "(":
		p.i += 2
		path, err := p.path()
		if err != nil {
			return nil, err
		}
		if err := p.expect(")"); err != nil {
			return nil, err
		}
		return &operand{kind: opSize, path: path}, nil
	case (t == "if_not_exists" || t == "list_append") && update && p.i+1 < len(p.toks) && p.toks[p.i+1].text == "(":
		p.i += 2
		var a *operand
		if t == "if_not_exists" {
			path, err := p.path()
			if err != nil {
				return nil, err
			}
			a = &operand{kind: opPath, path: path}
		} else {
			var err error
			if a, err = p.operand(true); err != nil {
				return nil, err
			}
		}
		if err := p.expect(","); err != nil {
			return nil, err
		}
		b, err := p.operand(true)
		if err != nil {
			return nil, err
		}
		if err := p.expect(")"); err != nil {
			return nil, err
		}
		k := opIfNotExists
		if t == "list_append" {
			k = opListAppend
		}
		return &operand{kind: k, args: []*operand{a, b}}, nil
	case p.i+1 < len(p.toks) && p.toks[p.i+1].text == "(" && isIdentStart(t[0]):
		return nil, invalidValue("Invalid %s: Invalid function name; function: %s", p.what, t)
	}
	path, err := p.path()
	if err != nil {
		return nil, err
	}
	return &operand{kind: opPath, path: path}, nil
}

// parseCondition parses a condition or filter expression.
func parseCondition(what, src string, x *exprContext) (*cond, error) {
	p, err := newParser(what, src, x)
	if err != nil {
		return nil, err
	}
	c, err := p.or()
	if err != nil {
		return nil, err
	}
	if err := p.done(); err != nil {
		return nil, err
	}
	return c, nil
}

func (p *parser) or() (*cond, error) {
	return chain(p.and, func() bool { return p.takeKeyword("OR") }, cOr)
}

func (p *parser) and() (*cond, error) {
	return chain(p.not, func() bool { return p.takeKeyword("AND") }, cAnd)
}

// takeKeyword consumes kw if it is next.
func (p *parser) takeKeyword(kw string) bool {
	if p.peekKeyword(kw) {
		p.i++
		return true
	}
	return false
}

// chain parses operands joined by a keyword (next (kw next)*), left
// associative: how both expression languages read AND and OR.
func chain(next func() (*cond, error), kw func() bool, kind condKind) (*cond, error) {
	c, err := next()
	if err != nil {
		return nil, err
	}
	for kw() {
		d, err := next()
		if err != nil {
			return nil, err
		}
		c = &cond{kind: kind, c: []*cond{c, d}}
	}
	return c, nil
}

func (p *parser) not() (*cond, error) {
	if p.peekKeyword("NOT") {
		p.i++
		c, err := p.not()
		if err != nil {
			return nil, err
		}
		return &cond{kind: cNot, c: []*cond{c}}, nil
	}
	return p.primary()
}

var condFunctions = map[string]condKind{
	"attribute_exists": cExists, "attribute_not_exists": cNotExists, "attribute_type": cType,
	"begins_with": cBeginsWith, "contains": cContains,
}

func (p *parser) primary() (*cond, error) {
	t := p.peek()
	if t == "(" {
		p.i++
		c, err := p.or()
		if err != nil {
			return nil, err
		}
		return c, p.expect(")")
	}
	if k, ok := condFunctions[t]; ok && p.i+1 < len(p.toks) && p.toks[p.i+1].text == "(" {
		p.i += 2
		c := &cond{kind: k}
		path, err := p.path()
		if err != nil {
			return nil, err
		}
		c.a = append(c.a, &operand{kind: opPath, path: path})
		if k == cType || k == cBeginsWith || k == cContains {
			if err := p.expect(","); err != nil {
				return nil, err
			}
			o, err := p.operand(false)
			if err != nil {
				return nil, err
			}
			c.a = append(c.a, o)
		}
		if err := p.expect(")"); err != nil {
			return nil, err
		}
		return c, p.checkFunction(t, c)
	}
	a, err := p.operand(false)
	if err != nil {
		return nil, err
	}
	switch op := p.peek(); {
	case op == "=" || op == "<>" || op == "<" || op == "<=" || op == ">" || op == ">=":
		p.i++
		b, err := p.operand(false)
		if err != nil {
			return nil, err
		}
		if op != "=" && op != "<>" {
			if err := p.orderable(op, a, b); err != nil {
				return nil, err
			}
		}
		return &cond{kind: cCompare, cmp: op, a: []*operand{a, b}}, nil
	case strings.EqualFold(op, "BETWEEN"):
		p.i++
		lo, err := p.operand(false)
		if err != nil {
			return nil, err
		}
		if !p.peekKeyword("AND") {
			return nil, p.fail()
		}
		p.i++
		hi, err := p.operand(false)
		if err != nil {
			return nil, err
		}
		if err := p.orderable("BETWEEN", a, lo, hi); err != nil {
			return nil, err
		}
		if lo.kind == opValue && hi.kind == opValue {
			if n, ok := compare(lo.value, hi.value); ok && n > 0 {
				return nil, invalidValue("Invalid %s: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {%s:%s}, upper bound operand: AttributeValue: {%s:%s}",
					p.what, lo.value.T, lo.value.S, hi.value.T, hi.value.S)
			}
		}
		return &cond{kind: cBetween, a: []*operand{a, lo, hi}}, nil
	case strings.EqualFold(op, "IN"):
		p.i++
		if err := p.expect("("); err != nil {
			return nil, err
		}
		c := &cond{kind: cIn, a: []*operand{a}}
		for {
			o, err := p.operand(false)
			if err != nil {
				return nil, err
			}
			c.a = append(c.a, o)
			if p.peek() != "," {
				break
			}
			p.i++
		}
		if len(c.a) > 101 {
			return nil, invalidValue("Invalid %s: The IN operator is provided with too many operands; number of operands: %d", p.what, len(c.a)-1)
		}
		return c, p.expect(")")
	}
	return nil, p.fail()
}

// orderable refuses a constant that cannot be ordered (only S, N and B
// can) as an operand of op.
func (p *parser) orderable(op string, os ...*operand) error {
	for _, o := range os {
		if o.kind == opValue && o.value.T != kS && o.value.T != kN && o.value.T != kB {
			return invalidValue("Invalid %s: Incorrect operand type for operator or function; operator or function: %s, operand type: %s", p.what, op, o.value.T)
		}
	}
	return nil
}

// checkFunction refuses function arguments DynamoDB refuses before
// evaluating.
func (p *parser) checkFunction(name string, c *cond) error {
	if len(c.a) < 2 || c.a[1].kind != opValue {
		return nil
	}
	v := c.a[1].value
	switch c.kind {
	case cType:
		if v.T != kS || kindOf(v.S) == 0 {
			return invalidValue("Invalid %s: Invalid attribute type name found; type: %s, valid types: { B,NULL,SS,BOOL,L,BS,N,NS,S,M }", p.what, v.S)
		}
	case cBeginsWith:
		if v.T != kS && v.T != kB {
			return invalidValue("Invalid %s: Incorrect operand type for operator or function; operator or function: begins_with, operand type: %s", p.what, v.T)
		}
	}
	return nil
}

// updateAction is one action of an update expression.
type updateAction struct {
	clause string // SET, REMOVE, ADD, DELETE
	path   docPath
	value  *operand // SET's value, ADD's and DELETE's operand
}

// parseUpdate parses an update expression: clauses SET, REMOVE, ADD and
// DELETE, each at most once, in any order.
func parseUpdate(src string, x *exprContext) ([]updateAction, error) {
	const what = "UpdateExpression"
	p, err := newParser(what, src, x)
	if err != nil {
		return nil, err
	}
	var out []updateAction
	seen := map[string]bool{}
	for p.i < len(p.toks) {
		clause := strings.ToUpper(p.peek())
		switch clause {
		case "SET", "REMOVE", "ADD", "DELETE":
		default:
			return nil, p.fail()
		}
		if seen[clause] {
			return nil, invalidValue("Invalid UpdateExpression: The \"%s\" section can only be used once in an update expression;", clause)
		}
		seen[clause] = true
		p.i++
		for {
			path, err := p.path()
			if err != nil {
				return nil, err
			}
			a := updateAction{clause: clause, path: path}
			switch clause {
			case "SET":
				if err := p.expect("="); err != nil {
					return nil, err
				}
				if a.value, err = p.setValue(); err != nil {
					return nil, err
				}
			case "ADD", "DELETE":
				if !strings.HasPrefix(p.peek(), ":") {
					return nil, p.fail()
				}
				if a.value, err = p.value(); err != nil {
					return nil, err
				}
				if e := checkAddDelete(clause, a.value.value); e != nil {
					return nil, e
				}
			}
			out = append(out, a)
			if p.peek() != "," {
				break
			}
			p.i++
		}
	}
	if err := checkOverlap(out); err != nil {
		return nil, err
	}
	return out, nil
}

func checkAddDelete(clause string, v *Value) error {
	switch {
	case clause == "ADD" && (v.T == kN || v.T == kSS || v.T == kNS || v.T == kBS):
	case clause == "DELETE" && (v.T == kSS || v.T == kNS || v.T == kBS):
	default:
		return invalidValue("Invalid UpdateExpression: Incorrect operand type for operator or function; operator: %s, operand type: %s, typeSet: ALLOWED_FOR_%s_OPERAND", clause, typeWords[v.T], clause)
	}
	return nil
}

func (p *parser) setValue() (*operand, error) {
	a, err := p.operand(true)
	if err != nil {
		return nil, err
	}
	switch p.peek() {
	case "+", "-":
		k := opPlus
		if p.next().text == "-" {
			k = opMinus
		}
		b, err := p.operand(true)
		if err != nil {
			return nil, err
		}
		return &operand{kind: k, args: []*operand{a, b}}, nil
	}
	return a, nil
}

// checkOverlap refuses two actions on one path, or on a path and a path
// within it.
func checkOverlap(actions []updateAction) error {
	for i := range actions {
		for j := 0; j < i; j++ {
			a, b := actions[j].path, actions[i].path
			n := min(len(a), len(b))
			same := true
			for k := 0; k < n; k++ {
				if a[k] != b[k] {
					same = false
					break
				}
			}
			if !same {
				continue
			}
			if len(a) == len(b) {
				return invalidValue("Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: %s, path two: %s", a, b)
			}
			return invalidValue("Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: %s, path two: %s", a, b)
		}
	}
	return nil
}

// parseProjection parses a projection expression: paths separated by
// commas.
func parseProjection(src string, x *exprContext) ([]docPath, error) {
	p, err := newParser("ProjectionExpression", src, x)
	if err != nil {
		return nil, err
	}
	var out []docPath
	for {
		path, err := p.path()
		if err != nil {
			return nil, err
		}
		out = append(out, path)
		if p.peek() != "," {
			break
		}
		p.i++
	}
	if err := p.done(); err != nil {
		return nil, err
	}
	for i := range out {
		for j := 0; j < i; j++ {
			a, b := out[j], out[i]
			n := min(len(a), len(b))
			if fmt.Sprint(a[:n]) == fmt.Sprint(b[:n]) {
				return nil, invalidValue("Invalid ProjectionExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: %s, path two: %s", a, b)
			}
		}
	}
	return out, nil
}

// typeWords are the type names some of DynamoDB's messages spell out.
var typeWords = map[kind]string{kS: "STRING", kN: "NUMBER", kB: "BINARY", kSS: "STRING_SET", kNS: "NUMBER_SET",
	kBS: "BINARY_SET", kM: "MAP", kL: "LIST", kNULL: "NULL", kBOOL: "BOOLEAN"}

func sortStrings(s []string) []string {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s
}
