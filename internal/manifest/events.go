package manifest

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// This file reads a function's events: http (REST API) and httpApi (HTTP
// API) routes, and stream events on DynamoDB tables (stream.go); other
// kinds of the Framework are accepted with a warning.

func (d *decoder) events(raw *node, path string) []Event {
	v, ok := d.value(raw, path)
	switch {
	case !ok || v.kind == kindNull:
		return nil
	case v.kind != kindSeq:
		d.errorf(raw, path, "must be a list of events, not %s", v.kind)
		return nil
	}
	var events []Event
	for i, item := range v.items {
		ip := fmt.Sprintf("%s[%d]", path, i)
		iv, ok := d.value(item, ip)
		if !ok {
			continue
		}
		if iv.kind != kindMap {
			d.errorf(item, ip, "must be a mapping such as http: GET /path, not %s", iv.kind)
			continue
		}
		switch len(iv.fields) {
		case 0:
			d.errorf(item, ip, "empty event; write e.g. http: GET /path")
			continue
		case 1:
		default:
			keys := make([]string, len(iv.fields))
			for k, f := range iv.fields {
				keys[k] = f.key
			}
			d.errorf(item, ip, "an event has one type, not %d (%s); indent the settings under %s",
				len(keys), strings.Join(keys, ", "), keys[0])
			continue
		}
		e := iv.fields[0]
		ep := join(ip, e.key)
		switch e.key {
		case "http":
			if h := d.http(e, ep, false); h != nil {
				events = append(events, Event{HTTP: h, Line: e.line})
			}
		case "httpApi":
			if h := d.http(e, ep, true); h != nil {
				events = append(events, Event{HTTPAPI: h, Line: e.line})
			}
		case "stream":
			if st := d.stream(e, ep); st != nil {
				events = append(events, Event{Stream: st, Line: e.line})
			}
		case "sqs":
			if q := d.sqsEvent(e, ep); q != nil {
				events = append(events, Event{SQS: q, Line: e.line})
			}
		case "schedule":
			if sc := d.scheduleEvent(e, ep); sc != nil {
				events = append(events, Event{Schedule: sc, Line: e.line})
			}
		case "s3":
			if ev := d.s3Event(e, ep); ev != nil {
				events = append(events, Event{S3: ev, Line: e.line})
			}
		default:
			if slices.Contains(eventKinds, e.key) {
				d.warnAt(e, ep, e.key+" events are "+notSupported)
				continue
			}
			msg := "unknown event type"
			if s := suggest(e.key, append([]string{"http", "httpApi", "stream", "sqs", "schedule", "s3"}, eventKinds...), nil); s != "" {
				msg += " (did you mean " + s + "?)"
			}
			d.errorAt(e, ep, "%s", msg)
		}
	}
	return events
}

// http reads an http (REST API) or, when api is set, an httpApi event.
func (d *decoder) http(f field, path string, api bool) *HTTPEvent {
	v, ok := d.value(f.val, path)
	if !ok {
		return nil
	}
	example := "GET users/{id}"
	if api {
		example = "GET /users/{id}"
	}
	var method, route string
	var methodNode, routeNode *node
	h := &HTTPEvent{}
	switch v.kind {
	case kindString:
		if api && strings.TrimSpace(v.s) == "*" {
			return &HTTPEvent{Method: "ANY", Path: "*"}
		}
		parts := strings.Fields(v.s)
		if len(parts) != 2 {
			d.errorf(f.val, path, "%q must be \"METHOD path\", e.g. %s", clip(v.s), example)
			return nil
		}
		method, route, methodNode, routeNode = parts[0], parts[1], f.val, f.val
	case kindMap:
		ign := httpIgnored
		if api {
			ign = httpAPIIgnored
		}
		valid := true
		for _, g := range v.fields {
			gp := join(path, g.key)
			switch g.key {
			case "method":
				method, ok = d.str(g.val, gp)
				methodNode, valid = g.val, valid && ok
			case "path":
				route, ok = d.str(g.val, gp)
				routeNode, valid = g.val, valid && ok
			case "cors":
				h.CORS, ok = d.cors(g.val, gp)
				valid = valid && ok
			case "integration":
				if api {
					d.unknown(g, gp, httpFields, ign)
				} else {
					d.integration(g, gp)
				}
			default:
				d.unknown(g, gp, httpFields, ign)
			}
		}
		if !valid {
			return nil
		}
		if methodNode == nil {
			d.errorAt(f, path+".method", "required, e.g. method: get")
			return nil
		}
		if routeNode == nil {
			d.errorAt(f, path+".path", "required, e.g. path: %s", strings.Fields(example)[1])
			return nil
		}
	default:
		d.errorf(f.val, path, "must be \"METHOD path\" (e.g. %s) or a mapping with method and path, not %s", example, v.kind)
		return nil
	}
	var mOK, pOK bool
	h.Method, mOK = d.method(method, methodNode, path+".method")
	h.Path, pOK = d.path(route, routeNode, path+".path", api)
	if !mOK || !pOK {
		return nil
	}
	if h.Path == "*" && h.Method != "ANY" {
		d.errorf(routeNode, path+".path", "the catch-all route * takes every method; use method: '*'")
		return nil
	}
	return h
}

func (d *decoder) method(m string, n *node, path string) (string, bool) {
	m = strings.ToUpper(m)
	if m == "*" {
		m = "ANY"
	}
	if !slices.Contains(methods, m) {
		d.errorf(n, path, "unsupported method %q (use %s or *)", clip(m), strings.Join(methods, ", "))
		return "", false
	}
	return m, true
}

// path normalizes a route path to start with "/".
func (d *decoder) path(p string, n *node, path string, api bool) (string, bool) {
	p = strings.TrimSpace(p)
	if p == "*" && api {
		return p, true
	}
	if strings.ContainsAny(p, " \t\n?#*") {
		d.errorf(n, path, "%q is not a valid path: it may not hold spaces, ?, # or *", clip(p))
		return "", false
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	if strings.Contains(p, "//") {
		d.errorf(n, path, "%q has an empty path segment", clip(p))
		return "", false
	}
	for _, seg := range strings.Split(p[1:], "/") {
		open, close := strings.Count(seg, "{"), strings.Count(seg, "}")
		if open == 0 && close == 0 {
			continue
		}
		if open != 1 || close != 1 || seg[0] != '{' || seg[len(seg)-1] != '}' || len(seg) == 2 {
			d.errorf(n, path, "%q: a path parameter is a whole segment, e.g. /users/{id}", clip(p))
			return "", false
		}
	}
	return p, true
}

func (d *decoder) cors(raw *node, path string) (bool, bool) {
	v, ok := d.value(raw, path)
	if !ok {
		return false, false
	}
	switch v.kind {
	case kindBool:
		return v.b, true
	case kindMap:
		return true, true
	case kindString:
		if b, err := strconv.ParseBool(v.s); err == nil {
			return b, true
		}
	}
	d.errorf(raw, path, "must be true, false or a mapping of CORS settings, not %s", v.kind)
	return false, false
}

// integration accepts the proxy integrations Cloudlet serves; lambda
// (request/response templates) would change what the function receives.
func (d *decoder) integration(f field, path string) {
	s, ok := d.str(f.val, path)
	if !ok {
		return
	}
	switch strings.ToLower(s) {
	case "lambda-proxy", "aws_proxy", "aws-proxy":
	case "lambda", "aws", "http", "http-proxy", "http_proxy", "mock":
		d.warnAt(f, path, fmt.Sprintf("integration %s is %s; the function gets the lambda-proxy event", s, notSupported))
	default:
		d.errorf(f.val, path, "unknown integration %q", clip(s))
	}
}
