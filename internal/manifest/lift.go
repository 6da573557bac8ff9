package manifest

import (
	"fmt"
	"strings"

	"github.com/cloudlet/cloudlet/internal/iam"
)

// This file reads the serverless-lift plugin's constructs (`constructs:`)
// of type queue, as Lift defines them: a queue named <stack>-<id> (".fifo"
// for a FIFO one) whose messages go to a dead-letter queue <stack>-<id>-dlq
// (kept 14 days) after maxRetries receives (default 3), with a visibility
// timeout of six times the worker's timeout plus maxBatchingWindow; a
// worker function <id>Worker (or the function worker names) fed by the
// queue with partial batch failures; every function allowed to send to
// the queue; and ${construct:<id>.queueUrl|queueArn|dlqUrl|dlqArn}.
//
// The construct is turned into what it stands for before anything else
// is read: queue resources in resources.Resources and the worker in
// functions, so both are checked as if written there.

var liftQueueFields = []string{"type", "worker", "maxRetries", "batchSize", "maxBatchingWindow", "maxConcurrency", "fifo", "delay"}

var liftQueueIgnored = ignored{
	"alarm":            "alarms are " + notSupported + "; failed jobs stay in the dead-letter queue",
	"encryption":       "",
	"encryptionKey":    "",
	"encryptionKeyArn": "",
	"extensions":       "construct extensions are " + notSupported,
}

// constructVars are the variables ${construct:ID.NAME} of one construct.
type constructVars map[string]string

// constructs expands the project's constructs into root (a mapping).
func (d *decoder) constructs(root *node) {
	f := root.get("constructs")
	if f == nil {
		return
	}
	fields, ok := d.mapping(f, "constructs", "construct names to constructs")
	if !ok {
		return
	}
	d.r.constructs = map[string]constructVars{}
	for _, c := range fields {
		path := join("constructs", c.key)
		cf, ok := d.mapping(c.val, path, "construct settings, with type")
		if !ok {
			continue
		}
		var typ string
		for _, g := range cf {
			if g.key == "type" {
				typ, _ = d.str(g.val, join(path, "type"))
			}
		}
		switch typ {
		case "queue":
			d.liftQueue(root, c, cf, path)
		case "storage":
			d.liftStorage(root, c, cf, path)
		case "":
			d.errorAt(c, path+".type", "required, e.g. type: queue")
		default:
			d.warnAt(c, path, "constructs of type "+clip(typ)+" are "+notSupported+"; queue and storage are")
		}
	}
}

// liftQueue expands one queue construct.
func (d *decoder) liftQueue(root *node, c field, cf []field, path string) {
	id := c.key
	var worker *field
	maxRetries, batchSize, window, concurrency, delay := 3, 1, 0, 0, -1
	fifo := false
	valid := true
	for i, g := range cf {
		gp := join(path, g.key)
		var ok bool
		switch g.key {
		case "type":
			continue
		case "worker":
			worker = &cf[i]
			continue
		case "maxRetries":
			maxRetries, ok = d.integer(g.val, gp, 1, 1000)
		case "batchSize":
			batchSize, ok = d.integer(g.val, gp, 1, 10000)
		case "maxBatchingWindow":
			window, ok = d.integer(g.val, gp, 0, 300)
		case "maxConcurrency":
			concurrency, ok = d.integer(g.val, gp, 2, 1000)
		case "delay":
			delay, ok = d.integer(g.val, gp, 0, 900)
		case "fifo":
			fifo, ok = d.flag(g.val, gp), true
		default:
			d.unknown(g, gp, liftQueueFields, liftQueueIgnored)
			continue
		}
		valid = valid && ok
	}
	if worker == nil {
		d.errorAt(c, path+".worker", "required: the function that processes the queue's messages, e.g. worker: {handler: src/worker.handler}")
		return
	}
	if !valid {
		return
	}
	if batchSize > 10 && fifo {
		d.errorAt(c, path+".batchSize", "must be between 1 and 10 for FIFO queues, not %d", batchSize)
		return
	}
	if batchSize > 10 && window == 0 {
		d.errorAt(c, path+".maxBatchingWindow", "must be greater than 0 for a batchSize over 10")
		return
	}

	// The worker: a function of its own (<id>Worker), or one the project
	// declares, named by its key.
	workerKey := id + "Worker"
	fnsNode := d.section(root, "functions", c)
	var wfields *node
	timeout := 6
	wv, ok := d.value(worker.val, join(path, "worker"))
	if !ok {
		return
	}
	switch wv.kind {
	case kindString:
		workerKey = wv.s
		if fnsNode != nil {
			if fv := fnsNode.get(workerKey); fv != nil {
				wfields, _ = d.value(fv, join("functions", workerKey))
			}
		}
		if wfields == nil || wfields.kind != kindMap {
			d.errorAt(*worker, join(path, "worker"), "%q names no function of this service", clip(wv.s))
			return
		}
	case kindMap:
		wfields = &node{kind: kindMap, file: wv.file, line: wv.line, fields: append([]field(nil), wv.fields...)}
		if fnsNode != nil && fnsNode.get(workerKey) != nil {
			d.errorAt(c, path, "the construct's worker would be functions.%s, which is declared already", workerKey)
			return
		}
	default:
		d.errorf(worker.val, join(path, "worker"), "must be a function's settings (handler, ...) or the name of a function, not %s", wv.kind)
		return
	}
	// Lift's default is the Framework's default timeout, 6 seconds, even
	// where provider.timeout says otherwise.
	if t := wfields.get("timeout"); t != nil {
		if n, ok := d.integer(t, join(join("functions", workerKey), "timeout"), 1, 900); ok {
			timeout = n
		}
	}

	// The queues.
	base := d.stack() + "-" + id
	name, dlqName := base, base+"-dlq"
	if fifo {
		name, dlqName = base+".fifo", base+"-dlq.fifo"
	}
	region, _ := d.r.region()
	arn := func(n string) string { return "arn:aws:sqs:" + region + ":" + iam.DefaultAccount + ":" + n }
	url := func(n string) string {
		b := d.r.opts.APIURL
		if b == "" {
			b = "http://sqs." + region + ".localhost"
		}
		return strings.TrimSuffix(b, "/") + "/" + iam.DefaultAccount + "/" + n
	}
	at := func(k kind, s string) *node { return &node{kind: k, s: s, file: c.val.file, line: c.line} }
	num := func(n int) *node { v := at(kindInt, ""); v.i = int64(n); return v }
	str := func(s string) *node { return at(kindString, s) }
	mapping := func(kv ...any) *node {
		m := at(kindMap, "")
		for i := 0; i < len(kv); i += 2 {
			m.fields = append(m.fields, field{key: kv[i].(string), line: c.line, val: kv[i+1].(*node)})
		}
		return m
	}
	dlqProps := mapping("QueueName", str(dlqName), "MessageRetentionPeriod", num(1209600))
	props := mapping("QueueName", str(name), "VisibilityTimeout", num(timeout*6+window),
		"RedrivePolicy", mapping("deadLetterTargetArn", str(arn(dlqName)), "maxReceiveCount", num(maxRetries)))
	if fifo {
		yes := at(kindBool, "")
		yes.b = true
		dlqProps.fields = append(dlqProps.fields, field{key: "FifoQueue", line: c.line, val: yes})
		props.fields = append(props.fields, field{key: "FifoQueue", line: c.line, val: yes}, field{key: "ContentBasedDeduplication", line: c.line, val: yes})
	}
	if delay >= 0 {
		props.fields = append(props.fields, field{key: "DelaySeconds", line: c.line, val: num(delay)})
	}
	if res := d.section(root, "resources", c); res != nil {
		rs := d.section(res, "Resources", c)
		if rs != nil {
			for _, lid := range []string{id + "Queue", id + "Dlq"} {
				if rs.get(lid) != nil {
					d.errorAt(c, path, "the construct's queues would be resources.Resources.%s, which is declared already", lid)
					return
				}
			}
			rs.fields = append(rs.fields,
				field{key: id + "Dlq", line: c.line, val: mapping("Type", str("AWS::SQS::Queue"), "Properties", dlqProps)},
				field{key: id + "Queue", line: c.line, val: mapping("Type", str("AWS::SQS::Queue"), "Properties", props)})
		}
	}

	// The worker's event, with partial batch failures as Lift sets it.
	ev := mapping("arn", str(arn(name)), "batchSize", num(batchSize), "maximumBatchingWindow", num(window),
		"functionResponseType", str("ReportBatchItemFailures"))
	if concurrency > 0 {
		ev.fields = append(ev.fields, field{key: "maximumConcurrency", line: c.line, val: num(concurrency)})
	}
	event := mapping("sqs", ev)
	if evs := wfields.get("events"); evs != nil {
		list, ok := d.value(evs, join(join("functions", workerKey), "events"))
		if !ok || list.kind != kindSeq {
			d.errorf(evs, join(join("functions", workerKey), "events"), "must be a list of events")
			return
		}
		list.items = append(list.items, event)
	} else {
		seq := at(kindSeq, "")
		seq.items = []*node{event}
		wfields.fields = append(wfields.fields, field{key: "events", line: c.line, val: seq})
	}
	if wv.kind == kindMap && fnsNode != nil {
		fnsNode.fields = append(fnsNode.fields, field{key: workerKey, line: worker.line, val: wfields})
	}

	// Every function may send to the queue (Lift's permissions).
	d.liftStatements = append(d.liftStatements, &iam.Statement{
		Effect:    iam.Allow,
		Actions:   []string{"sqs:sendmessage", "sqs:changemessagevisibility"},
		Resources: []string{arn(name)},
		Origin:    fmt.Sprintf("%s:%d %s", c.val.file, c.line, path),
	})
	d.r.constructs[id] = constructVars{"queueUrl": url(name), "queueArn": arn(name), "dlqUrl": url(dlqName), "dlqArn": arn(dlqName)}
}

var liftStorageIgnored = ignored{
	"archive":        "",
	"encryption":     "",
	"allowAcl":       "",
	"lifecycleRules": "",
	"publicPath":     "public objects are " + notSupported + ": every request to the bucket is signed",
	"cors":           "bucket CORS is " + notSupported,
	"extensions":     "construct extensions are " + notSupported,
}

// storageActions are what Lift lets every function do on its storage.
var storageActions = []string{"s3:putobject", "s3:getobject", "s3:deleteobject", "s3:listbucket", "s3:getobjectacl", "s3:putobjectacl",
	"s3:getobjecttagging", "s3:putobjecttagging", "s3:deleteobjecttagging", "s3:getobjectattributes", "s3:abortmultipartupload",
	"s3:listmultipartuploadparts", "s3:listbucketmultipartuploads", "s3:restoreobject"}

// liftStorage expands one storage construct: a bucket (the resource
// <id>Bucket, its name as CloudFormation would generate it), every
// function allowed Lift's actions on it, and ${construct:id.bucketName}
// and bucketArn.
func (d *decoder) liftStorage(root *node, c field, cf []field, path string) {
	for _, g := range cf {
		if g.key != "type" {
			d.unknown(g, join(path, g.key), []string{"type"}, liftStorageIgnored)
		}
	}
	lid := c.key + "Bucket"
	stack := d.stack()
	name := bucketSafe(generatedName(stack, lid, true))
	if len(name) > 63 { // CloudFormation shortens the stack's part
		name = bucketSafe(generatedName(stack[:max(1, len(stack)-(len(name)-63))], lid, true))
	}
	at := func(k kind, s string) *node { return &node{kind: k, s: s, file: c.val.file, line: c.line} }
	props := &node{kind: kindMap, file: c.val.file, line: c.line, fields: []field{{key: "BucketName", line: c.line, val: at(kindString, name)}}}
	res := &node{kind: kindMap, file: c.val.file, line: c.line, fields: []field{
		{key: "Type", line: c.line, val: at(kindString, "AWS::S3::Bucket")}, {key: "Properties", line: c.line, val: props}}}
	if r := d.section(root, "resources", c); r != nil {
		if rs := d.section(r, "Resources", c); rs != nil {
			if rs.get(lid) != nil {
				d.errorAt(c, path, "the construct's bucket would be resources.Resources.%s, which is declared already", lid)
				return
			}
			rs.fields = append(rs.fields, field{key: lid, line: c.line, val: res})
		}
	}
	arn := "arn:aws:s3:::" + name
	d.liftStatements = append(d.liftStatements, &iam.Statement{Effect: iam.Allow, Actions: storageActions,
		Resources: []string{arn, arn + "/*"}, Origin: fmt.Sprintf("%s:%d %s", c.val.file, c.line, path)})
	d.r.constructs[c.key] = constructVars{"bucketName": name, "bucketArn": arn}
}

// section returns m's mapping called key, made (empty) when missing; nil
// when it is not a mapping (reported where it is read).
func (d *decoder) section(m *node, key string, c field) *node {
	if v := m.get(key); v != nil {
		v, ok := d.value(v, key)
		if !ok || v.kind != kindMap {
			return nil
		}
		return v
	}
	s := &node{kind: kindMap, file: c.val.file, line: c.line}
	m.fields = append(m.fields, field{key: key, line: c.line, val: s})
	return s
}

// construct resolves ${construct:ID.NAME}.
func (r *resolver) construct(addr string, n *node, path string) (*node, *miss, error) {
	id, name, _ := strings.Cut(addr, ".")
	vars, ok := r.constructs[id]
	if !ok {
		return nil, nil, errAt(n, path, "${construct:%s}: no construct %s in constructs", clip(addr), clip(id))
	}
	v, ok := vars[name]
	if !ok {
		return nil, nil, errAt(n, path, "${construct:%s}: a queue construct has queueUrl, queueArn, dlqUrl and dlqArn; a storage construct bucketName and bucketArn", clip(addr))
	}
	return r.str(v, n), nil, nil
}

// bucketSafe makes a generated name a valid bucket name: lower-case
// letters, digits and hyphens, starting and ending with a letter or digit.
func bucketSafe(name string) string {
	b := []byte(strings.ToLower(name))
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			b[i] = '-'
		}
	}
	return strings.Trim(string(b), "-")
}
