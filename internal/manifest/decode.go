package manifest

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/cloudlet/cloudlet/internal/iam"
)

// decoder checks a resolved document against what Cloudlet reads and
// builds the Project. It keeps going after a problem so that one load
// reports every problem of the file.
type decoder struct {
	r        *resolver
	errs     []error
	warnings []string
	// badRuntime: provider.runtime was given but is not one Cloudlet runs
	// (already reported; functions without their own are not "missing" one).
	badRuntime bool
	// IAM declarations: the provider's, and each function's own (iam.go).
	provIAM iamDecl
	fnIAM   map[string]*iamDecl
	unnamed string // set by physicalName for a name it could not evaluate
	// dests are destinations naming a function by its key, resolved once
	// every function is read (asyncconfig.go).
	dests []destination
	// liftStatements are the permissions the constructs give every
	// function (lift.go).
	liftStatements []*iam.Statement
}

func (d *decoder) fail(err error) {
	if !slices.Contains(d.errs, err) {
		d.errs = append(d.errs, err)
	}
}

func (d *decoder) errorf(n *node, path, format string, args ...any) {
	d.fail(errAt(n, path, format, args...))
}

func (d *decoder) errorAt(f field, path, format string, args ...any) {
	d.fail(&Error{File: f.val.file, Line: f.line, Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (d *decoder) warnAt(f field, path, msg string) {
	d.warnings = append(d.warnings, (&Error{File: f.val.file, Line: f.line, Path: path, Msg: msg}).Error())
}

// join appends key to a field path, quoting keys that would make the
// path ambiguous or span lines.
func join(path, key string) string {
	plain := key != ""
	for _, r := range key {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) || r == '.' || r == '"' || r == '[' {
			plain = false
			break
		}
	}
	if !plain {
		key = strconv.Quote(key)
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// value resolves raw; ok is false when that failed (and was reported).
func (d *decoder) value(raw *node, path string) (*node, bool) {
	v, err := d.r.resolve(raw, path)
	if err != nil {
		d.fail(err)
		return nil, false
	}
	return v, true
}

// mapping resolves raw to a mapping; null counts as an empty one.
func (d *decoder) mapping(raw *node, path, want string) ([]field, bool) {
	v, ok := d.value(raw, path)
	switch {
	case !ok:
		return nil, false
	case v.kind == kindNull:
		return nil, true
	case v.kind != kindMap:
		d.errorf(raw, path, "must be a mapping of %s, not %s", want, v.kind)
		return nil, false
	}
	return v.fields, true
}

func (d *decoder) str(raw *node, path string) (string, bool) {
	v, ok := d.value(raw, path)
	if !ok {
		return "", false
	}
	if v.kind != kindString {
		d.errorf(raw, path, "must be a string, not %s", v.kind)
		return "", false
	}
	return v.s, true
}

// integer reads a whole number in [lo, hi]. Digits in a string are
// accepted, as values from ${env:...} are strings.
func (d *decoder) integer(raw *node, path string, lo, hi int64) (int, bool) {
	v, ok := d.value(raw, path)
	if !ok {
		return 0, false
	}
	var i int64
	switch v.kind {
	case kindInt:
		i = v.i
	case kindFloat:
		if v.f != math.Trunc(v.f) || math.Abs(v.f) > 1<<53 {
			d.errorf(raw, path, "must be a whole number, not %s", formatNumber(v.f))
			return 0, false
		}
		i = int64(v.f)
	case kindString:
		n, err := strconv.ParseInt(strings.TrimSpace(v.s), 10, 64)
		if err != nil {
			d.errorf(raw, path, "must be a whole number, not %q", clip(v.s))
			return 0, false
		}
		i = n
	default:
		d.errorf(raw, path, "must be a whole number, not %s", v.kind)
		return 0, false
	}
	if i < lo || i > hi {
		if hi == math.MaxInt32 {
			d.errorf(raw, path, "must be %d or more, not %d", lo, i)
		} else {
			d.errorf(raw, path, "must be between %d and %d, not %d", lo, hi, i)
		}
		return 0, false
	}
	return int(i), true
}

// unknown handles a field that is not read: known-but-ignored fields are
// accepted, with their warning when set; anything else is an error.
func (d *decoder) unknown(f field, path string, known []string, ign ignored) {
	if warning, ok := ign[f.key]; ok {
		if warning != "" && !f.val.empty() {
			d.warnAt(f, path, warning)
		}
		return
	}
	if s := suggest(f.key, known, ign); s != "" {
		d.errorAt(f, path, "unknown field (did you mean %s?)", s)
		return
	}
	d.errorAt(f, path, "unknown field")
}

func (d *decoder) project(root *node) *Project {
	p := &Project{}
	v, ok := d.value(root, "")
	switch {
	case !ok:
		return p
	case v.kind == kindNull:
		d.errorf(root, "", "the file is empty; it needs service, provider and functions")
		return p
	case v.kind != kindMap:
		d.errorf(root, "", "must be a mapping with service, provider and functions, not %s", v.kind)
		return p
	}
	d.constructs(v)
	var service, provider, functions *field
	for i, f := range v.fields {
		switch f.key {
		case "constructs": // read by constructs
		case "plugins":
			d.plugins(f)
		case "resources": // read by tables, and by Ref and Fn::GetAtt
		case "service":
			service = &v.fields[i]
		case "provider":
			provider = &v.fields[i]
		case "functions":
			functions = &v.fields[i]
		default:
			d.unknown(f, join("", f.key), topFields, topIgnored)
		}
	}
	p.Service = d.service(service, root)
	p.Provider = d.provider(provider, root)
	if len(d.liftStatements) > 0 && !d.provIAM.external {
		d.provIAM.statements = append(d.provIAM.statements, d.liftStatements...)
		d.provIAM.set = true
	}
	p.Functions = d.functions(functions, p)
	d.resolveDestinations(p)
	p.Roles = d.roles(p, d.provIAM, d.fnIAM)
	p.Tables, p.Queues, p.Buckets = d.tables(v)
	p.Buckets = append(p.Buckets, d.eventBuckets(p)...)
	return p
}

func (d *decoder) service(f *field, root *node) string {
	if f == nil {
		d.fail(&Error{File: root.file, Path: "service", Msg: "required, e.g. service: my-api"})
		return ""
	}
	v, ok := d.value(f.val, "service")
	if !ok {
		return ""
	}
	name, path := "", "service"
	switch v.kind {
	case kindString:
		name = v.s
	case kindMap: // the old form, service: {name: x}
		path = "service.name"
		var nameNode *node
		for _, g := range v.fields {
			if g.key == "name" {
				nameNode = g.val
				continue
			}
			d.unknown(g, join("service", g.key), []string{"name"}, ignored{"awsKmsKeyArn": ""})
		}
		if nameNode == nil {
			d.errorAt(*f, path, "required")
			return ""
		}
		if name, ok = d.str(nameNode, path); !ok {
			return ""
		}
	default:
		d.errorf(f.val, path, "must be a string, not %s", v.kind)
		return ""
	}
	if !serviceRe.MatchString(name) {
		d.errorf(f.val, path, "%q must start with a letter and hold only letters, digits and hyphens", clip(name))
		return ""
	}
	return name
}

func (d *decoder) provider(f *field, root *node) Provider {
	p := Provider{Name: "aws", MemorySize: 1024, Timeout: 6, Environment: map[string]string{}}
	if f == nil {
		d.fail(&Error{File: root.file, Path: "provider", Msg: "required, e.g. provider: {name: aws, runtime: nodejs20.x}"})
		return p
	}
	fields, ok := d.mapping(f.val, "provider", "provider settings")
	if !ok {
		return p
	}
	named := false
	for _, g := range fields {
		path := join("provider", g.key)
		switch g.key {
		case "name":
			named = true
			if s, ok := d.str(g.val, path); ok && s != "aws" {
				d.errorf(g.val, path, "must be aws, not %q: cloudlet runs AWS Lambda functions", clip(s))
			}
		case "runtime":
			var ok bool
			p.Runtime, ok = d.runtime(g.val, path)
			d.badRuntime = !ok
		case "stage":
			if s, ok := d.str(g.val, path); ok && !stageRe.MatchString(s) {
				d.errorf(g.val, path, "%q must hold only letters, digits and hyphens", clip(s))
			}
		case "region":
			if s, ok := d.str(g.val, path); ok && s == "" {
				d.errorf(g.val, path, "must not be empty")
			}
		case "memorySize":
			if n, ok := d.integer(g.val, path, 128, 10240); ok {
				p.MemorySize = n
			}
		case "timeout":
			if n, ok := d.integer(g.val, path, 1, 900); ok {
				p.Timeout = n
			}
		case "logRetentionInDays":
			p.LogRetentionInDays, _ = d.retention(g.val, path)
		case "environment":
			maps.Copy(p.Environment, d.environment(g.val, path))
		case "iam":
			d.providerIAM(g.val, path, &d.provIAM)
		case "iamRoleStatements": // the Framework's older form
			d.provIAM.statements = append(d.provIAM.statements, d.statements(g.val, path)...)
			d.provIAM.set = true
		case "iamManagedPolicies":
			d.provIAM.managed = append(d.provIAM.managed, d.managedPolicies(g.val, path)...)
			d.provIAM.set = true
		case "role":
			d.roleDecl(g, path, &d.provIAM)
		default:
			d.unknown(g, path, providerFields, providerIgnored)
		}
	}
	if !named {
		d.errorAt(*f, "provider.name", "required: set name: aws")
	}
	var err error
	if p.Stage, err = d.r.stage(); err != nil {
		d.fail(err)
	} else if s := d.r.opts.Stage; s != "" && !stageRe.MatchString(s) {
		d.fail(&Error{File: root.file, Msg: fmt.Sprintf("stage %q (--stage) must hold only letters, digits and hyphens", clip(s))})
	}
	if p.Region, err = d.r.region(); err != nil {
		d.fail(err)
	}
	return p
}

// retentionDays are the values CloudWatch Logs accepts for a log group's
// retention (PutRetentionPolicy).
var retentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

func (d *decoder) retention(raw *node, path string) (int, bool) {
	n, ok := d.integer(raw, path, 1, 3653)
	if !ok {
		return 0, false
	}
	if !slices.Contains(retentionDays, n) {
		d.errorf(raw, path, "%d is not a retention CloudWatch Logs accepts (one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)", n)
		return 0, false
	}
	return n, true
}

func (d *decoder) runtime(raw *node, path string) (string, bool) {
	s, ok := d.str(raw, path)
	if !ok {
		return "", false
	}
	if !supportedRuntime(s) {
		d.errorf(raw, path, "unsupported runtime %q (cloudlet runs %s)", clip(s), supportedRuntimes)
		return "", false
	}
	return s, true
}

// environment reads a map of variables. Numbers and booleans become
// strings, as in the Framework; CloudFormation functions ({Ref: ...},
// Fn::GetAtt, Fn::Join, Fn::Sub, ...) are evaluated against the
// resources, and one that cannot be leaves the variable unset with a
// warning.
func (d *decoder) environment(raw *node, path string) map[string]string {
	fields, ok := d.mapping(raw, path, "variable names to values")
	if !ok {
		return nil
	}
	env := make(map[string]string, len(fields))
	for _, f := range fields {
		p := join(path, f.key)
		switch {
		case reservedEnv[f.key]:
			d.errorAt(f, p, "reserved: AWS Lambda sets %s itself", f.key)
			continue
		case !envNameRe.MatchString(f.key):
			d.errorAt(f, p, "a variable name must start with a letter and hold only letters, digits and _")
			continue
		}
		v, ok := d.value(f.val, p)
		if !ok {
			continue
		}
		switch v.kind {
		case kindString, kindInt, kindFloat, kindBool:
			env[f.key], _ = v.scalarText()
		case kindMap:
			if fn := intrinsic(v); fn != "" {
				val, ok := d.policyValue(v, p, 1)
				switch t := val.(type) {
				case string:
					env[f.key] = t
				case unresolved:
					d.warnAt(f, p, fmt.Sprintf("%s; %s is not set", t, f.key))
				default:
					if ok {
						d.errorf(f.val, p, "CloudFormation %s must give a string", fn)
					}
				}
				continue
			}
			fallthrough
		default:
			d.errorf(f.val, p, "must be a string, not %s", v.kind)
		}
	}
	return env
}

// intrinsic returns the name of the CloudFormation function v is, or "".
func intrinsic(v *node) string {
	if len(v.fields) != 1 {
		return ""
	}
	k := v.fields[0].key
	if k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::") {
		return k
	}
	return ""
}

func (d *decoder) functions(f *field, p *Project) []*Function {
	if f == nil {
		return nil
	}
	fields, ok := d.mapping(f.val, "functions", "function names to functions")
	if !ok {
		return nil
	}
	var fns []*Function
	names := map[string]string{}  // full name → key
	routes := map[string]string{} // route → key
	for _, g := range fields {
		fn := d.function(g, p)
		if fn == nil {
			continue
		}
		if other, dup := names[fn.Name]; dup {
			d.errorAt(g, "functions."+g.key, "function name %q is also the name of functions.%s", fn.Name, other)
			continue
		}
		names[fn.Name] = fn.Key
		for _, e := range fn.Events {
			route, api := e.HTTP, "http"
			if e.HTTPAPI != nil {
				route, api = e.HTTPAPI, "httpApi"
			}
			if route == nil {
				continue // not a route
			}
			key := api + " " + route.Method + " " + route.Path
			if other, dup := routes[key]; dup {
				d.fail(&Error{File: g.val.file, Line: e.Line, Path: "functions." + fn.Key + ".events",
					Msg: fmt.Sprintf("%s route %s %s is also served by functions.%s", api, route.Method, route.Path, other)})
				continue
			}
			routes[key] = fn.Key
		}
		fns = append(fns, fn)
	}
	return fns
}

func (d *decoder) function(f field, p *Project) *Function {
	path := join("functions", f.key)
	if !funcKeyRe.MatchString(f.key) {
		d.errorAt(f, path, "a function name must hold only letters, digits, - and _")
		return nil
	}
	fields, ok := d.mapping(f.val, path, "function settings, with at least handler")
	if !ok {
		return nil
	}
	fn := &Function{
		Key:                  f.key,
		Line:                 f.line,
		Runtime:              p.Provider.Runtime,
		MemorySize:           p.Provider.MemorySize,
		EphemeralStorageSize: 512,
		Timeout:              p.Provider.Timeout,
		LogRetentionInDays:   p.Provider.LogRetentionInDays,
		Environment:          maps.Clone(p.Provider.Environment),
	}
	var handler, provisioned *node
	valid := true
	check := func(ok bool) {
		valid = valid && ok
	}
	for _, g := range fields {
		gp := join(path, g.key)
		switch g.key {
		case "handler":
			handler = g.val
			var ok bool
			fn.Handler, ok = d.str(g.val, gp)
			check(ok)
		case "runtime":
			rt, ok := d.runtime(g.val, gp)
			if ok {
				fn.Runtime = rt
			}
			check(ok)
			if !ok {
				return nil // said already; nothing below can be checked
			}
		case "memorySize":
			n, ok := d.integer(g.val, gp, 128, 10240)
			if ok {
				fn.MemorySize = n
			}
			check(ok)
		case "timeout":
			n, ok := d.integer(g.val, gp, 1, 900)
			if ok {
				fn.Timeout = n
			}
			check(ok)
		case "environment":
			maps.Copy(fn.Environment, d.environment(g.val, gp))
		case "iam", "iamRoleStatements", "iamRoleStatementsInherit", "iamRoleStatementsName", "role":
			d.functionIAM(f.key, g, gp)
		case "events":
			fn.Events = d.events(g.val, gp)
		case "ephemeralStorageSize":
			n, ok := d.integer(g.val, gp, 512, 10240)
			if ok {
				fn.EphemeralStorageSize = n
			}
			check(ok)
		case "logRetentionInDays":
			n, ok := d.retention(g.val, gp)
			if ok {
				fn.LogRetentionInDays = n
			}
			check(ok)
		case "maximumRetryAttempts", "maximumEventAge", "onError", "destinations":
			check(d.asyncField(fn, g, gp))
		case "reservedConcurrency":
			n, ok := d.integer(g.val, gp, 0, math.MaxInt32)
			if ok {
				fn.ReservedConcurrency = &n
			}
			check(ok)
		case "instanceConcurrency":
			n, ok := d.integer(g.val, gp, 1, 1000)
			if ok {
				fn.InstanceConcurrency = n
			}
			check(ok)
		case "provisionedConcurrency":
			n, ok := d.integer(g.val, gp, 0, math.MaxInt32)
			if ok {
				fn.ProvisionedConcurrency = n
				provisioned = g.val
			}
			check(ok)
		case "name":
			s, ok := d.str(g.val, gp)
			if ok && !funcNameRe.MatchString(s) {
				d.errorf(g.val, gp, "%q must be 1 to 64 letters, digits, - or _", clip(s))
				ok = false
			}
			fn.Name = s
			check(ok)
		case "description":
			s, ok := d.str(g.val, gp)
			if ok && len(s) > 256 {
				d.errorf(g.val, gp, "must be at most 256 characters, not %d", len(s))
				ok = false
			}
			fn.Description = s
			check(ok)
		default:
			d.unknown(g, gp, functionFields, functionIgnored)
		}
	}
	if handler == nil {
		d.errorAt(f, path+".handler", "required, e.g. handler: handler.main")
		return nil
	}
	if !valid {
		return nil
	}
	if r := fn.ReservedConcurrency; r != nil && fn.ProvisionedConcurrency > *r {
		// AWS's words (PutProvisionedConcurrencyConfig).
		d.errorf(provisioned, path+".provisionedConcurrency", "%d: Requested Provisioned Concurrency should not be greater than the reservedConcurrentExecution for function (%d)", fn.ProvisionedConcurrency, *r)
		return nil
	}
	if fn.InstanceConcurrency > 1 && !strings.HasPrefix(fn.Runtime, "nodejs") && fn.Runtime != "" {
		d.errorAt(f, path+".instanceConcurrency", "only nodejs runtimes run several invocations at once in one instance, not %s", fn.Runtime)
		return nil
	}
	switch {
	case fn.Runtime == "" && d.badRuntime:
		return nil // provider.runtime's error says it
	case fn.Runtime == "":
		d.errorAt(f, path+".runtime", "required: set it here or as provider.runtime (e.g. nodejs20.x)")
		return nil
	case !validHandler(fn.Handler, fn.Runtime):
		d.errorf(handler, path+".handler", "%q must be <file>.<function>, e.g. handler.main", clip(fn.Handler))
		return nil
	}
	if fn.Name == "" {
		fn.Name = p.Service + "-" + p.Provider.Stage + "-" + f.key
		if len(fn.Name) > 64 {
			d.errorAt(f, path, "function name %q is longer than 64 characters; set a shorter name:", fn.Name)
			return nil
		}
	}
	return fn
}

func validHandler(h, runtime string) bool {
	if h == "" || strings.ContainsAny(h, " \t\n") {
		return false
	}
	if !handlerNamesFunction(runtime) {
		return true
	}
	i := strings.LastIndexByte(h, '.')
	return i > 0 && i < len(h)-1 && !strings.Contains(h[i:], "/") && h[i-1] != '/'
}

// builtinPlugins are plugins whose features Cloudlet has built in.
var builtinPlugins = map[string]bool{"serverless-lift": true}

// plugins warns of the plugins listed that are not run (all but the
// built-in ones).
func (d *decoder) plugins(f field) {
	v, ok := d.value(f.val, "plugins")
	if !ok {
		return
	}
	items := v.items
	if v.kind == kindMap { // plugins: {localPath: ..., modules: [...]}
		if m := v.get("modules"); m != nil {
			if mv, ok := d.value(m, "plugins.modules"); ok {
				items = mv.items
			}
		}
	}
	var skipped []string
	for _, it := range items {
		if iv, ok := d.value(it, "plugins"); ok && iv.kind == kindString && builtinPlugins[iv.s] {
			continue
		}
		t, _ := it.scalarText()
		skipped = append(skipped, t)
	}
	if len(skipped) > 0 || v.kind != kindSeq && v.kind != kindMap && !f.val.empty() {
		d.warnAt(f, "plugins", "plugins are not run: "+strings.Join(skipped, ", "))
	}
}
