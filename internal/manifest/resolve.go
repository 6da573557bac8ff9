package manifest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

const (
	// maxValueLen bounds a string built from variables, so that values
	// that double at every reference cannot eat the memory.
	maxValueLen = 1 << 20
	// maxFileSize bounds a file read by ${file(...)}.
	maxFileSize = maxSize
)

// resolver gives variables their values. It works on demand: a value is
// resolved when the decoder reads it or a variable refers to it, once, so
// sections Cloudlet ignores (resources, custom, ...) may use sources it
// cannot resolve.
type resolver struct {
	opts   Options
	dir    string // folder of serverless.yml; ${file()} paths are relative to it
	root   *node
	done   map[*node]*node
	failed map[*node]error
	stack  []frame          // values being resolved, to report cycles
	files  map[string]*node // parsed ${file()} targets by path; nil when missing
	// constructs are the variables of serverless-lift's constructs
	// (lift.go), by construct.
	constructs map[string]constructVars
}

// frame is a value being resolved.
type frame struct {
	n    *node
	path string
}

// miss says why a source has no value; a fallback may still give one.
type miss struct {
	text   string // the variable, as written
	reason string
}

func newResolver(root *node, dir string, opts Options) *resolver {
	return &resolver{
		opts:   opts,
		dir:    dir,
		root:   root,
		done:   map[*node]*node{},
		failed: map[*node]error{},
		files:  map[string]*node{},
	}
}

func errAt(n *node, path, format string, args ...any) *Error {
	return &Error{File: n.file, Line: n.line, Path: path, Msg: fmt.Sprintf(format, args...)}
}

// resolve returns the value of n with its variables resolved. A string
// that is exactly one variable takes the type of the value it refers to;
// mappings and lists are returned as they are, their items resolved when
// read. path names n in messages.
func (r *resolver) resolve(n *node, path string) (*node, error) {
	if n.kind != kindString || !strings.Contains(n.s, "${") {
		return n, nil
	}
	if v, ok := r.done[n]; ok {
		return v, nil
	}
	if err, ok := r.failed[n]; ok {
		return nil, err
	}
	for i, f := range r.stack {
		if f.n == n {
			return nil, r.cycle(i, path)
		}
	}
	r.stack = append(r.stack, frame{n, path})
	v, m, err := r.expand(n.s, n, path)
	r.stack = r.stack[:len(r.stack)-1]
	if err == nil && m != nil {
		err = errAt(n, path, "cannot resolve %s: %s", m.text, m.reason)
	}
	if err != nil {
		r.failed[n] = err
		return nil, err
	}
	if v == nil {
		v = n
	}
	r.done[n] = v
	return v, nil
}

func (r *resolver) cycle(i int, path string) error {
	names := make([]string, 0, len(r.stack)-i+1)
	for _, f := range r.stack[i:] {
		names = append(names, f.path)
	}
	names = append(names, path)
	first := r.stack[i]
	return errAt(first.n, first.path, "variables refer to each other in a loop: %s", strings.Join(names, " -> "))
}

// expand resolves the variables of s, written at n. It returns nil, nil,
// nil when s has none.
func (r *resolver) expand(s string, n *node, path string) (*node, *miss, error) {
	segs, err := parseTemplate(s)
	if err != nil {
		return nil, nil, errAt(n, path, "%v", err)
	}
	if segs == nil {
		return nil, nil, nil
	}
	if len(segs) == 1 && segs[0].v != nil {
		return r.eval(segs[0].v, n, path)
	}
	var b strings.Builder
	for _, seg := range segs {
		if seg.v == nil {
			b.WriteString(seg.lit)
			continue
		}
		v, m, err := r.eval(seg.v, n, path)
		if err != nil || m != nil {
			return nil, m, err
		}
		text, ok := v.scalarText()
		if !ok {
			return nil, nil, errAt(n, path, "%s is %s, which cannot be part of a string", seg.v.text, v.kind)
		}
		b.WriteString(text)
		if b.Len() > maxValueLen {
			return nil, nil, errAt(n, path, "value is longer than %d bytes once variables are resolved", maxValueLen)
		}
	}
	return &node{kind: kindString, file: n.file, line: n.line, s: b.String()}, nil, nil
}

// eval returns the value of the first source of v that has one.
func (r *resolver) eval(v *variable, n *node, path string) (*node, *miss, error) {
	var first *miss
	for _, src := range v.sources {
		val, m, err := r.source(src, n, path)
		if err != nil {
			return nil, nil, err
		}
		if m == nil {
			return val, nil, nil
		}
		if m.text == "" {
			m.text = v.text
		}
		if first == nil {
			first = m
		}
	}
	return nil, first, nil
}

// source returns the value of one source of a variable written at n.
func (r *resolver) source(src *source, n *node, path string) (*node, *miss, error) {
	if src.literal != nil {
		v := *src.literal
		v.file, v.line = n.file, n.line
		return &v, nil, nil
	}
	if src.nested != nil {
		return r.eval(src.nested, n, path)
	}
	addr, m, err := r.text(src.address, n, path)
	if err != nil || m != nil {
		return nil, m, err
	}
	if src.hasParam && src.typ != "file" {
		return nil, nil, errAt(n, path, "variable source %s takes no (argument)", src.typ)
	}
	switch src.typ {
	case "self":
		v, missing, err := r.lookup(r.root, addr)
		if err != nil || v != nil {
			return v, nil, err
		}
		return nil, &miss{reason: missing + " is not set" + selfHint(missing)}, nil
	case "opt":
		var v string
		switch addr {
		case "stage":
			v = r.opts.Stage
		case "region":
			v = r.opts.Region
		}
		if v == "" {
			return nil, &miss{reason: fmt.Sprintf("option --%s was not given", addr)}, nil
		}
		return r.str(v, n), nil, nil
	case "sls":
		if addr != "stage" {
			return nil, nil, errAt(n, path, "unknown variable ${sls:%s}; cloudlet knows ${sls:stage}", addr)
		}
		s, err := r.stage()
		return r.str(s, n), nil, err
	case "env":
		if v, ok := r.opts.LookupEnv(addr); ok {
			return r.str(v, n), nil, nil
		}
		return nil, &miss{reason: fmt.Sprintf("environment variable %s is not set", addr)}, nil
	case "aws":
		switch addr {
		case "region":
			s, err := r.region()
			return r.str(s, n), nil, err
		case "accountId":
			return r.str(r.opts.AccountID, n), nil, nil
		}
		return nil, nil, errAt(n, path, "unknown variable ${aws:%s}; cloudlet knows ${aws:region} and ${aws:accountId}", addr)
	case "param":
		return r.param(addr)
	case "construct":
		return r.construct(addr, n, path)
	case "file":
		return r.file(src, addr, n, path)
	case "ssm", "s3", "cf", "secretsmanager", "terraform", "vault", "doppler":
		return nil, &miss{reason: fmt.Sprintf("${%s:...} values are not available locally; add a fallback, e.g. ${%s:%s, 'local-value'}", src.typ, src.typ, addr)}, nil
	}
	return nil, nil, errAt(n, path, "unknown variable source %q in %s", src.typ, clipVar(src))
}

func clipVar(src *source) string {
	return clip("${" + src.typ + ":" + src.address + "}")
}

func selfHint(path string) string {
	switch path {
	case "provider.stage":
		return " (${sls:stage} is the stage in use)"
	case "provider.region":
		return " (${aws:region} is the region in use)"
	}
	return ""
}

// str makes a string value placed at n.
func (r *resolver) str(s string, n *node) *node {
	return &node{kind: kindString, s: s, file: n.file, line: n.line}
}

// text resolves the variables of an address or argument, which must come
// out as plain text.
func (r *resolver) text(s string, n *node, path string) (string, *miss, error) {
	v, m, err := r.expand(s, n, path)
	if err != nil || m != nil || v == nil {
		return s, m, err
	}
	t, ok := v.scalarText()
	if !ok || v.kind == kindNull {
		return "", nil, errAt(n, path, "%s must come out as text, not %s", clip(s), v.kind)
	}
	return t, nil, nil
}

// lookup follows a dotted address (custom.tables.0.name) from root,
// resolving each value on the way. When there is no value, v is nil and
// missing is the part of the address that has none.
func (r *resolver) lookup(root *node, addr string) (v *node, missing string, err error) {
	cur, err := r.resolve(root, "")
	if err != nil {
		return nil, "", err
	}
	if addr == "" {
		return cur, "", nil
	}
	segs := strings.Split(addr, ".")
	path := ""
	for i, seg := range segs {
		path = strings.Join(segs[:i+1], ".")
		var next *node
		switch cur.kind {
		case kindMap:
			next = cur.get(seg)
		case kindSeq:
			if i, err := strconv.Atoi(seg); err == nil && i >= 0 && i < len(cur.items) {
				next = cur.items[i]
			}
		}
		if next == nil {
			return nil, path, nil
		}
		if cur, err = r.resolve(next, path); err != nil {
			return nil, "", err
		}
	}
	if cur.kind == kindNull {
		return nil, path, nil
	}
	return cur, "", nil
}

// stage is the stage in use: --stage, else provider.stage, else "dev".
func (r *resolver) stage() (string, error) {
	if r.opts.Stage != "" {
		return r.opts.Stage, nil
	}
	return r.providerText("stage", "dev")
}

// region is the region in use: --region, else provider.region, else
// "us-east-1".
func (r *resolver) region() (string, error) {
	if r.opts.Region != "" {
		return r.opts.Region, nil
	}
	return r.providerText("region", "us-east-1")
}

func (r *resolver) providerText(key, def string) (string, error) {
	v, _, err := r.lookup(r.root, "provider."+key)
	if err != nil || v == nil {
		return def, err
	}
	if s, ok := v.scalarText(); ok && s != "" {
		return s, nil
	}
	return def, nil
}

// param reads a stage parameter: params.<stage>.<key>, then
// params.default.<key> (Framework v3), or the same under stages.<stage>.params
// (v4).
func (r *resolver) param(key string) (*node, *miss, error) {
	stage, err := r.stage()
	if err != nil {
		return nil, nil, err
	}
	for _, addr := range []string{
		"params." + stage + "." + key,
		"params.default." + key,
		"stages." + stage + ".params." + key,
		"stages.default.params." + key,
	} {
		v, _, err := r.lookup(r.root, addr)
		if err != nil || v != nil {
			return v, nil, err
		}
	}
	return nil, &miss{reason: fmt.Sprintf("parameter %s is not set for stage %s (set params.%s.%s or params.default.%s)", key, stage, stage, key, key)}, nil
}

// file reads ${file(path)} or ${file(path):address}.
func (r *resolver) file(src *source, addr string, n *node, path string) (*node, *miss, error) {
	name, m, err := r.text(src.param, n, path)
	if err != nil || m != nil {
		return nil, m, err
	}
	if name != "" && (name[0] == '\'' || name[0] == '"') {
		if name, err = unquote(name); err != nil {
			return nil, nil, errAt(n, path, "${file(...)}: %v", err)
		}
	}
	if name == "" {
		return nil, nil, errAt(n, path, "${file()} needs a path, e.g. ${file(./config.yml)}")
	}
	root, err := r.readFile(name, n, path)
	if err != nil {
		return nil, nil, err
	}
	if root == nil {
		return nil, &miss{reason: fmt.Sprintf("file %s does not exist", name)}, nil
	}
	v, missing, err := r.lookup(root, addr)
	if err != nil || v != nil {
		return v, nil, err
	}
	return nil, &miss{reason: fmt.Sprintf("%s is not set in %s", missing, name)}, nil
}

// readFile parses a file named by ${file()}; it returns nil when the file
// does not exist.
func (r *resolver) readFile(name string, n *node, path string) (*node, error) {
	abs := name
	if !filepath.IsAbs(abs) {
		abs = filepath.Join(r.dir, name)
	}
	abs = filepath.Clean(abs)
	if v, ok := r.files[abs]; ok {
		return v, nil
	}
	ext := strings.ToLower(filepath.Ext(abs))
	switch ext {
	case ".js", ".cjs", ".mjs", ".ts":
		return nil, errAt(n, path, "${file(%s)}: cloudlet does not run JavaScript; use a .yml or .json file", name)
	}
	fi, err := os.Stat(abs)
	if errors.Is(err, fs.ErrNotExist) {
		r.files[abs] = nil
		return nil, nil
	}
	if err != nil {
		return nil, &Error{File: n.file, Line: n.line, Path: path, Msg: "read " + name, Err: err}
	}
	if !fi.Mode().IsRegular() {
		return nil, errAt(n, path, "${file(%s)}: not a regular file", name)
	}
	if fi.Size() > maxFileSize {
		return nil, errAt(n, path, "${file(%s)}: larger than %d bytes", name, maxFileSize)
	}
	data, err := os.ReadFile(abs)
	if err != nil {
		return nil, &Error{File: n.file, Line: n.line, Path: path, Msg: "read " + name, Err: err}
	}
	var v *node
	switch ext {
	case ".yml", ".yaml", ".json":
		if v, err = parseYAML(filepath.Base(abs), data); err != nil {
			return nil, err
		}
	default:
		// As in the Framework, any other file is plain text.
		v = &node{kind: kindString, s: string(data), file: filepath.Base(abs), line: 1}
	}
	r.files[abs] = v
	return v, nil
}
