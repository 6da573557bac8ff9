package manifest

import (
	"strings"
)

// SQSEvent is an `sqs` event: a function fed from a queue.
type SQSEvent struct {
	// Queue is the queue's name, from the ARN.
	Queue string
	ARN   string
	// BatchSize is the most messages per invocation (1 to 10000, default 10).
	BatchSize int
	// MaximumBatchingWindow is how long to gather messages, in seconds
	// (0 to 300).
	MaximumBatchingWindow int
	// MaximumConcurrency bounds the invocations at once (2 to 1000; 0: not
	// set).
	MaximumConcurrency      int
	ReportBatchItemFailures bool
	FilterPatterns          []string
	Enabled                 bool
}

var sqsFields = []string{"arn", "batchSize", "maximumBatchingWindow", "functionResponseType", "filterPatterns", "enabled", "maximumConcurrency"}

// sqsEvent reads an sqs event: an ARN, or a mapping with arn.
func (d *decoder) sqsEvent(f field, path string) *SQSEvent {
	v, ok := d.value(f.val, path)
	if !ok {
		return nil
	}
	ev := &SQSEvent{BatchSize: 10, Enabled: true}
	var arnNode *node
	switch v.kind {
	case kindString:
		ev.ARN, arnNode = v.s, f.val
	case kindMap:
		for _, g := range v.fields {
			gp := join(path, g.key)
			switch g.key {
			case "arn":
				arnNode = g.val
				var ok bool
				if ev.ARN, ok = d.eventARN(g, gp, "queue"); !ok {
					return nil
				}
			case "batchSize":
				ev.BatchSize, _ = d.integer(g.val, gp, 1, 10000)
			case "maximumBatchingWindow":
				ev.MaximumBatchingWindow, _ = d.integer(g.val, gp, 0, 300)
			case "maximumConcurrency":
				ev.MaximumConcurrency, _ = d.integer(g.val, gp, 2, 1000)
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
			default:
				d.unknown(g, gp, sqsFields, nil)
			}
		}
	default:
		d.errorf(f.val, path, "must be a queue ARN or a mapping with arn, not %s", v.kind)
		return nil
	}
	if arnNode == nil {
		d.errorAt(f, path+".arn", "required, e.g. arn: !GetAtt JobsQueue.Arn")
		return nil
	}
	rest, ok := strings.CutPrefix(ev.ARN, "arn:aws:sqs:")
	parts := strings.Split(rest, ":")
	if !ok || len(parts) != 3 || parts[2] == "" {
		d.errorf(arnNode, path+".arn", "%q is not a queue ARN (arn:aws:sqs:REGION:ACCOUNT:NAME)", clip(ev.ARN))
		return nil
	}
	if ev.BatchSize > 10 && ev.MaximumBatchingWindow == 0 {
		d.errorf(f.val, path+".maximumBatchingWindow", "a batchSize over 10 needs a maximumBatchingWindow of at least 1 second, as on AWS")
		return nil
	}
	ev.Queue = parts[2]
	return ev
}
