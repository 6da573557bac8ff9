package manifest

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// kind is the type of a YAML value.
type kind uint8

const (
	kindNull kind = iota
	kindBool
	kindInt
	kindFloat
	kindString
	kindMap
	kindSeq
)

func (k kind) String() string {
	switch k {
	case kindBool:
		return "a boolean"
	case kindInt, kindFloat:
		return "a number"
	case kindString:
		return "a string"
	case kindMap:
		return "a mapping"
	case kindSeq:
		return "a list"
	}
	return "null"
}

// node is a YAML value with the place it was written. Aliases share the
// anchor's node, so a document full of aliases stays as small as its text.
type node struct {
	kind   kind
	file   string // base name of the file the value comes from
	line   int
	s      string
	b      bool
	i      int64
	f      float64
	fields []field // kindMap, in file order
	items  []*node // kindSeq
}

// field is one key of a mapping.
type field struct {
	key  string
	line int
	val  *node
}

// get returns the value of key, or nil.
func (n *node) get(key string) *node {
	for _, f := range n.fields {
		if f.key == key {
			return f.val
		}
	}
	return nil
}

// empty reports whether n is null, an empty string, mapping or list.
func (n *node) empty() bool {
	switch n.kind {
	case kindNull:
		return true
	case kindString:
		return n.s == ""
	case kindMap:
		return len(n.fields) == 0
	case kindSeq:
		return len(n.items) == 0
	}
	return false
}

// scalarText formats a scalar the way the Serverless Framework (JavaScript)
// turns it into a string; ok is false for mappings and lists.
func (n *node) scalarText() (s string, ok bool) {
	switch n.kind {
	case kindNull:
		return "null", true
	case kindBool:
		return strconv.FormatBool(n.b), true
	case kindInt:
		return strconv.FormatInt(n.i, 10), true
	case kindFloat:
		return formatNumber(n.f), true
	case kindString:
		return n.s, true
	}
	return "", false
}

// formatNumber formats f like JavaScript's String(number).
func formatNumber(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		return "0"
	}
	if a := math.Abs(f); a >= 1e-7 && a < 1e21 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	// Go writes 1e-08 where JavaScript writes 1e-8.
	mant, exp, _ := strings.Cut(strconv.FormatFloat(f, 'e', -1, 64), "e")
	sign, digits := exp[:1], strings.TrimLeft(exp[1:], "0")
	return mant + "e" + sign + digits
}

const (
	// maxDepth bounds nesting so that hostile input cannot exhaust the
	// stack or, through flow collections ([[[...), slow the parser down.
	maxDepth = 500
	// maxSize bounds a YAML file; real ones are a few kilobytes.
	maxSize = 1 << 20
	// maxRun bounds runs of one of "<-." which the YAML scanner reads in
	// time quadratic in their length.
	maxRun = 1024
)

// parseYAML parses one YAML (or JSON) document into a node tree.
func parseYAML(file string, data []byte) (*node, error) {
	if err := checkShape(file, data); err != nil {
		return nil, err
	}
	f, err := parseAST(data)
	if err != nil {
		e := &Error{File: file, Msg: "malformed YAML: " + err.Error()}
		var ye yamlError
		if errors.As(err, &ye) {
			e.Msg = "malformed YAML: " + ye.GetMessage()
			if tk := ye.GetToken(); tk != nil && tk.Position != nil {
				e.Line = tk.Position.Line
			}
		}
		return nil, e
	}
	var body ast.Node
	for _, doc := range f.Docs {
		if doc == nil || doc.Body == nil {
			continue
		}
		if body != nil {
			return nil, &Error{File: file, Line: lineOf(doc.Body), Msg: "more than one YAML document; keep the whole configuration in one"}
		}
		body = doc.Body
	}
	if body == nil {
		return &node{kind: kindNull, file: file, line: 1}, nil
	}
	c := &converter{file: file, anchors: map[string]*node{}}
	return c.convert(body)
}

// checkShape rejects input on which the YAML parser would take too long.
func checkShape(file string, data []byte) error {
	if len(data) > maxSize {
		return &Error{File: file, Msg: fmt.Sprintf("larger than %d bytes", maxSize)}
	}
	line, depth, run := 1, 0, 0
	for i, c := range data {
		switch c {
		case '\n':
			line++
		case '[', '{':
			if depth++; depth > maxDepth {
				return &Error{File: file, Line: line, Msg: fmt.Sprintf("brackets nested more than %d deep", maxDepth)}
			}
		case ']', '}':
			depth = max(depth-1, 0)
		}
		if i > 0 && c == data[i-1] && (c == '<' || c == '-' || c == '.') {
			if run++; run >= maxRun {
				return &Error{File: file, Line: line, Msg: fmt.Sprintf("more than %d %q in a row", maxRun, c)}
			}
		} else {
			run = 0
		}
	}
	return nil
}

// yamlError is what the errors of the YAML parser implement.
type yamlError interface {
	GetToken() *token.Token
	GetMessage() string
}

// parseAST runs the YAML parser, turning a panic inside it into an error:
// whatever the input, loading a manifest must not crash the server.
func parseAST(data []byte) (f *ast.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, fmt.Errorf("parser failure: %v", r)
		}
	}()
	return parser.ParseBytes(data, 0)
}

func lineOf(n ast.Node) int {
	if n == nil {
		return 0
	}
	if tk := n.GetToken(); tk != nil && tk.Position != nil {
		return tk.Position.Line
	}
	return 0
}

// converter turns the parser's syntax tree into nodes, resolving anchors,
// aliases, merge keys (<<) and CloudFormation tags (!Ref, !GetAtt, ...).
type converter struct {
	file    string
	anchors map[string]*node
	depth   int
}

func (c *converter) errorf(n ast.Node, format string, args ...any) error {
	return &Error{File: c.file, Line: lineOf(n), Msg: fmt.Sprintf(format, args...)}
}

func (c *converter) convert(n ast.Node) (*node, error) {
	c.depth++
	defer func() { c.depth-- }()
	if c.depth > maxDepth {
		return nil, c.errorf(n, "values nested more than %d deep", maxDepth)
	}
	out := &node{file: c.file, line: lineOf(n)}
	switch n := n.(type) {
	case nil, *ast.NullNode, *ast.CommentGroupNode, *ast.CommentNode:
		out.kind = kindNull
	case *ast.BoolNode:
		out.kind, out.b = kindBool, n.Value
	case *ast.IntegerNode:
		c.integer(out, n)
	case *ast.FloatNode:
		out.kind, out.f = kindFloat, n.Value
	case *ast.InfinityNode:
		out.kind, out.f = kindFloat, n.Value
	case *ast.NanNode:
		out.kind, out.f = kindFloat, math.NaN()
	case *ast.StringNode:
		out.kind, out.s = kindString, n.Value
	case *ast.LiteralNode:
		out.kind = kindString
		if n.Value != nil {
			out.s = n.Value.Value
		}
	case *ast.MappingNode:
		return c.mapping(out, n.Values)
	case *ast.MappingValueNode:
		return c.mapping(out, []*ast.MappingValueNode{n})
	case *ast.SequenceNode:
		out.kind = kindSeq
		out.items = make([]*node, 0, len(n.Values))
		for _, v := range n.Values {
			item, err := c.convert(v)
			if err != nil {
				return nil, err
			}
			out.items = append(out.items, item)
		}
	case *ast.AnchorNode:
		v, err := c.convert(n.Value)
		if err != nil {
			return nil, err
		}
		// Registered after its value, so an anchor cannot contain itself.
		c.anchors[anchorName(n.Name)] = v
		return v, nil
	case *ast.AliasNode:
		name := anchorName(n.Value)
		v, ok := c.anchors[name]
		if !ok {
			return nil, c.errorf(n, "alias *%s refers to no anchor &%s defined above it", name, name)
		}
		return v, nil
	case *ast.TagNode:
		return c.tag(out, n)
	default:
		return nil, c.errorf(n, "unsupported YAML construct (%s)", n.Type())
	}
	return out, nil
}

func anchorName(n ast.Node) string {
	if n == nil {
		return ""
	}
	if tk := n.GetToken(); tk != nil {
		return tk.Value
	}
	return n.String()
}

func (c *converter) integer(out *node, n *ast.IntegerNode) {
	// The parser reads 0123 as octal (YAML 1.1); the Serverless Framework
	// reads it as decimal (YAML 1.2), so re-read plain decimal digits.
	if n.Token != nil && isDecimal(n.Token.Value) {
		if i, err := strconv.ParseInt(n.Token.Value, 10, 64); err == nil {
			out.kind, out.i = kindInt, i
			return
		}
		if f, err := strconv.ParseFloat(n.Token.Value, 64); err == nil {
			out.kind, out.f = kindFloat, f
			return
		}
	}
	switch v := n.Value.(type) {
	case int64:
		out.kind, out.i = kindInt, v
	case uint64:
		if v <= math.MaxInt64 {
			out.kind, out.i = kindInt, int64(v)
		} else {
			out.kind, out.f = kindFloat, float64(v)
		}
	default:
		out.kind = kindString
		if n.Token != nil {
			out.s = n.Token.Value
		}
	}
}

// isDecimal reports whether s is an optionally signed run of digits.
func isDecimal(s string) bool {
	s = strings.TrimLeft(s, "+-")
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func (c *converter) mapping(out *node, values []*ast.MappingValueNode) (*node, error) {
	out.kind = kindMap
	out.fields = make([]field, 0, len(values))
	// Keys copied in by << can be overridden by keys written in the
	// mapping itself; any other repeated key is an error.
	merged := map[string]bool{}
	for _, mv := range values {
		if mv == nil {
			continue
		}
		if _, ok := mv.Key.(*ast.MergeKeyNode); ok {
			if err := c.merge(out, mv, merged); err != nil {
				return nil, err
			}
			continue
		}
		key, err := c.key(mv.Key)
		if err != nil {
			return nil, err
		}
		val, err := c.convert(mv.Value)
		if err != nil {
			return nil, err
		}
		f := field{key: key, line: lineOf(mv.Key), val: val}
		if i := indexOf(out.fields, key); i >= 0 {
			if !merged[key] {
				return nil, c.errorf(mv.Key, "key %q is repeated", key)
			}
			delete(merged, key)
			out.fields[i] = f
			continue
		}
		out.fields = append(out.fields, f)
	}
	return out, nil
}

func indexOf(fields []field, key string) int {
	for i, f := range fields {
		if f.key == key {
			return i
		}
	}
	return -1
}

// merge applies a merge key: `<<: *defaults` or `<<: [*a, *b]`, where
// earlier mappings win.
func (c *converter) merge(out *node, mv *ast.MappingValueNode, merged map[string]bool) error {
	v, err := c.convert(mv.Value)
	if err != nil {
		return err
	}
	srcs := []*node{v}
	if v.kind == kindSeq {
		srcs = v.items
	}
	for _, src := range srcs {
		if src.kind != kindMap {
			return c.errorf(mv.Value, "<< merges mappings, not %s", src.kind)
		}
		for _, f := range src.fields {
			if indexOf(out.fields, f.key) >= 0 {
				continue
			}
			out.fields = append(out.fields, f)
			merged[f.key] = true
		}
	}
	return nil
}

func (c *converter) key(n ast.Node) (string, error) {
	if k, ok := n.(*ast.MappingKeyNode); ok {
		n = k.Value
	}
	k, err := c.convert(n)
	if err != nil {
		return "", err
	}
	s, ok := k.scalarText()
	if !ok {
		return "", c.errorf(n, "a mapping key must be a plain value, not %s", k.kind)
	}
	return s, nil
}

// tag handles YAML tags. CloudFormation short forms become the long form
// the Serverless Framework produces: !Ref X is {Ref: X}, !GetAtt X is
// {Fn::GetAtt: X}.
func (c *converter) tag(out *node, n *ast.TagNode) (*node, error) {
	name := ""
	if n.Start != nil {
		name = n.Start.Value
	}
	v, err := c.convert(n.Value)
	if err != nil {
		return nil, err
	}
	switch {
	case name == "!!str":
		if _, ok := v.scalarText(); !ok {
			return nil, c.errorf(n, "!!str applies to plain values, not %s", v.kind)
		}
		out.kind, out.s = kindString, ""
		if n.Value != nil && n.Value.GetToken() != nil {
			out.s = n.Value.GetToken().Value
		}
		return out, nil
	case strings.HasPrefix(name, "!!"), name == "!":
		return v, nil
	}
	key := strings.TrimPrefix(name, "!")
	if key != "Ref" && key != "Condition" {
		key = "Fn::" + key
	}
	out.kind = kindMap
	out.fields = []field{{key: key, line: out.line, val: v}}
	return out, nil
}
