package manifest

import (
	"strings"
)

// AsyncConfig is a function's asynchronous invocation settings
// (maximumRetryAttempts, maximumEventAge, destinations, onError), what
// Lambda's EventInvokeConfig and DeadLetterConfig hold.
type AsyncConfig struct {
	// MaximumRetryAttempts is 0 to 2; nil: Lambda's default, 2.
	MaximumRetryAttempts *int
	// MaximumEventAge is in seconds, 60 to 21600; nil: 21600.
	MaximumEventAge *int
	// OnSuccess and OnFailure are destination ARNs (a queue, a function,
	// a topic or an event bus), or "".
	OnSuccess, OnFailure string
	// OnError is the dead-letter target's ARN (a queue or a topic), or "".
	OnError string
}

// destination is a destination as written: an ARN, or the key of a
// function of this service (resolved once every function is read).
type destination struct {
	fn   *Function
	slot *string
	key  string
	f    field
	path string
}

// asyncField reads one of a function's asynchronous invocation settings
// into fn.Async.
func (d *decoder) asyncField(fn *Function, g field, path string) bool {
	if fn.Async == nil {
		fn.Async = &AsyncConfig{}
	}
	a := fn.Async
	switch g.key {
	case "maximumRetryAttempts":
		n, ok := d.integer(g.val, path, 0, 2)
		if ok {
			a.MaximumRetryAttempts = &n
		}
		return ok
	case "maximumEventAge":
		n, ok := d.integer(g.val, path, 60, 21600)
		if ok {
			a.MaximumEventAge = &n
		}
		return ok
	case "onError":
		arn, ok := d.eventARN(g, path, "queue or topic")
		if ok && !strings.HasPrefix(arn, "arn:") {
			d.errorf(g.val, path, "%q is not an ARN (e.g. arn:aws:sqs:REGION:ACCOUNT:NAME, or !GetAtt Queue.Arn)", clip(arn))
			return false
		}
		if ok && !strings.HasPrefix(arn, "arn:aws:sqs:") {
			d.warnAt(g, path, "only queues are dead-letter targets in Cloudlet; failed events are logged, not sent to "+clip(arn))
			arn = ""
		}
		a.OnError = arn
		return ok
	case "destinations":
		fields, ok := d.mapping(g.val, path, "onSuccess and onFailure")
		if !ok {
			return false
		}
		for _, h := range fields {
			hp := join(path, h.key)
			var slot *string
			switch h.key {
			case "onSuccess":
				slot = &a.OnSuccess
			case "onFailure":
				slot = &a.OnFailure
			default:
				d.unknown(h, hp, []string{"onSuccess", "onFailure"}, nil)
				continue
			}
			d.destination(fn, slot, h, hp)
		}
	}
	return true
}

// destination reads one destination: an ARN, a function of this service
// by its key, or a mapping of type and arn.
func (d *decoder) destination(fn *Function, slot *string, g field, path string) {
	v, ok := d.value(g.val, path)
	if !ok {
		return
	}
	if v.kind == kindMap && (v.get("type") != nil || v.get("arn") != nil) {
		var arn string
		typ := ""
		for _, h := range v.fields {
			hp := join(path, h.key)
			switch h.key {
			case "type":
				typ, _ = d.str(h.val, hp)
				switch typ {
				case "sqs", "sns", "eventBus", "function":
				default:
					d.errorf(h.val, hp, "must be sqs, sns, eventBus or function, not %q", clip(typ))
					return
				}
			case "arn":
				if arn, ok = d.eventARN(h, hp, "destination"); !ok {
					return
				}
			default:
				d.unknown(h, hp, []string{"type", "arn"}, nil)
			}
		}
		if arn == "" {
			d.errorAt(g, path+".arn", "required, e.g. arn: !GetAtt Queue.Arn")
			return
		}
		if typ == "" {
			d.errorAt(g, path+".type", "required with arn: sqs, sns, eventBus or function")
			return
		}
		*slot = arn
		return
	}
	s, ok := d.eventARN(g, path, "destination")
	if !ok {
		return
	}
	if strings.HasPrefix(s, "arn:") {
		*slot = s
		return
	}
	d.dests = append(d.dests, destination{fn: fn, slot: slot, key: s, f: g, path: path})
}

// resolveDestinations turns destinations naming a function of the service
// by its key into that function's ARN.
func (d *decoder) resolveDestinations(p *Project) {
	for _, ds := range d.dests {
		var to *Function
		for _, f := range p.Functions {
			if f.Key == ds.key || f.Name == ds.key {
				to = f
			}
		}
		if to == nil {
			d.errorAt(ds.f, ds.path, "%q is neither an ARN nor a function of this service", clip(ds.key))
			continue
		}
		*ds.slot = "arn:aws:lambda:" + p.Provider.Region + ":" + d.r.opts.AccountID + ":function:" + to.Name
	}
}
