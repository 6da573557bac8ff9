package gateway

import (
	"errors"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Kind says which API Gateway flavour a route belongs to, and so which Lambda
// proxy payload format its function receives. The zero Kind is invalid, so a
// Route whose Kind was forgotten is rejected by SetRoutes.
type Kind int

const (
	// REST is an API Gateway REST API (the serverless `http` event), payload
	// format 1.0. Its routes answer at their declared path and under /<stage>.
	REST Kind = iota + 1
	// HTTPAPI is an API Gateway HTTP API (the serverless `httpApi` event),
	// payload format 2.0, served at the declared path only.
	HTTPAPI
)

func (k Kind) String() string {
	switch k {
	case REST:
		return "REST"
	case HTTPAPI:
		return "HTTPAPI"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Route sends the requests that match Method and Path to Function.
type Route struct {
	Kind Kind
	// Method is GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS or ANY ("*" is
	// taken as ANY).
	Method string
	// Path is "/user/{id}", "/files/{proxy+}" (greedy, last segment only) or,
	// for HTTPAPI with method ANY, "*": the $default route that catches what
	// no other route matches.
	Path     string
	Function string // full function name, passed to the Invoker
	// CORS answers OPTIONS preflights for Path and adds
	// Access-Control-Allow-Origin: * to responses that lack it.
	CORS bool
}

// Config is the deployment the routes belong to.
type Config struct {
	Stage     string // REST stage, e.g. "dev"; default "dev"
	Region    string // default "us-east-1"
	AccountID string // default "000000000000"
	// APIID is the API id reported in requestContext. When set, domainName is
	// <APIID>.execute-api.<Region>.amazonaws.com as on AWS; when empty, apiId is
	// "local" and domainName is the Host the client called, so that functions
	// building absolute URLs from it point back at this gateway.
	APIID string
}

const (
	methodAny  = "ANY"
	pathAny    = "*"
	defaultKey = "$default"
	// maxParams bounds the variable parts of one route, so a match's captures
	// fit in a fixed array and matching allocates nothing.
	maxParams = 16
	// corsAllowHeaders is what the Serverless Framework puts in preflight
	// responses when `cors: true`.
	corsAllowHeaders = "Content-Type,X-Amz-Date,Authorization,X-Api-Key,X-Amz-Security-Token,X-Amz-User-Agent"
)

var methods = []string{"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"}

// route is a validated Route with what serving it needs precomputed.
type route struct {
	Route
	routeKey   string   // "GET /users/{id}" or "$default"
	params     []string // names of the variable parts, in path order
	resourceID string   // fake REST resource id, stable per path
	// preflight marks a synthetic route that answers CORS preflights
	// itself; corsMethods is its Access-Control-Allow-Methods.
	preflight   bool
	corsMethods string
}

// node is one segment position of the routing trie. Matching tries literal
// children, then the {param} child, then the {proxy+} child, backtracking
// when a more specific branch has no route for the method.
type node struct {
	lits   []edge
	litMap map[string]*node // replaces lits when there are many
	param  *node
	proxy  *node
	ends   []*route // routes ending here, any kind
	// Synthetic preflight routes: from every CORS route ending here, or
	// from the REST ones only (for /<stage>/… lookups).
	preflightAll  *route
	preflightREST *route
}

type edge struct {
	seg string
	n   *node
}

// table is an immutable routing table; SetRoutes swaps whole tables.
type table struct {
	cfg          Config
	stagePrefix  string // "/dev"
	apiID        string
	domainName   string // "" means the request's Host
	domainPrefix string
	root         *node
	catchAll     *route // HTTP API $default, if any
	catchAllPre  *route // its preflight, if it has CORS
	hasHTTPAPI   bool
	hasREST      bool
}

// span is the byte range of a captured path parameter in match.path.
type span struct{ start, end int }

// match is the outcome of a lookup; it lives on the caller's stack.
type match struct {
	path     string // the normalized path the captures index into
	stripped bool   // the request came as /<stage>/…
	caps     [maxParams]span
}

func (m *match) param(i int) string { return m.path[m.caps[i].start:m.caps[i].end] }

func newTable(cfg Config, routes []Route) (*table, error) {
	if cfg.Stage == "" {
		cfg.Stage = "dev"
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.AccountID == "" {
		cfg.AccountID = "000000000000"
	}
	var errs []error
	if strings.ContainsAny(cfg.Stage, "/?#%{} ") {
		errs = append(errs, fmt.Errorf("%w: stage %q must be a single path segment", ErrInvalidConfig, cfg.Stage))
	}
	t := &table{cfg: cfg, stagePrefix: "/" + cfg.Stage, apiID: cfg.APIID, root: &node{}}
	if cfg.APIID != "" {
		t.domainPrefix = cfg.APIID
		t.domainName = cfg.APIID + ".execute-api." + cfg.Region + ".amazonaws.com"
	} else {
		t.apiID = "local"
	}

	type key struct{ shape, method string }
	seen := make(map[key]*route, len(routes))
	for i, in := range routes {
		r, shape, err := compileRoute(in)
		if err != nil {
			errs = append(errs, fmt.Errorf("route %d (%s %s, function %q): %w", i, in.Method, in.Path, in.Function, err))
			continue
		}
		k := key{shape, r.Method}
		if prev, ok := seen[k]; ok {
			if prev.Route == r.Route {
				continue // the same route declared twice does no harm
			}
			errs = append(errs, fmt.Errorf("%w: route %d (%s %s %s → %s) and %s %s %s → %s answer the same requests",
				ErrRouteConflict, i, r.Kind, r.Method, r.Path, r.Function, prev.Kind, prev.Method, prev.Path, prev.Function))
			continue
		}
		seen[k] = r
		if r.Kind == HTTPAPI {
			t.hasHTTPAPI = true
		} else {
			t.hasREST = true
		}
		if r.Path == pathAny {
			t.catchAll = r
			if r.CORS {
				t.catchAllPre = newPreflight(r, methods)
			}
			continue
		}
		t.insert(r)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	t.root.finish()
	return t, nil
}

// compileRoute validates and normalizes in. shape is its path with parameter
// names erased, so /user/{id} and /user/{name} collide.
func compileRoute(in Route) (*route, string, error) {
	r := &route{Route: in}
	if in.Kind != REST && in.Kind != HTTPAPI {
		return nil, "", fmt.Errorf("%w: kind %v is neither REST nor HTTPAPI", ErrInvalidRoute, in.Kind)
	}
	if in.Function == "" {
		return nil, "", fmt.Errorf("%w: no function", ErrInvalidRoute)
	}
	m := strings.ToUpper(in.Method)
	if m == "*" {
		m = methodAny
	}
	if m != methodAny && !slices.Contains(methods, m) {
		return nil, "", fmt.Errorf("%w: method %q is not one of %s or ANY", ErrInvalidRoute, in.Method, strings.Join(methods, ", "))
	}
	r.Method = m
	if in.Path == pathAny {
		if in.Kind != HTTPAPI || m != methodAny {
			return nil, "", fmt.Errorf("%w: path \"*\" is only for an httpApi route with any method", ErrInvalidRoute)
		}
		r.routeKey = defaultKey
		return r, pathAny, nil
	}
	if !strings.HasPrefix(in.Path, "/") {
		return nil, "", fmt.Errorf("%w: path %q must start with \"/\"", ErrInvalidRoute, in.Path)
	}
	p := in.Path
	if len(p) > 1 {
		p = strings.TrimSuffix(p, "/")
	}
	r.Path = p
	var shape strings.Builder
	if p != "/" {
		segs := strings.Split(p[1:], "/")
		for i, seg := range segs {
			shape.WriteByte('/')
			name, greedy, isParam, err := parseSegment(seg)
			if err != nil {
				return nil, "", err
			}
			if !isParam {
				shape.WriteString(seg)
				continue
			}
			if greedy {
				if i != len(segs)-1 {
					return nil, "", fmt.Errorf("%w: greedy parameter {%s+} must be the last segment", ErrInvalidRoute, name)
				}
				shape.WriteString("{+}")
			} else {
				shape.WriteString("{}")
			}
			if slices.Contains(r.params, name) {
				return nil, "", fmt.Errorf("%w: parameter {%s} appears twice", ErrInvalidRoute, name)
			}
			r.params = append(r.params, name)
		}
		if len(r.params) > maxParams {
			return nil, "", fmt.Errorf("%w: %d path parameters, at most %d are supported", ErrInvalidRoute, len(r.params), maxParams)
		}
	} else {
		shape.WriteByte('/')
	}
	r.routeKey = m + " " + p
	h := fnv.New32a()
	h.Write([]byte(p))
	r.resourceID = base36(h.Sum32(), 6)
	return r, shape.String(), nil
}

func parseSegment(seg string) (name string, greedy, isParam bool, err error) {
	if seg == "" {
		return "", false, false, fmt.Errorf("%w: empty path segment (\"//\")", ErrInvalidRoute)
	}
	if seg[0] != '{' {
		if strings.ContainsAny(seg, "{}") {
			return "", false, false, fmt.Errorf("%w: segment %q mixes text and a parameter; a parameter must be a whole segment", ErrInvalidRoute, seg)
		}
		return "", false, false, nil
	}
	if len(seg) < 3 || seg[len(seg)-1] != '}' {
		return "", false, false, fmt.Errorf("%w: segment %q is not a parameter like {id}", ErrInvalidRoute, seg)
	}
	name = seg[1 : len(seg)-1]
	if strings.HasSuffix(name, "+") {
		greedy = true
		name = name[:len(name)-1]
	}
	if name == "" || strings.ContainsAny(name, "{}+") {
		return "", false, false, fmt.Errorf("%w: segment %q is not a parameter like {id}", ErrInvalidRoute, seg)
	}
	return name, greedy, true, nil
}

func (t *table) insert(r *route) {
	n := t.root
	if r.Path != "/" {
		for _, seg := range strings.Split(r.Path[1:], "/") {
			_, greedy, isParam, _ := parseSegment(seg) // validated by compileRoute
			switch {
			case !isParam:
				n = n.literalChild(seg)
			case greedy:
				if n.proxy == nil {
					n.proxy = &node{}
				}
				n = n.proxy
			default:
				if n.param == nil {
					n.param = &node{}
				}
				n = n.param
			}
		}
	}
	n.ends = append(n.ends, r)
}

func (n *node) literalChild(seg string) *node {
	for _, e := range n.lits {
		if e.seg == seg {
			return e.n
		}
	}
	c := &node{}
	n.lits = append(n.lits, edge{seg, c})
	return c
}

// finish precomputes preflight routes and lookup maps, depth first.
func (n *node) finish() {
	if len(n.lits) > 8 {
		n.litMap = make(map[string]*node, len(n.lits))
		for _, e := range n.lits {
			n.litMap[e.seg] = e.n
		}
	}
	var all, rest []string
	var first, firstREST *route
	for _, r := range n.ends {
		if !r.CORS {
			continue
		}
		ms := []string{r.Method}
		if r.Method == methodAny {
			ms = methods
		}
		all = append(all, ms...)
		if first == nil {
			first = r
		}
		if r.Kind == REST {
			rest = append(rest, ms...)
			if firstREST == nil {
				firstREST = r
			}
		}
	}
	if first != nil {
		n.preflightAll = newPreflight(first, all)
	}
	if firstREST != nil {
		n.preflightREST = newPreflight(firstREST, rest)
	}
	for _, e := range n.lits {
		e.n.finish()
	}
	for _, c := range []*node{n.param, n.proxy} {
		if c != nil {
			c.finish()
		}
	}
}

func newPreflight(from *route, ms []string) *route {
	ms = slices.DeleteFunc(slices.Clone(ms), func(m string) bool { return m == http.MethodOptions })
	slices.Sort(ms)
	ms = slices.Compact(ms)
	p := *from
	p.Method = http.MethodOptions
	p.preflight = true
	p.corsMethods = strings.Join(append([]string{http.MethodOptions}, ms...), ",")
	return &p
}

// lookup finds the route for a request path (escaped, as received) and
// method. REST routes are tried first under the stage prefix, then every
// route at the path as given, then the HTTP API $default route.
func (t *table) lookup(path, method string, m *match) *route {
	if path == "" {
		path = "/"
	}
	if path[0] != '/' {
		return nil
	}
	norm := path
	if strings.HasSuffix(norm, "/") {
		norm = norm[:len(norm)-1] // "/" becomes "", the root
	}
	if rest, ok := t.cutStage(norm); ok {
		if r := t.root.find(rest, 0, 0, method, true, m); r != nil {
			m.path, m.stripped = rest, true
			return r
		}
	}
	if r := t.root.find(norm, 0, 0, method, false, m); r != nil {
		m.path = norm
		return r
	}
	if t.catchAll != nil {
		if method == http.MethodOptions && t.catchAllPre != nil {
			return t.catchAllPre
		}
		return t.catchAll
	}
	return nil
}

// cutStage removes the /<stage> prefix of path, if it has one.
func (t *table) cutStage(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, t.stagePrefix)
	return rest, ok && (rest == "" || rest[0] == '/')
}

// underStage reports whether path is under the /<stage> prefix.
func (t *table) underStage(path string) bool {
	_, ok := t.cutStage(path)
	return ok
}

// find matches path[pos:], which is empty or starts with '/', below n; k is
// the number of parameters captured so far. It allocates only to unescape a
// segment holding %XX that matches no literal as it is.
func (n *node) find(path string, pos, k int, method string, restOnly bool, m *match) *route {
	if pos >= len(path) {
		return n.endpoint(method, restOnly)
	}
	start := pos + 1
	end := len(path)
	if i := strings.IndexByte(path[start:], '/'); i >= 0 {
		end = start + i
	}
	seg := path[start:end]
	if c := n.child(seg); c != nil {
		if r := c.find(path, end, k, method, restOnly, m); r != nil {
			return r
		}
	}
	if k >= maxParams {
		return nil
	}
	if n.param != nil && seg != "" {
		if r := n.param.find(path, end, k+1, method, restOnly, m); r != nil {
			m.caps[k] = span{start, end}
			return r
		}
	}
	if n.proxy != nil && start < len(path) {
		if r := n.proxy.endpoint(method, restOnly); r != nil {
			m.caps[k] = span{start, len(path)}
			return r
		}
	}
	return nil
}

func (n *node) child(seg string) *node {
	if c := n.literal(seg); c != nil {
		return c
	}
	// A client may escape characters of a literal segment (/caf%C3%A9).
	if strings.IndexByte(seg, '%') >= 0 {
		if u, err := url.PathUnescape(seg); err == nil {
			return n.literal(u)
		}
	}
	return nil
}

func (n *node) literal(seg string) *node {
	if n.litMap != nil {
		return n.litMap[seg]
	}
	for _, e := range n.lits {
		if e.seg == seg {
			return e.n
		}
	}
	return nil
}

// endpoint picks the route ending at n for method: the method itself, then
// for OPTIONS a CORS preflight, then ANY.
func (n *node) endpoint(method string, restOnly bool) *route {
	var anyMethod *route
	for _, r := range n.ends {
		if restOnly && r.Kind != REST {
			continue
		}
		if r.Method == method {
			return r
		}
		if r.Method == methodAny {
			anyMethod = r
		}
	}
	if method == http.MethodOptions {
		p := n.preflightAll
		if restOnly {
			p = n.preflightREST
		}
		if p != nil {
			return p
		}
	}
	return anyMethod
}

func base36(v uint32, n int) string {
	const digits = "0123456789abcdefghijklmnopqrstuvwxyz"
	b := make([]byte, n)
	for i := n - 1; i >= 0; i-- {
		b[i] = digits[v%36]
		v /= 36
	}
	return string(b)
}
