package manifest

import (
	"strings"
)

// S3Event is an `s3` event: a function run by a bucket's object events.
type S3Event struct {
	Bucket string
	// Event is the notification event, e.g. s3:ObjectCreated:* (the
	// default) or s3:ObjectRemoved:Delete.
	Event string
	// Prefix and Suffix are the rules a key must match ("" matches all).
	Prefix, Suffix string
	// Existing says the bucket is not the event's to create.
	Existing bool
}

var s3Fields = []string{"bucket", "event", "rules", "existing", "forceDeploy"}

// s3Events are the notification events Cloudlet fires.
var s3Events = []string{"s3:ObjectCreated:*", "s3:ObjectCreated:Put", "s3:ObjectCreated:Post", "s3:ObjectCreated:Copy",
	"s3:ObjectCreated:CompleteMultipartUpload", "s3:ObjectRemoved:*", "s3:ObjectRemoved:Delete", "s3:ObjectRemoved:DeleteMarkerCreated",
	"s3:LifecycleExpiration:*", "s3:LifecycleExpiration:Delete", "s3:LifecycleExpiration:DeleteMarkerCreated"}

// s3Event reads an s3 event: a bucket name, or a mapping with bucket.
func (d *decoder) s3Event(f field, path string) *S3Event {
	v, ok := d.value(f.val, path)
	if !ok {
		return nil
	}
	ev := &S3Event{Event: "s3:ObjectCreated:*"}
	switch v.kind {
	case kindString:
		ev.Bucket = v.s
	case kindMap:
		for _, g := range v.fields {
			gp := join(path, g.key)
			switch g.key {
			case "bucket":
				if ev.Bucket, ok = d.eventARN(g, gp, "bucket name"); !ok {
					return nil
				}
			case "event":
				ev.Event, _ = d.str(g.val, gp)
				known := false
				for _, e := range s3Events {
					known = known || e == ev.Event
				}
				if !known {
					d.errorf(g.val, gp, "%q is not an object event Cloudlet fires: %s", clip(ev.Event), strings.Join(s3Events, ", "))
					return nil
				}
			case "rules":
				rv, ok := d.value(g.val, gp)
				if !ok || rv.kind != kindSeq {
					d.errorf(g.val, gp, "must be a list such as [{prefix: uploads/}, {suffix: .jpg}]")
					return nil
				}
				for _, item := range rv.items {
					fields, ok := d.mapping(item, gp, "prefix or suffix")
					if !ok {
						return nil
					}
					for _, h := range fields {
						hp := join(gp, h.key)
						switch h.key {
						case "prefix":
							ev.Prefix, _ = d.str(h.val, hp)
						case "suffix":
							ev.Suffix, _ = d.str(h.val, hp)
						default:
							d.unknown(h, hp, []string{"prefix", "suffix"}, nil)
						}
					}
				}
			case "existing":
				ev.Existing = d.flag(g.val, gp)
			case "forceDeploy":
			default:
				d.unknown(g, gp, s3Fields, nil)
			}
		}
	default:
		d.errorf(f.val, path, "must be a bucket name or a mapping with bucket, not %s", v.kind)
		return nil
	}
	if ev.Bucket == "" {
		d.errorAt(f, path+".bucket", "required, e.g. bucket: photos")
		return nil
	}
	return ev
}

// eventBuckets are the buckets the s3 events name without existing: true
// that resources.Resources does not declare: the events create them, as
// the Framework does.
func (d *decoder) eventBuckets(p *Project) []*Bucket {
	have := map[string]bool{}
	for _, b := range p.Buckets {
		have[b.Name] = true
	}
	var out []*Bucket
	for _, fn := range p.Functions {
		for _, e := range fn.Events {
			if e.S3 == nil || e.S3.Existing || have[e.S3.Bucket] {
				continue
			}
			have[e.S3.Bucket] = true
			out = append(out, &Bucket{Name: e.S3.Bucket, Line: e.Line})
		}
	}
	return out
}
