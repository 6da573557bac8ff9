package manifest

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/cloudlet/cloudlet/internal/iam"
)

// Role is an IAM role functions run with: the provider's shared role
// (<service>-<stage>-<region>-lambdaRole, as the Framework names it) or a
// function's own (per-function statements).
type Role struct {
	Name string
	// Statements are the project's, then the ones the Framework's default
	// role always has (CloudWatch Logs for the service's log groups).
	Statements []*iam.Statement
	// ManagedPolicies are the ARNs of attached AWS managed policies.
	ManagedPolicies []string
	// Functions are the full names of the functions that use it.
	Functions []string
}

// iamDecl is what one place (the provider, or a function) declares.
type iamDecl struct {
	set        bool // any statements, managed policies or a name
	name       string
	statements []*iam.Statement
	managed    []string
	inherit    bool // a function's iamRoleStatementsInherit
	external   bool // an existing role, given by ARN or reference: nothing but the defaults
}

// providerIAM reads provider.iam: {role: {name, statements, managedPolicies, ...}}.
func (d *decoder) providerIAM(raw *node, path string, decl *iamDecl) {
	fields, ok := d.mapping(raw, path, "IAM settings (role)")
	if !ok {
		return
	}
	for _, f := range fields {
		p := join(path, f.key)
		switch f.key {
		case "role":
			d.roleDecl(f, p, decl)
		case "deploymentRole":
		default:
			d.unknown(f, p, []string{"role", "deploymentRole"}, nil)
		}
	}
}

// roleDecl reads an iam.role value: a mapping, or a role ARN or name of
// an existing role (whose policies Cloudlet cannot know).
func (d *decoder) roleDecl(f field, path string, decl *iamDecl) {
	v, ok := d.value(f.val, path)
	if !ok {
		return
	}
	if v.kind == kindString || v.kind == kindMap && intrinsic(v) != "" {
		d.warnAt(f, path, "an existing role's policies are unknown to cloudlet: its functions get only the default role's logging permissions")
		decl.set, decl.external = true, true
		return
	}
	fields, ok := d.mapping(f.val, path, "role settings (name, statements, managedPolicies)")
	if !ok {
		return
	}
	for _, g := range fields {
		p := join(path, g.key)
		switch g.key {
		case "name":
			if s, ok := d.str(g.val, p); ok {
				if !roleNameRe(s) {
					d.errorf(g.val, p, "%q is not a role name (1 to 64 letters, digits and +=,.@_-)", clip(s))
				} else {
					decl.name, decl.set = s, true
				}
			}
		case "statements":
			decl.statements = append(decl.statements, d.statements(g.val, p)...)
			decl.set = true
		case "managedPolicies":
			decl.managed = append(decl.managed, d.managedPolicies(g.val, p)...)
			decl.set = true
		case "permissionsBoundary", "permissionBoundary":
			d.warnAt(g, p, "permission boundaries are not evaluated by cloudlet")
		case "path", "tags":
		default:
			d.unknown(g, p, []string{"name", "statements", "managedPolicies", "permissionsBoundary", "path", "tags"}, nil)
		}
	}
}

// statements reads a list of IAM statements, each checked by internal/iam.
func (d *decoder) statements(raw *node, path string) []*iam.Statement {
	v, ok := d.value(raw, path)
	if !ok {
		return nil
	}
	if v.kind == kindNull {
		return nil
	}
	if v.kind != kindSeq {
		d.errorf(raw, path, "must be a list of statements (Effect, Action, Resource), not %s", v.kind)
		return nil
	}
	var out []*iam.Statement
	for i, item := range v.items {
		p := path + "[" + strconv.Itoa(i) + "]"
		doc, ok := d.policyValue(item, p, 0)
		if !ok {
			continue
		}
		if doc, ok = d.unresolvedIn(doc, item, p); !ok {
			continue
		}
		origin := fmt.Sprintf("%s:%d %s", item.file, item.line, p)
		st, err := iam.ParseStatement(doc, origin)
		if err != nil {
			msg := strings.TrimPrefix(err.Error(), origin+": ")
			d.errorf(item, p, "%s", msg)
			continue
		}
		if st.Principals != nil || st.NotPrincipals != nil {
			d.errorf(item, p, "a role's statement has no Principal (that belongs in a trust or resource policy)")
			continue
		}
		out = append(out, st)
	}
	return out
}

// unresolvedIn handles the values of a statement Cloudlet could not
// evaluate, with a warning each, so that they never widen what a role may
// do. An Allow loses an unresolved Resource entry (and is left out when
// none is left), and is left out whole for one anywhere else (NotResource,
// Action, NotAction, Condition), where dropping the value would allow
// more. A Deny treats an unresolved Resource or Action entry as *, drops an
// unresolved NotResource or NotAction exception (an empty one becomes
// Resource or Action *), and drops a condition it cannot evaluate: it then
// denies at least what was written. ok is false when the statement is left
// out.
func (d *decoder) unresolvedIn(doc any, item *node, path string) (any, bool) {
	m, isMap := doc.(map[string]any)
	if !isMap {
		return doc, true
	}
	deny := m["Effect"] == "Deny"
	warn := func(msg string) {
		d.warnings = append(d.warnings, (&Error{File: item.file, Line: item.line, Path: path, Msg: msg}).Error())
	}
	list := func(k string) ([]any, bool) {
		switch t := m[k].(type) {
		case unresolved:
			return []any{t}, true
		case []any:
			return t, true
		}
		return nil, false
	}
	for _, k := range []string{"Resource", "Action", "NotResource", "NotAction"} {
		entries, ok := list(k)
		if !ok {
			continue
		}
		positive := k == "Resource" || k == "Action"
		kept := []any{}
		for _, e := range entries {
			u, isU := e.(unresolved)
			switch {
			case !isU:
				kept = append(kept, e)
			case deny && positive:
				warn(string(u) + "; this Deny applies to every " + strings.ToLower(k) + " instead")
				kept = append(kept, "*")
			case deny:
				warn(string(u) + "; this Deny no longer makes that exception")
			case k == "Resource":
				warn(string(u) + "; the statement leaves that resource out")
			default:
				warn(string(u) + "; the statement is left out (leaving out the value would allow more)")
				return nil, false
			}
		}
		switch {
		case len(kept) > 0:
			m[k] = kept
		case positive:
			warn("no " + strings.ToLower(k) + " of this statement can be evaluated; the statement is left out")
			return nil, false
		default: // a Deny whose every exception went: it denies all
			delete(m, k)
			m[strings.TrimPrefix(k, "Not")] = "*"
		}
	}
	if cond, ok := m["Condition"].(map[string]any); ok {
		for op, keys := range cond {
			km, _ := keys.(map[string]any)
			for key, v := range km {
				u, isU := findUnresolved(v)
				if !isU {
					continue
				}
				if !deny {
					warn(string(u) + "; the statement is left out (leaving out the condition would allow more)")
					return nil, false
				}
				warn(string(u) + "; this Deny applies without its " + op + " " + key + " condition")
				delete(km, key)
			}
			if len(km) == 0 {
				delete(cond, op)
			}
		}
		if len(cond) == 0 {
			delete(m, "Condition")
		}
	}
	if u, found := findUnresolved(m); found {
		warn(string(u) + "; the statement is left out")
		return nil, false
	}
	return m, true
}

func findUnresolved(v any) (unresolved, bool) {
	switch t := v.(type) {
	case unresolved:
		return t, true
	case map[string]any:
		for _, x := range t {
			if u, ok := findUnresolved(x); ok {
				return u, true
			}
		}
	case []any:
		for _, x := range t {
			if u, ok := findUnresolved(x); ok {
				return u, true
			}
		}
	}
	return "", false
}

func (d *decoder) managedPolicies(raw *node, path string) []string {
	v, ok := d.value(raw, path)
	if !ok || v.kind == kindNull {
		return nil
	}
	if v.kind != kindSeq {
		d.errorf(raw, path, "must be a list of policy ARNs, not %s", v.kind)
		return nil
	}
	var out []string
	for i, item := range v.items {
		p := path + "[" + strconv.Itoa(i) + "]"
		val, ok := d.policyValue(item, p, 0)
		if !ok {
			continue
		}
		s, isStr := val.(string)
		switch {
		case !isStr:
			d.errorf(item, p, "must be a policy ARN")
		case iam.ManagedPolicy(s) == nil:
			d.fail(&Error{File: item.file, Line: item.line, Path: p, Msg: fmt.Sprintf(
				"cloudlet does not know the managed policy %q; it knows %s", clip(s), strings.Join(iam.ManagedPolicyNames(), ", "))})
		default:
			out = append(out, s)
		}
	}
	return out
}

func roleNameRe(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("+=,.@_-", r)) {
			return false
		}
	}
	return true
}

// policyValue turns a resolved YAML value into the JSON shape policies
// have, evaluating the CloudFormation functions a policy may use.
func (d *decoder) policyValue(raw *node, path string, depth int) (any, bool) {
	if depth > 64 {
		d.errorf(raw, path, "nested too deep")
		return nil, false
	}
	v, ok := d.value(raw, path)
	if !ok {
		return nil, false
	}
	switch v.kind {
	case kindNull:
		return nil, true
	case kindBool:
		return v.b, true
	case kindInt:
		return float64(v.i), true
	case kindFloat:
		return v.f, true
	case kindString:
		return v.s, true
	case kindSeq:
		out := make([]any, 0, len(v.items))
		for i, item := range v.items {
			x, ok := d.policyValue(item, path+"["+strconv.Itoa(i)+"]", depth+1)
			if !ok {
				return nil, false
			}
			out = append(out, x)
		}
		return out, true
	}
	if fn := intrinsic(v); fn != "" {
		s, err := d.cfn(v, path, depth)
		if err != "" {
			if strings.Contains(err, "cloudlet does not evaluate") || strings.Contains(err, "cannot be evaluated by cloudlet") {
				return unresolved(err), true
			}
			d.errorf(v, path, "%s", err)
			return nil, false
		}
		return s, true
	}
	out := make(map[string]any, len(v.fields))
	for _, f := range v.fields {
		x, ok := d.policyValue(f.val, join(path, f.key), depth+1)
		if !ok {
			return nil, false
		}
		out[f.key] = x
	}
	return out, true
}

// cfn evaluates a CloudFormation function (Ref, Fn::GetAtt, Fn::Join,
// Fn::Sub, Fn::Select, Fn::Split) to what it yields; err says why it
// cannot be.
func (d *decoder) cfn(v *node, path string, depth int) (any, string) {
	fn, arg := v.fields[0].key, v.fields[0].val
	switch fn {
	case "Ref":
		name, ok := d.plainString(arg, path)
		if !ok {
			return nil, "Ref takes a logical ID or a pseudo parameter"
		}
		return d.named(d.ref(name))
	case "Fn::GetAtt":
		var res, attr string
		a, ok := d.policyValue(arg, path, depth+1)
		if !ok {
			return nil, "Fn::GetAtt could not be read"
		}
		switch t := a.(type) {
		case string:
			res, attr, _ = strings.Cut(t, ".")
		case []any:
			if len(t) == 2 {
				res, _ = t[0].(string)
				attr, _ = t[1].(string)
			}
		}
		if res == "" || attr == "" {
			return nil, "Fn::GetAtt takes [LogicalId, Attribute] or LogicalId.Attribute"
		}
		return d.named(d.getAtt(res, attr))
	case "Fn::Join":
		a, ok := d.policyValue(arg, path, depth+1)
		list, _ := a.([]any)
		if !ok || len(list) != 2 {
			return nil, "Fn::Join takes [delimiter, [values]]"
		}
		delim, ok1 := list[0].(string)
		parts, ok2 := list[1].([]any)
		if !ok1 || !ok2 {
			return nil, "Fn::Join takes [delimiter, [values]]"
		}
		ss := make([]string, 0, len(parts))
		for _, p := range parts {
			s, ok := p.(string)
			if !ok {
				return nil, "Fn::Join joins strings"
			}
			ss = append(ss, s)
		}
		return strings.Join(ss, delim), ""
	case "Fn::Sub":
		a, ok := d.policyValue(arg, path, depth+1)
		if !ok {
			return nil, "Fn::Sub could not be read"
		}
		var tmpl string
		vars := map[string]any{}
		switch t := a.(type) {
		case string:
			tmpl = t
		case []any:
			if len(t) == 2 {
				tmpl, _ = t[0].(string)
				vars, _ = t[1].(map[string]any)
			}
		}
		if tmpl == "" && vars == nil {
			return nil, "Fn::Sub takes a string or [string, {variables}]"
		}
		return d.sub(tmpl, vars)
	case "Fn::Select":
		a, ok := d.policyValue(arg, path, depth+1)
		list, _ := a.([]any)
		if !ok || len(list) != 2 {
			return nil, "Fn::Select takes [index, [values]]"
		}
		var i int
		switch t := list[0].(type) {
		case float64:
			i = int(t)
		case string:
			i, _ = strconv.Atoi(t)
		}
		items, _ := list[1].([]any)
		if i < 0 || i >= len(items) {
			return nil, "Fn::Select index out of range"
		}
		return items[i], ""
	case "Fn::Split":
		a, ok := d.policyValue(arg, path, depth+1)
		list, _ := a.([]any)
		if !ok || len(list) != 2 {
			return nil, "Fn::Split takes [delimiter, string]"
		}
		delim, _ := list[0].(string)
		s, _ := list[1].(string)
		out := []any{}
		for _, p := range strings.Split(s, delim) {
			out = append(out, p)
		}
		return out, ""
	}
	return nil, fmt.Sprintf("CloudFormation %s cannot be evaluated by cloudlet (it evaluates Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select and Fn::Split)", fn)
}

func (d *decoder) plainString(raw *node, path string) (string, bool) {
	v, ok := d.value(raw, path)
	if !ok || v.kind != kindString {
		return "", false
	}
	return v.s, true
}

// unresolved stands for the value of a CloudFormation function Cloudlet
// cannot evaluate (an attribute of a resource type it does not know,
// Fn::ImportValue, ...): statements drop it with a warning (unresolvedIn).
type unresolved string

// named passes on a Ref or GetAtt result, unless a name it needed could
// not be evaluated (physicalName).
func (d *decoder) named(v any, err string) (any, string) {
	if d.unnamed != "" {
		msg := d.unnamed
		d.unnamed = ""
		return nil, "CloudFormation " + msg
	}
	return v, err
}

// resource is one entry of resources.Resources.
type resource struct {
	typ   string
	props *node
}

func (d *decoder) resource(id string) (resource, bool) {
	res := d.r.root.get("resources")
	if res == nil {
		return resource{}, false
	}
	res, ok := d.value(res, "resources")
	if !ok || res.kind != kindMap {
		return resource{}, false
	}
	rs := res.get("Resources")
	if rs == nil {
		return resource{}, false
	}
	rs, ok = d.value(rs, "resources.Resources")
	if !ok || rs.kind != kindMap {
		return resource{}, false
	}
	n := rs.get(id)
	if n == nil || n.kind != kindMap {
		return resource{}, false
	}
	t, _ := d.plainString(nodeOr(n.get("Type")), "resources.Resources."+id+".Type")
	return resource{typ: t, props: n.get("Properties")}, true
}

func nodeOr(n *node) *node {
	if n == nil {
		return &node{}
	}
	return n
}

// physicalName is the name property of a resource, or the name
// CloudFormation would generate (stack-LogicalId-SUFFIX), which is the
// name cloudlet gives the resources it creates.
func (d *decoder) physicalName(id string, r resource, prop string) string {
	if r.props != nil {
		if p := r.props.get(prop); p != nil {
			v, ok := d.policyValue(p, "resources.Resources."+id+".Properties."+prop, 1)
			if s, isStr := v.(string); ok && isStr {
				return s
			}
			// Written as something cloudlet cannot evaluate: the ARN made of
			// it must not become a pattern that matches other names.
			d.unnamed = "the " + prop + " of " + id + " cannot be evaluated by cloudlet"
			return ""
		}
	}
	name := generatedName(d.stack(), id, r.typ == "AWS::S3::Bucket")
	if r.typ == "AWS::SQS::Queue" && r.props != nil {
		if f := r.props.get("FifoQueue"); f != nil {
			if v, ok := d.policyValue(f, "resources.Resources."+id+".Properties.FifoQueue", 1); ok && (v == true || v == "true") {
				name += ".fifo" // CloudFormation's generated name of a FIFO queue
			}
		}
	}
	return name
}

func (d *decoder) stack() string {
	stage, _ := d.r.stage()
	service, _ := d.plainString(nodeOr(d.r.root.get("service")), "service")
	return service + "-" + stage
}

func (d *decoder) ref(name string) (any, string) {
	region, _ := d.r.region()
	switch name {
	case "AWS::Region":
		return region, ""
	case "AWS::AccountId":
		return iam.DefaultAccount, ""
	case "AWS::Partition":
		return "aws", ""
	case "AWS::URLSuffix":
		return "amazonaws.com", ""
	case "AWS::StackName":
		return d.stack(), ""
	}
	r, ok := d.resource(name)
	if !ok {
		return nil, fmt.Sprintf("Ref %s: no resource %s in resources.Resources (and not a pseudo parameter such as AWS::Region)", name, name)
	}
	switch r.typ {
	case "AWS::DynamoDB::Table":
		return d.physicalName(name, r, "TableName"), ""
	case "AWS::S3::Bucket":
		return d.physicalName(name, r, "BucketName"), ""
	case "AWS::SQS::Queue":
		base := d.r.opts.APIURL
		if base == "" {
			base = "http://sqs." + region + ".localhost"
		}
		return strings.TrimSuffix(base, "/") + "/" + iam.DefaultAccount + "/" + d.physicalName(name, r, "QueueName"), ""
	case "AWS::SNS::Topic":
		return "arn:aws:sns:" + region + ":" + iam.DefaultAccount + ":" + d.physicalName(name, r, "TopicName"), ""
	case "AWS::IAM::Role":
		return d.physicalName(name, r, "RoleName"), ""
	}
	if r.typ == "" {
		return nil, fmt.Sprintf("Ref %s: the resource has no Type, and cloudlet does not evaluate Ref of it", name)
	}
	return nil, fmt.Sprintf("Ref %s: cloudlet does not evaluate Ref of %s resources", name, r.typ)
}

func (d *decoder) getAtt(id, attr string) (any, string) {
	region, _ := d.r.region()
	r, ok := d.resource(id)
	if !ok {
		return nil, fmt.Sprintf("Fn::GetAtt %s.%s: no resource %s in resources.Resources", id, attr, id)
	}
	acct := iam.DefaultAccount
	switch r.typ + "." + attr {
	case "AWS::DynamoDB::Table.Arn":
		return "arn:aws:dynamodb:" + region + ":" + acct + ":table/" + d.physicalName(id, r, "TableName"), ""
	case "AWS::DynamoDB::Table.StreamArn":
		return "arn:aws:dynamodb:" + region + ":" + acct + ":table/" + d.physicalName(id, r, "TableName") + "/stream/*", ""
	case "AWS::S3::Bucket.Arn":
		return "arn:aws:s3:::" + d.physicalName(id, r, "BucketName"), ""
	case "AWS::SQS::Queue.Arn":
		return "arn:aws:sqs:" + region + ":" + acct + ":" + d.physicalName(id, r, "QueueName"), ""
	case "AWS::SQS::Queue.QueueName":
		return d.physicalName(id, r, "QueueName"), ""
	case "AWS::SNS::Topic.TopicArn":
		return "arn:aws:sns:" + region + ":" + acct + ":" + d.physicalName(id, r, "TopicName"), ""
	case "AWS::IAM::Role.Arn":
		return "arn:aws:iam::" + acct + ":role/" + d.physicalName(id, r, "RoleName"), ""
	case "AWS::Kinesis::Stream.Arn":
		return "arn:aws:kinesis:" + region + ":" + acct + ":stream/" + d.physicalName(id, r, "Name"), ""
	case "AWS::Events::EventBus.Arn":
		return "arn:aws:events:" + region + ":" + acct + ":event-bus/" + d.physicalName(id, r, "Name"), ""
	case "AWS::Elasticsearch::Domain.Arn", "AWS::Elasticsearch::Domain.DomainArn",
		"AWS::OpenSearchService::Domain.Arn", "AWS::OpenSearchService::Domain.DomainArn":
		return "arn:aws:es:" + region + ":" + acct + ":domain/" + strings.ToLower(d.physicalName(id, r, "DomainName")), ""
	}
	return nil, fmt.Sprintf("Fn::GetAtt %s.%s: cloudlet does not evaluate the attribute %s of %s resources", id, attr, attr, r.typ)
}

// sub evaluates Fn::Sub's ${...} references.
func (d *decoder) sub(tmpl string, vars map[string]any) (any, string) {
	var b strings.Builder
	for {
		i := strings.Index(tmpl, "${")
		if i < 0 {
			b.WriteString(tmpl)
			return b.String(), ""
		}
		b.WriteString(tmpl[:i])
		rest := tmpl[i+2:]
		j := strings.IndexByte(rest, '}')
		if j < 0 {
			return nil, "Fn::Sub: unclosed ${"
		}
		name := rest[:j]
		tmpl = rest[j+1:]
		if strings.HasPrefix(name, "!") { // ${!Literal}
			b.WriteString("${" + name[1:] + "}")
			continue
		}
		var val any
		var err string
		if v, ok := vars[name]; ok {
			val = v
		} else if res, attr, ok := strings.Cut(name, "."); ok && !strings.HasPrefix(name, "AWS::") {
			val, err = d.named(d.getAtt(res, attr))
		} else {
			val, err = d.named(d.ref(name))
		}
		if err != "" {
			return nil, "Fn::Sub: " + err
		}
		s, ok := val.(string)
		if !ok {
			return nil, "Fn::Sub: ${" + name + "} is not a string"
		}
		b.WriteString(s)
	}
}

// defaultStatements are what the Framework's default role always grants:
// creating and writing the service's log streams.
func defaultStatements(service, stage, region string) []*iam.Statement {
	group := "arn:aws:logs:" + region + ":" + iam.DefaultAccount + ":log-group:/aws/lambda/" + service + "-" + stage + "*"
	return []*iam.Statement{
		{Effect: iam.Allow, Actions: []string{"logs:createlogstream", "logs:createloggroup", "logs:tagresource"},
			Resources: []string{group + ":*"}, Origin: "the Framework's default role (logs)"},
		{Effect: iam.Allow, Actions: []string{"logs:putlogevents"},
			Resources: []string{group + ":*:*"}, Origin: "the Framework's default role (logs)"},
	}
}

// roles builds the project's roles: the provider's shared one for every
// function without statements of its own, and one per function that has
// them (the serverless-iam-roles-per-function plugin's rule, which
// includes the provider's statements only with iamRoleStatementsInherit).
func (d *decoder) roles(p *Project, prov iamDecl, own map[string]*iamDecl) []*Role {
	defaults := defaultStatements(p.Service, p.Provider.Stage, p.Provider.Region)
	if prov.external {
		prov.statements, prov.managed = nil, nil // the existing role's, not these, would apply
	}
	shared := &Role{Name: p.Service + "-" + p.Provider.Stage + "-" + p.Provider.Region + "-lambdaRole",
		Statements: append(append([]*iam.Statement(nil), prov.statements...), defaults...), ManagedPolicies: prov.managed}
	if prov.name != "" {
		shared.Name = prov.name
	}
	roles := []*Role{shared}
	for _, fn := range p.Functions {
		decl := own[fn.Key]
		if decl == nil || !decl.set {
			fn.Role = shared.Name
			shared.Functions = append(shared.Functions, fn.Name)
			continue
		}
		r := &Role{Name: decl.name, Functions: []string{fn.Name}, ManagedPolicies: decl.managed}
		if r.Name == "" {
			r.Name = p.Service + "-" + p.Provider.Stage + "-" + fn.Key + "-" + p.Provider.Region + "-lambdaRole"
			if len(r.Name) > 64 {
				r.Name = r.Name[:64]
			}
		}
		if decl.external {
			decl.statements, decl.managed, decl.inherit = nil, nil, false
			r.ManagedPolicies = nil
		}
		r.Statements = append(r.Statements, decl.statements...)
		if decl.inherit {
			r.Statements = append(r.Statements, prov.statements...)
			r.ManagedPolicies = append(r.ManagedPolicies, prov.managed...)
		}
		r.Statements = append(r.Statements, defaults...)
		fn.Role = r.Name
		roles = append(roles, r)
	}
	seen := map[string]bool{}
	for _, r := range roles {
		if seen[r.Name] {
			d.fail(&Error{File: "serverless.yml", Msg: fmt.Sprintf("two roles are named %q: give each function's role its own name", r.Name)})
		}
		seen[r.Name] = true
	}
	return roles
}

// functionIAM reads a function's own IAM settings: iam.role (statements,
// name, managedPolicies), the serverless-iam-roles-per-function plugin's
// iamRoleStatements / iamRoleStatementsInherit / iamRoleStatementsName,
// or role (an existing role).
func (d *decoder) functionIAM(fn string, f field, path string) {
	if d.fnIAM == nil {
		d.fnIAM = map[string]*iamDecl{}
	}
	decl := d.fnIAM[fn]
	if decl == nil {
		decl = &iamDecl{}
		d.fnIAM[fn] = decl
	}
	switch f.key {
	case "iam":
		d.providerIAM(f.val, path, decl)
	case "iamRoleStatements":
		decl.statements = append(decl.statements, d.statements(f.val, path)...)
		decl.set = true
	case "iamRoleStatementsInherit":
		v, ok := d.value(f.val, path)
		if ok && v.kind != kindBool {
			d.errorf(f.val, path, "must be true or false, not %s", v.kind)
		} else if ok {
			decl.inherit = v.b
		}
	case "iamRoleStatementsName":
		if s, ok := d.str(f.val, path); ok {
			if !roleNameRe(s) {
				d.errorf(f.val, path, "%q is not a role name (1 to 64 letters, digits and +=,.@_-)", clip(s))
			} else {
				decl.name = s
			}
		}
	case "role":
		d.roleDecl(f, path, decl)
	}
}
