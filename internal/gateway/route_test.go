package gateway

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"strings"
	"testing"
)

var routingRoutes = []Route{
	{Kind: REST, Method: "GET", Path: "/", Function: "root"},
	{Kind: REST, Method: "GET", Path: "/hello", Function: "hello"},
	{Kind: REST, Method: "GET", Path: "/user/{id}", Function: "user"},
	{Kind: REST, Method: "GET", Path: "/user/me", Function: "me"},
	{Kind: REST, Method: "POST", Path: "/user/{id}", Function: "userPost"},
	{Kind: REST, Method: "ANY", Path: "/user/{id}/things", Function: "things"},
	{Kind: REST, Method: "GET", Path: "/user/{id}/things", Function: "thingsGet"},
	{Kind: REST, Method: "GET", Path: "/files/{proxy+}", Function: "files"},
	{Kind: REST, Method: "GET", Path: "/a/b", Function: "ab"},
	{Kind: REST, Method: "GET", Path: "/a/{x}/c", Function: "axc"},
	{Kind: REST, Method: "GET", Path: "/caf\u00e9", Function: "cafe"},
	{Kind: HTTPAPI, Method: "GET", Path: "/api/items/{id}", Function: "item"},
	{Kind: HTTPAPI, Method: "*", Path: "/api/{proxy+}", Function: "api"},
	{Kind: HTTPAPI, Method: "get", Path: "/trailing/", Function: "trailing"},
	{Kind: HTTPAPI, Method: "ANY", Path: "*", Function: "default"},
}

func TestLookup(t *testing.T) {
	tbl, err := newTable(testConfig, routingRoutes)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		method, path string
		function     string // "" for no route
		params       map[string]string
		stripped     bool
	}{
		{"GET", "/", "root", nil, false},
		{"GET", "", "root", nil, false},
		{"GET", "/dev", "root", nil, true},
		{"GET", "/dev/", "root", nil, true},
		{"GET", "/hello", "hello", nil, false},
		{"GET", "/hello/", "hello", nil, false},
		{"GET", "/dev/hello", "hello", nil, true},
		{"GET", "/dev/hello/", "hello", nil, true},
		{"GET", "/h%65llo", "hello", nil, false},
		{"GET", "/caf%C3%A9", "cafe", nil, false},
		{"GET", "/user/me", "me", nil, false},
		{"GET", "/user/42", "user", map[string]string{"id": "42"}, false},
		{"GET", "/user/a%2Fb", "user", map[string]string{"id": "a%2Fb"}, false},
		{"POST", "/user/me", "userPost", map[string]string{"id": "me"}, false}, // backtracks for the method
		{"DELETE", "/user/42/things", "things", map[string]string{"id": "42"}, false},
		{"GET", "/user/42/things", "thingsGet", map[string]string{"id": "42"}, false}, // method beats ANY
		{"GET", "/files/a", "files", map[string]string{"proxy": "a"}, false},
		{"GET", "/files/a/b/c.txt", "files", map[string]string{"proxy": "a/b/c.txt"}, false},
		{"GET", "/files/a//b", "files", map[string]string{"proxy": "a//b"}, false},
		{"GET", "/dev/files/x/y", "files", map[string]string{"proxy": "x/y"}, true},
		{"GET", "/files", "default", nil, false},  // greedy needs a segment
		{"GET", "/files/", "default", nil, false}, // idem
		{"GET", "/a/b", "ab", nil, false},
		{"GET", "/a/b/c", "axc", map[string]string{"x": "b"}, false}, // literal b has no c below: backtrack
		{"GET", "/api/items/7", "item", map[string]string{"id": "7"}, false},
		{"POST", "/api/items/7", "api", map[string]string{"proxy": "items/7"}, false},
		{"GET", "/trailing", "trailing", nil, false},
		{"GET", "/trailing/", "trailing", nil, false},
		{"GET", "/dev/api/items/7", "default", nil, false}, // HTTP APIs have no stage prefix
		{"GET", "/dev/trailing", "default", nil, false},
		{"PUT", "/nothing/here", "default", nil, false},
		{"GET", "/user//", "default", nil, false},
		{"GET", "*", "", nil, false},
		{"GET", "relative", "", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			var m match
			r := tbl.lookup(tc.path, tc.method, &m)
			if tc.function == "" {
				if r != nil {
					t.Fatalf("matched %s, want no route", r.routeKey)
				}
				return
			}
			if r == nil {
				t.Fatalf("no route, want %s", tc.function)
			}
			if r.Function != tc.function {
				t.Fatalf("function = %s (%s), want %s", r.Function, r.routeKey, tc.function)
			}
			got := map[string]string{}
			for i, name := range r.params {
				got[name] = m.param(i)
			}
			if len(got) == 0 {
				got = nil
			}
			if !maps.Equal(got, tc.params) {
				t.Errorf("params = %v, want %v", got, tc.params)
			}
			if m.stripped != tc.stripped {
				t.Errorf("stripped = %v, want %v", m.stripped, tc.stripped)
			}
		})
	}
}

func TestLookupWithoutCatchAll(t *testing.T) {
	tbl, err := newTable(Config{}, routingRoutes[:len(routingRoutes)-1])
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/nothing", "/files", "/user/1/2", "/dev/api/items/1", "/hello/x"} {
		var m match
		if r := tbl.lookup(p, "GET", &m); r != nil {
			t.Errorf("GET %s matched %s, want no route", p, r.routeKey)
		}
	}
	var m match
	if r := tbl.lookup("/hello", "POST", &m); r != nil {
		t.Errorf("POST /hello matched %s, want no route", r.routeKey)
	}
}

func TestLookupManyLiterals(t *testing.T) {
	var routes []Route
	for i := range 20 {
		routes = append(routes, Route{Kind: HTTPAPI, Method: "GET", Path: fmt.Sprintf("/r%d/x", i), Function: fmt.Sprint(i)})
	}
	tbl, err := newTable(Config{}, routes)
	if err != nil {
		t.Fatal(err)
	}
	if tbl.root.litMap == nil {
		t.Fatal("20 literal children should use a map")
	}
	for i := range 20 {
		var m match
		r := tbl.lookup(fmt.Sprintf("/r%d/x", i), "GET", &m)
		if r == nil || r.Function != fmt.Sprint(i) {
			t.Fatalf("/r%d/x matched %v", i, r)
		}
	}
	var m match
	if r := tbl.lookup("/r99/x", "GET", &m); r != nil {
		t.Fatalf("/r99/x matched %s", r.routeKey)
	}
}

func TestLookupAllocates(t *testing.T) {
	tbl, err := newTable(testConfig, routingRoutes)
	if err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		var m match
		for _, p := range []string{"/dev/user/42/things", "/files/a/b/c", "/a/b/c", "/api/x/y"} {
			if tbl.lookup(p, "GET", &m) == nil {
				panic("no match for " + p)
			}
		}
	})
	if allocs != 0 {
		t.Errorf("lookup allocates %v times, want 0", allocs)
	}
}

// TestLookupDeepestParams: a route with the most parameters still backtracks
// cleanly when the path goes on past it.
func TestLookupDeepestParams(t *testing.T) {
	tbl, err := newTable(Config{}, []Route{{Kind: HTTPAPI, Method: "GET", Path: manyParams(maxParams) + "/x", Function: "deep"}})
	if err != nil {
		t.Fatal(err)
	}
	path := strings.Repeat("/v", maxParams)
	var m match
	if r := tbl.lookup(path+"/x", "GET", &m); r == nil || m.param(maxParams-1) != "v" {
		t.Fatalf("%s/x: %v", path, r)
	}
	for _, p := range []string{path + "/y", path + "/x/z"} {
		if r := tbl.lookup(p, "GET", &m); r != nil {
			t.Errorf("%s matched %s", p, r.routeKey)
		}
	}
}

func TestRouteKeys(t *testing.T) {
	tbl, err := newTable(testConfig, routingRoutes)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"/api/items/1": "GET /api/items/{id}", "/api/x": "ANY /api/{proxy+}", "/zzz": "$default"}
	for p, key := range want {
		var m match
		if r := tbl.lookup(p, "GET", &m); r == nil || r.routeKey != key {
			t.Errorf("GET %s: route key %v, want %q", p, r, key)
		}
	}
}

func TestSetRoutesErrors(t *testing.T) {
	ok := Route{Kind: REST, Method: "GET", Path: "/ok", Function: "f"}
	tests := []struct {
		name   string
		cfg    Config
		routes []Route
		want   error
		text   string
	}{
		{"no kind", Config{}, []Route{{Method: "GET", Path: "/x", Function: "f"}}, ErrInvalidRoute, "neither REST nor HTTPAPI"},
		{"no function", Config{}, []Route{{Kind: REST, Method: "GET", Path: "/x"}}, ErrInvalidRoute, "no function"},
		{"bad method", Config{}, []Route{{Kind: REST, Method: "FETCH", Path: "/x", Function: "f"}}, ErrInvalidRoute, `method "FETCH"`},
		{"relative path", Config{}, []Route{{Kind: REST, Method: "GET", Path: "x", Function: "f"}}, ErrInvalidRoute, "must start with"},
		{"REST catch-all", Config{}, []Route{{Kind: REST, Method: "ANY", Path: "*", Function: "f"}}, ErrInvalidRoute, `path "*"`},
		{"GET catch-all", Config{}, []Route{{Kind: HTTPAPI, Method: "GET", Path: "*", Function: "f"}}, ErrInvalidRoute, `path "*"`},
		{"empty segment", Config{}, []Route{{Kind: REST, Method: "GET", Path: "/a//b", Function: "f"}}, ErrInvalidRoute, "empty path segment"},
		{"empty param", Config{}, []Route{{Kind: REST, Method: "GET", Path: "/a/{}", Function: "f"}}, ErrInvalidRoute, "not a parameter"},
		{"empty greedy", Config{}, []Route{{Kind: REST, Method: "GET", Path: "/a/{+}", Function: "f"}}, ErrInvalidRoute, "not a parameter"},
		{"unclosed", Config{}, []Route{{Kind: REST, Method: "GET", Path: "/a/{id", Function: "f"}}, ErrInvalidRoute, "not a parameter"},
		{"mixed segment", Config{}, []Route{{Kind: REST, Method: "GET", Path: "/a/x{id}", Function: "f"}}, ErrInvalidRoute, "mixes text"},
		{"two params in a segment", Config{}, []Route{{Kind: REST, Method: "GET", Path: "/a/{x}{y}", Function: "f"}}, ErrInvalidRoute, "not a parameter"},
		{"greedy not last", Config{}, []Route{{Kind: REST, Method: "GET", Path: "/{p+}/x", Function: "f"}}, ErrInvalidRoute, "last segment"},
		{"duplicate param", Config{}, []Route{{Kind: REST, Method: "GET", Path: "/{id}/{id}", Function: "f"}}, ErrInvalidRoute, "appears twice"},
		{"too many params", Config{}, []Route{{Kind: REST, Method: "GET", Path: strings.Repeat("/{p}", 1) + manyParams(17), Function: "f"}}, ErrInvalidRoute, "at most 16"},
		{"bad stage", Config{Stage: "a/b"}, []Route{ok}, ErrInvalidConfig, "single path segment"},
		{"conflict by param name", Config{}, []Route{
			{Kind: REST, Method: "GET", Path: "/user/{id}", Function: "a"},
			{Kind: REST, Method: "GET", Path: "/user/{name}", Function: "b"},
		}, ErrRouteConflict, "answer the same requests"},
		{"conflict across kinds", Config{}, []Route{
			{Kind: REST, Method: "GET", Path: "/x", Function: "a"},
			{Kind: HTTPAPI, Method: "GET", Path: "/x/", Function: "a"},
		}, ErrRouteConflict, "answer the same requests"},
		{"conflict on ANY", Config{}, []Route{
			{Kind: REST, Method: "ANY", Path: "/x", Function: "a"},
			{Kind: REST, Method: "*", Path: "/x", Function: "b"},
		}, ErrRouteConflict, "answer the same requests"},
		{"two catch-alls", Config{}, []Route{
			{Kind: HTTPAPI, Method: "ANY", Path: "*", Function: "a"},
			{Kind: HTTPAPI, Method: "ANY", Path: "*", Function: "b"},
		}, ErrRouteConflict, "answer the same requests"},
		{"conflict by CORS", Config{}, []Route{
			{Kind: REST, Method: "GET", Path: "/x", Function: "a", CORS: true},
			{Kind: REST, Method: "GET", Path: "/x", Function: "a"},
		}, ErrRouteConflict, "answer the same requests"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newTestGateway(t, &fakeInvoker{}, ok)
			err := g.SetRoutes(tc.cfg, tc.routes)
			if !errors.Is(err, tc.want) {
				t.Fatalf("error = %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.text) {
				t.Errorf("error %q does not mention %q", err, tc.text)
			}
			// The failed SetRoutes left the old table serving.
			if w := serve(g, request{method: "GET", target: "/ok"}); w.Code != 200 {
				t.Errorf("old route answers %d after a failed SetRoutes", w.Code)
			}
		})
	}
}

func manyParams(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "/{p%d}", i)
	}
	return b.String()
}

func TestSetRoutesReportsEveryError(t *testing.T) {
	_, err := newTable(Config{}, []Route{
		{Kind: REST, Method: "GET", Path: "x", Function: "f"},
		{Kind: REST, Method: "GET", Path: "/ok", Function: "f"},
		{Kind: REST, Method: "BREW", Path: "/y", Function: "f"},
	})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"route 0 (GET x", "route 2 (BREW /y"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestSetRoutesToleratesIdenticalDuplicates(t *testing.T) {
	r := Route{Kind: REST, Method: "GET", Path: "/x", Function: "a", CORS: true}
	r2 := r
	r2.Path = "/x/"
	r2.Method = "get"
	if _, err := newTable(Config{}, []Route{r, r2}); err != nil {
		t.Fatal(err)
	}
}

func TestConfigDefaults(t *testing.T) {
	tbl, err := newTable(Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Stage: "dev", Region: "us-east-1", AccountID: "000000000000"}
	if tbl.cfg != want || tbl.apiID != "local" || tbl.stagePrefix != "/dev" {
		t.Errorf("defaults: %+v apiID %q prefix %q", tbl.cfg, tbl.apiID, tbl.stagePrefix)
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{REST: "REST", HTTPAPI: "HTTPAPI", 0: "Kind(0)", 7: "Kind(7)"} {
		if k.String() != want {
			t.Errorf("%d.String() = %q, want %q", int(k), k.String(), want)
		}
	}
}

// FuzzLookup checks that matching never panics, and that a match's
// parameters put back into its route's path give the path that matched.
func FuzzLookup(f *testing.F) {
	for _, s := range []string{"/", "/dev/user/42/things", "/files/a/b", "/a/b/c", "/api/x", "//", "/user/%zz", "/caf%C3%A9", "/dev", "/files//", "*"} {
		f.Add("GET", s)
	}
	f.Add("OPTIONS", "/user/1")
	tbl, err := newTable(testConfig, append(routingRoutes, Route{Kind: REST, Method: "GET", Path: "/cors/{id}", Function: "c", CORS: true}))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, method, path string) {
		var m match
		r := tbl.lookup(path, method, &m)
		if r == nil || r.Path == pathAny {
			return
		}
		norm := strings.TrimSuffix(path, "/")
		if m.path != norm && !(m.stripped && tbl.stagePrefix+m.path == norm) {
			t.Fatalf("matched path %q is not %q without its stage", m.path, norm)
		}
		if r.Path == "/" {
			if m.path != "" {
				t.Fatalf("root matched %q", m.path)
			}
			return
		}
		// Rebuild the path from the route's template and the captures.
		var rebuilt []string
		k := 0
		for _, seg := range strings.Split(r.Path[1:], "/") {
			if strings.HasPrefix(seg, "{") {
				v := m.param(k)
				k++
				if v == "" || (!strings.HasSuffix(seg, "+}") && strings.Contains(v, "/")) {
					t.Fatalf("param %s = %q", seg, v)
				}
				rebuilt = append(rebuilt, strings.Split(v, "/")...)
				continue
			}
			rebuilt = append(rebuilt, seg)
		}
		got := strings.Split(m.path[1:], "/")
		if len(got) != len(rebuilt) {
			t.Fatalf("route %s with params rebuilds %q, matched %q", r.routeKey, rebuilt, m.path)
		}
		for i := range got {
			if got[i] == rebuilt[i] {
				continue
			}
			if u, err := url.PathUnescape(got[i]); err != nil || u != rebuilt[i] {
				t.Fatalf("route %s with params rebuilds %q, matched %q", r.routeKey, rebuilt, m.path)
			}
		}
	})
}
