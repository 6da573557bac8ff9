package manifest

import (
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"sort"
	"strings"
)

// This file reads the DynamoDB tables of resources.Resources (Type
// AWS::DynamoDB::Table), with their properties evaluated as CloudFormation
// would; other resource types are left out with a warning.

// Queue is an SQS queue the project declares (AWS::SQS::Queue).
type Queue struct {
	LogicalID string
	// Name is QueueName, or the name CloudFormation would generate.
	Name string
	// Properties are the resource's evaluated properties
	// (CloudFormation's shape: RedrivePolicy as an object, Tags as a list).
	Properties map[string]any
	Line       int
}

// Bucket is an S3 bucket the project declares (AWS::S3::Bucket), or
// one an s3 event names without existing: true.
type Bucket struct {
	LogicalID string // "" for an s3 event's bucket
	// Name is BucketName, or the name CloudFormation would generate.
	Name string
	// Properties are the resource's, evaluated (CloudFormation's shape:
	// CorsConfiguration.CorsRules, VersioningConfiguration.Status); nil
	// for an s3 event's bucket.
	Properties map[string]any
	Line       int
}

// Table is a DynamoDB table the project declares.
type Table struct {
	LogicalID string
	// Name is TableName, or the name CloudFormation would generate:
	// <service>-<stage>-<LogicalId>-<suffix>, the suffix stable per
	// service, stage and logical ID.
	Name string
	// Properties are the resource's Properties with every intrinsic
	// function evaluated: CloudFormation's shape, which is CreateTable's
	// for the properties they share (TimeToLiveSpecification and a
	// StreamSpecification without StreamEnabled are CloudFormation's own).
	Properties map[string]any
	Line       int
}

// generatedName is the physical name CloudFormation gives a resource
// without one: stack-LogicalId-SUFFIX (lower case for buckets).
func generatedName(stack, id string, lower bool) string {
	sum := sha256.Sum256([]byte(stack + "/" + id))
	suffix := base32.StdEncoding.EncodeToString(sum[:])[:12]
	name := stack + "-" + id + "-" + suffix
	if lower {
		name = strings.ToLower(name)
	}
	return name
}

// tables reads resources.Resources' tables, queues and buckets.
func (d *decoder) tables(root *node) ([]*Table, []*Queue, []*Bucket) {
	res := root.get("resources")
	if res == nil {
		return nil, nil, nil
	}
	res, ok := d.value(res, "resources")
	if !ok || res.kind != kindMap {
		return nil, nil, nil
	}
	var out []*Table
	var queues []*Queue
	var buckets []*Bucket
	for _, f := range res.fields {
		if f.key != "Resources" {
			if f.key != "Outputs" && f.key != "Conditions" && f.key != "Description" && f.key != "extensions" {
				d.warnAt(f, "resources."+f.key, "CloudFormation "+f.key+" are "+notSupported)
			}
			continue
		}
		rs, ok := d.value(f.val, "resources.Resources")
		if !ok || rs.kind != kindMap {
			continue
		}
		for _, r := range rs.fields {
			path := "resources.Resources." + r.key
			rv, ok := d.value(r.val, path)
			if !ok || rv.kind != kindMap {
				d.errorf(r.val, path, "must be a mapping with Type and Properties")
				continue
			}
			typ, _ := d.plainString(nodeOr(rv.get("Type")), path+".Type")
			switch typ {
			case "AWS::DynamoDB::Table", "AWS::SQS::Queue":
			case "AWS::S3::Bucket":
				name := d.physicalName(r.key, resource{typ: typ, props: nodeOr(rv.get("Properties"))}, "BucketName")
				if name == "" {
					d.warnAt(r, path, "its BucketName cannot be evaluated by cloudlet; the bucket is not created")
					d.unnamed = ""
					continue
				}
				b := &Bucket{LogicalID: r.key, Name: name, Line: r.line}
				if raw := rv.get("Properties"); raw != nil && raw.kind == kindMap {
					// only what a deploy applies is evaluated: the others
					// (often naming what Cloudlet does not make) are named
					var ignored []string
					for _, f := range raw.fields {
						ppath := path + ".Properties." + f.key
						switch {
						case f.key == "BucketName":
						case bucketPropertiesApplied[f.key]:
							v, ok := d.policyValue(f.val, ppath, 1)
							if !ok {
								continue
							}
							if msg := firstUnresolved(v); msg != "" {
								d.warnAt(f, ppath, msg+"; it has no effect")
								continue
							}
							if b.Properties == nil {
								b.Properties = map[string]any{}
							}
							b.Properties[f.key] = v
						default:
							ignored = append(ignored, f.key)
						}
					}
					if len(ignored) > 0 {
						sort.Strings(ignored)
						d.warnAt(r, path+".Properties", "cloudlet applies BucketName, CorsConfiguration and VersioningConfiguration; "+
							strings.Join(ignored, ", ")+" have no effect")
					}
				}
				buckets = append(buckets, b)
				continue
			case "":
				d.warnAt(r, path, "a resource without a Type is not created")
				continue
			default:
				d.warnAt(r, path, fmt.Sprintf("resources of type %s are not created by cloudlet", typ))
				continue
			}
			what, nameProp := "table", "TableName"
			if typ == "AWS::SQS::Queue" {
				what, nameProp = "queue", "QueueName"
			}
			props := map[string]any{}
			if raw := rv.get("Properties"); raw != nil {
				v, ok := d.policyValue(raw, path+".Properties", 1)
				if !ok {
					continue
				}
				m, isMap := v.(map[string]any)
				if !isMap {
					d.errorf(raw, path+".Properties", "must be a mapping")
					continue
				}
				if msg := firstUnresolved(m); msg != "" {
					d.warnAt(r, path, msg+"; the "+what+" is not created")
					continue
				}
				props = m
			}
			var name string
			switch n := props[nameProp].(type) {
			case string:
				name = n
			case nil:
				name = generatedName(d.stack(), r.key, false)
				if f := props["FifoQueue"]; what == "queue" && (f == true || f == "true") {
					name += ".fifo" // CloudFormation's generated name of a FIFO queue
				}
			default:
				d.errorf(rv, path+".Properties."+nameProp, "must be a string")
				continue
			}
			if what == "queue" {
				queues = append(queues, &Queue{LogicalID: r.key, Name: name, Properties: props, Line: r.line})
				continue
			}
			out = append(out, &Table{LogicalID: r.key, Name: name, Properties: props, Line: r.line})
		}
	}
	return out, queues, buckets
}

// bucketPropertiesApplied are the AWS::S3::Bucket properties a deploy
// applies (internal/s3's ApplyBuckets), beside BucketName.
var bucketPropertiesApplied = map[string]bool{"CorsConfiguration": true, "VersioningConfiguration": true}

// firstUnresolved finds a value cloudlet could not evaluate in v.
func firstUnresolved(v any) string {
	switch t := v.(type) {
	case unresolved:
		return string(t)
	case map[string]any:
		for _, x := range t {
			if m := firstUnresolved(x); m != "" {
				return m
			}
		}
	case []any:
		for _, x := range t {
			if m := firstUnresolved(x); m != "" {
				return m
			}
		}
	}
	return ""
}
