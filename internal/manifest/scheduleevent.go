package manifest

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/cloudlet/cloudlet/internal/schedule"
)

// ScheduleEvent is a `schedule` event: one or more rate() or cron()
// expressions.
type ScheduleEvent struct {
	Expressions []string
	// Name is the rule's name ("": the function's name with -rule-N).
	Name      string
	Enabled   bool
	Input     string // JSON, or ""
	InputPath string
	// InputPathsMap and InputTemplate are inputTransformer's.
	InputPathsMap map[string]string
	InputTemplate string
	// Timezone applies to cron() with method: scheduler.
	Timezone string
}

var scheduleFields = []string{"rate", "enabled", "input", "inputPath", "inputTransformer", "name", "description", "method", "timezone"}

func (d *decoder) scheduleEvent(f field, path string) *ScheduleEvent {
	v, ok := d.value(f.val, path)
	if !ok {
		return nil
	}
	ev := &ScheduleEvent{Enabled: true}
	exprNode := f.val
	switch v.kind {
	case kindString:
		ev.Expressions = []string{v.s}
	case kindMap:
		method := ""
		for _, g := range v.fields {
			gp := join(path, g.key)
			switch g.key {
			case "rate":
				exprNode = g.val
				rv, ok := d.value(g.val, gp)
				if !ok {
					return nil
				}
				switch rv.kind {
				case kindString:
					ev.Expressions = []string{rv.s}
				case kindSeq:
					for i, it := range rv.items {
						s, ok := d.str(it, gp+"["+itoa(i)+"]")
						if ok {
							ev.Expressions = append(ev.Expressions, s)
						}
					}
				default:
					d.errorf(g.val, gp, "must be rate(...) or cron(...), or a list of them")
					return nil
				}
			case "enabled":
				ev.Enabled = d.flag(g.val, gp)
			case "name":
				ev.Name, _ = d.str(g.val, gp)
			case "description":
			case "method":
				method, _ = d.str(g.val, gp)
				if method != "eventBus" && method != "scheduler" {
					d.errorf(g.val, gp, "must be eventBus or scheduler, not %q", clip(method))
				}
			case "timezone":
				ev.Timezone, _ = d.str(g.val, gp)
				if _, err := time.LoadLocation(ev.Timezone); err != nil {
					d.errorf(g.val, gp, "unknown time zone %q", clip(ev.Timezone))
				}
			case "input":
				a, ok := d.policyValue(g.val, gp, 1)
				if !ok {
					continue
				}
				b, _ := json.Marshal(a)
				ev.Input = string(b)
			case "inputPath":
				ev.InputPath, _ = d.str(g.val, gp)
			case "inputTransformer":
				fields, ok := d.mapping(g.val, gp, "inputPathsMap and inputTemplate")
				if !ok {
					continue
				}
				for _, h := range fields {
					hp := join(gp, h.key)
					switch h.key {
					case "inputPathsMap":
						a, ok := d.policyValue(h.val, hp, 1)
						m, isMap := a.(map[string]any)
						if !ok || !isMap {
							d.errorf(h.val, hp, "must be a mapping of names to JSON paths")
							continue
						}
						ev.InputPathsMap = map[string]string{}
						for k, p := range m {
							ev.InputPathsMap[k], _ = p.(string)
						}
					case "inputTemplate":
						ev.InputTemplate, _ = d.str(h.val, hp)
					default:
						d.unknown(h, hp, []string{"inputPathsMap", "inputTemplate"}, nil)
					}
				}
			default:
				d.unknown(g, gp, scheduleFields, nil)
			}
		}
		if ev.Timezone != "" && method != "scheduler" {
			d.errorf(f.val, path+".timezone", "a timezone needs method: scheduler, as in the Framework")
			return nil
		}
	default:
		d.errorf(f.val, path, "must be rate(...) or cron(...), or a mapping with rate, not %s", v.kind)
		return nil
	}
	if len(ev.Expressions) == 0 {
		d.errorAt(f, path+".rate", "required, e.g. rate: rate(5 minutes)")
		return nil
	}
	for _, e := range ev.Expressions {
		x, err := schedule.Parse(e)
		if err == nil && x.OneTime() {
			err = fmt.Errorf("Parameter ScheduleExpression is not valid: %s: a schedule event takes rate() or cron(); at() is for the Scheduler API", e)
		}
		if err != nil {
			d.errorf(exprNode, path, "%v", err)
			return nil
		}
	}
	return ev
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}
