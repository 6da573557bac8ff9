package manifest

import (
	"encoding/json"
	"strings"
)

// StreamEvent is a `stream` event on a DynamoDB table's stream: an event
// source mapping, as the Framework writes it.
type StreamEvent struct {
	// Table is the table whose stream it reads, from the ARN.
	Table string
	// ARN is the stream ARN as written (…/stream/* when it came from
	// Fn::GetAtt Table.StreamArn: the table's current stream).
	ARN string
	// BatchSize is the most records per invocation (1 to 10000, default 100).
	BatchSize int
	// BatchWindow is how long to gather records before invoking, in
	// seconds (0 to 300).
	BatchWindow int
	// StartingPosition is TRIM_HORIZON (the default) or LATEST.
	StartingPosition string
	// MaximumRetryAttempts: -1 (the default) retries until the records
	// expire; 0 to 10000 otherwise.
	MaximumRetryAttempts int
	// MaximumRecordAgeInSeconds: -1 (the default), or 60 to 604800.
	MaximumRecordAgeInSeconds int
	// BisectBatchOnFunctionError splits a failed batch in two to retry.
	BisectBatchOnFunctionError bool
	// ReportBatchItemFailures: functionResponseType ReportBatchItemFailures.
	ReportBatchItemFailures bool
	// FilterPatterns are Lambda event filter patterns (JSON), any of which
	// a record must match to be delivered.
	FilterPatterns []string
	// OnFailure is the function (name or ARN) sent a record of each batch
	// given up on ("": none).
	OnFailure string
	Enabled   bool
}

var streamFields = []string{"type", "arn", "batchSize", "batchWindow", "startingPosition", "maximumRetryAttempts",
	"maximumRecordAgeInSeconds", "bisectBatchOnFunctionError", "functionResponseType", "filterPatterns", "destinations",
	"enabled", "parallelizationFactor", "tumblingWindowInSeconds", "consumer", "startingPositionTimestamp"}

var streamIgnored = ignored{
	"parallelizationFactor":     "parallelizationFactor is not supported yet, ignored (one batch at a time)",
	"tumblingWindowInSeconds":   "tumbling windows are " + notSupported,
	"consumer":                  "",
	"startingPositionTimestamp": "",
}

// stream reads a stream event; nil when it is not a DynamoDB one Cloudlet
// runs (reported).
func (d *decoder) stream(f field, path string) *StreamEvent {
	v, ok := d.value(f.val, path)
	if !ok {
		return nil
	}
	ev := &StreamEvent{BatchSize: 100, StartingPosition: "TRIM_HORIZON", MaximumRetryAttempts: -1, MaximumRecordAgeInSeconds: -1, Enabled: true}
	var arnNode *node
	typ := ""
	switch v.kind {
	case kindString:
		ev.ARN, arnNode = v.s, f.val
	case kindMap:
		for _, g := range v.fields {
			gp := join(path, g.key)
			switch g.key {
			case "type":
				typ, _ = d.str(g.val, gp)
			case "arn":
				arnNode = g.val
				var ok bool
				if ev.ARN, ok = d.eventARN(g, gp, "stream"); !ok {
					return nil
				}
			case "batchSize":
				ev.BatchSize, _ = d.integer(g.val, gp, 1, 10000)
			case "batchWindow":
				ev.BatchWindow, _ = d.integer(g.val, gp, 0, 300)
			case "startingPosition":
				s, _ := d.str(g.val, gp)
				switch s {
				case "TRIM_HORIZON", "LATEST":
					ev.StartingPosition = s
				case "AT_TIMESTAMP":
					d.warnAt(g, gp, "AT_TIMESTAMP is not supported for DynamoDB streams; TRIM_HORIZON is used")
				default:
					d.errorf(g.val, gp, "must be TRIM_HORIZON or LATEST, not %q", clip(s))
				}
			case "maximumRetryAttempts":
				ev.MaximumRetryAttempts, _ = d.integer(g.val, gp, -1, 10000)
			case "maximumRecordAgeInSeconds":
				n, ok := d.integer(g.val, gp, -1, 604800)
				if ok && n != -1 && n < 60 {
					d.errorf(g.val, gp, "must be -1, or between 60 and 604800, not %d", n)
				}
				ev.MaximumRecordAgeInSeconds = n
			case "bisectBatchOnFunctionError":
				ev.BisectBatchOnFunctionError = d.flag(g.val, gp)
			case "enabled":
				ev.Enabled = d.flag(g.val, gp)
			case "functionResponseType":
				s, _ := d.str(g.val, gp)
				if s != "ReportBatchItemFailures" {
					d.errorf(g.val, gp, "must be ReportBatchItemFailures, not %q", clip(s))
				}
				ev.ReportBatchItemFailures = true
			case "filterPatterns":
				ev.FilterPatterns = d.filterPatterns(g, gp)
			case "destinations":
				ev.OnFailure = d.onFailure(g, gp)
			default:
				d.unknown(g, gp, streamFields, streamIgnored)
			}
		}
	default:
		d.errorf(f.val, path, "must be a stream ARN or a mapping with arn, not %s", v.kind)
		return nil
	}
	if arnNode == nil {
		d.errorAt(f, path+".arn", "required, e.g. arn: !GetAtt UsersTable.StreamArn")
		return nil
	}
	if strings.HasPrefix(ev.ARN, "arn:aws:kinesis:") || typ == "kinesis" {
		d.warnAt(f, path, "Kinesis streams are "+notSupported)
		return nil
	}
	if typ != "" && typ != "dynamodb" {
		d.errorf(f.val, path+".type", "must be dynamodb or kinesis, not %q", clip(typ))
		return nil
	}
	rest, ok := strings.CutPrefix(ev.ARN, "arn:aws:dynamodb:")
	table := ""
	if ok {
		if _, after, found := strings.Cut(rest, ":table/"); found {
			table, _, _ = strings.Cut(after, "/stream/")
		}
	}
	if table == "" || !strings.Contains(ev.ARN, "/stream/") {
		d.errorf(arnNode, path+".arn", "%q is not a DynamoDB stream ARN (arn:aws:dynamodb:REGION:ACCOUNT:table/NAME/stream/LABEL)", clip(ev.ARN))
		return nil
	}
	ev.Table = table
	return ev
}

// flag reads a boolean (true/false, or the strings "true"/"false").
func (d *decoder) flag(raw *node, path string) bool {
	v, ok := d.value(raw, path)
	if !ok {
		return false
	}
	switch {
	case v.kind == kindBool:
		return v.b
	case v.kind == kindString && (v.s == "true" || v.s == "false"):
		return v.s == "true"
	}
	d.errorf(raw, path, "must be true or false, not %s", v.kind)
	return false
}

// onFailure reads destinations.onFailure: a function name or ARN (or
// {arn, type: function}); queues and topics are warned about.
func (d *decoder) onFailure(g field, path string) string {
	fields, ok := d.mapping(g.val, path, "onFailure")
	if !ok {
		return ""
	}
	for _, f := range fields {
		fp := join(path, f.key)
		if f.key != "onFailure" {
			d.unknown(f, fp, []string{"onFailure"}, nil)
			continue
		}
		a, ok := d.policyValue(f.val, fp, 1)
		if !ok {
			return ""
		}
		target := ""
		switch t := a.(type) {
		case string:
			target = t
		case map[string]any:
			target, _ = t["arn"].(string)
			if typ, _ := t["type"].(string); typ != "" && typ != "function" {
				d.warnAt(f, fp, typ+" destinations are "+notSupported)
				return ""
			}
		case unresolved:
			d.warnAt(f, fp, string(t)+"; no failure destination")
			return ""
		}
		if strings.HasPrefix(target, "arn:aws:sqs:") || strings.HasPrefix(target, "arn:aws:sns:") {
			d.warnAt(f, fp, "queue and topic destinations are "+notSupported)
			return ""
		}
		if target == "" {
			d.errorf(f.val, fp, "must be a function name or ARN")
		}
		return target
	}
	return ""
}

// eventARN reads an event's arn: a string, or an intrinsic function that
// gives one; ok is false when the event is left out (reported).
func (d *decoder) eventARN(g field, path, what string) (string, bool) {
	a, ok := d.policyValue(g.val, path, 1)
	if !ok {
		return "", false
	}
	switch t := a.(type) {
	case string:
		return t, true
	case unresolved:
		d.warnAt(g, path, string(t)+"; the event is ignored")
	default:
		d.errorf(g.val, path, "must be a %s ARN", what)
	}
	return "", false
}

// filterPatterns reads an event's filterPatterns, each as JSON.
func (d *decoder) filterPatterns(g field, path string) []string {
	a, ok := d.policyValue(g.val, path, 1)
	list, isList := a.([]any)
	if !ok || !isList {
		d.errorf(g.val, path, "must be a list of filter patterns")
		return nil
	}
	out := make([]string, 0, len(list))
	for _, p := range list {
		b, _ := json.Marshal(p)
		out = append(out, string(b))
	}
	return out
}
