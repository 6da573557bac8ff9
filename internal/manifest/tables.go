package manifest

import (
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"strings"
)

// This file reads the DynamoDB tables of resources.Resources (Type
// AWS::DynamoDB::Table), with their properties evaluated as CloudFormation
// would; other resource types are left out with a warning.

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

// tables reads resources.Resources' tables.
func (d *decoder) tables(root *node) []*Table {
	res := root.get("resources")
	if res == nil {
		return nil
	}
	res, ok := d.value(res, "resources")
	if !ok || res.kind != kindMap {
		return nil
	}
	var out []*Table
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
			case "AWS::DynamoDB::Table":
			case "":
				d.warnAt(r, path, "a resource without a Type is not created")
				continue
			default:
				d.warnAt(r, path, fmt.Sprintf("resources of type %s are not created by cloudlet", typ))
				continue
			}
			t := &Table{LogicalID: r.key, Line: r.line, Properties: map[string]any{}}
			if props := rv.get("Properties"); props != nil {
				v, ok := d.policyValue(props, path+".Properties", 1)
				if !ok {
					continue
				}
				m, isMap := v.(map[string]any)
				if !isMap {
					d.errorf(props, path+".Properties", "must be a mapping")
					continue
				}
				if msg := firstUnresolved(m); msg != "" {
					d.warnAt(r, path, msg+"; the table is not created")
					continue
				}
				t.Properties = m
			}
			switch name := t.Properties["TableName"].(type) {
			case string:
				t.Name = name
			case nil:
				t.Name = generatedName(d.stack(), r.key, false)
			default:
				d.errorf(rv, path+".Properties.TableName", "must be a string")
				continue
			}
			out = append(out, t)
		}
	}
	return out
}

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
