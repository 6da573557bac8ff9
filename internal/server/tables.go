package server

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"github.com/cloudlet/cloudlet/internal/dynamodb"
	"github.com/cloudlet/cloudlet/internal/eventsource"
	"github.com/cloudlet/cloudlet/internal/manifest"
	"github.com/cloudlet/cloudlet/internal/schedule"
	"github.com/cloudlet/cloudlet/internal/sqs"
)

// tableSpecs are the project's DynamoDB tables as the service applies them.
func tableSpecs(p *manifest.Project) []dynamodb.TableSpec {
	out := make([]dynamodb.TableSpec, 0, len(p.Tables))
	for _, t := range p.Tables {
		out = append(out, dynamodb.TableSpec{Name: t.Name, Properties: t.Properties,
			Origin: fmt.Sprintf("%s:%d: resources.Resources.%s", filepath.Base(p.File), t.Line, t.LogicalID)})
	}
	return out
}

// streamMapping is a function's i-th stream event as the event source
// runner runs it; its id (function, table, i) keeps its position across
// deploys.
func streamMapping(function string, i int, st *manifest.StreamEvent) eventsource.Mapping {
	m := eventsource.Mapping{
		ID: function + "/" + st.Table + "/" + strconv.Itoa(i), Function: function, Table: st.Table,
		BatchSize: st.BatchSize, BatchWindow: time.Duration(st.BatchWindow) * time.Second, StartingPosition: st.StartingPosition,
		MaxRetries: st.MaximumRetryAttempts, Bisect: st.BisectBatchOnFunctionError, ReportFailures: st.ReportBatchItemFailures,
		FilterPatterns: st.FilterPatterns, OnFailure: st.OnFailure, Enabled: st.Enabled,
	}
	if st.MaximumRecordAgeInSeconds > 0 {
		m.MaxAge = time.Duration(st.MaximumRecordAgeInSeconds) * time.Second
	}
	return m
}

// queueSpecs are the project's SQS queues as the service applies them.
func queueSpecs(p *manifest.Project) []sqs.QueueSpec {
	out := make([]sqs.QueueSpec, 0, len(p.Queues))
	for _, q := range p.Queues {
		out = append(out, sqs.QueueSpec{Name: q.Name, Properties: q.Properties,
			Origin: fmt.Sprintf("%s:%d: resources.Resources.%s", filepath.Base(p.File), q.Line, q.LogicalID)})
	}
	return out
}

// queueMapping is a function's i-th sqs event as the event source runner
// runs it.
func queueMapping(fn *manifest.Function, i int, q *manifest.SQSEvent, account int) eventsource.Mapping {
	// The pollers are bounded by maximumConcurrency, the function's
	// reserved concurrency and the account's.
	limit := q.MaximumConcurrency
	for _, n := range []int{account, derefOr(fn.ReservedConcurrency, 0)} {
		if n > 0 && (limit == 0 || n < limit) {
			limit = n
		}
	}
	if r := fn.ReservedConcurrency; r != nil && *r == 0 {
		limit = 1 // the function cannot run: one poller, throttled
	}
	function := fn.Name
	return eventsource.Mapping{
		ID: function + "/sqs/" + q.Queue + "/" + strconv.Itoa(i), Function: function, Queue: q.Queue,
		BatchSize: q.BatchSize, BatchWindow: time.Duration(q.MaximumBatchingWindow) * time.Second, Concurrency: limit,
		ReportFailures: q.ReportBatchItemFailures, FilterPatterns: q.FilterPatterns, Enabled: q.Enabled,
	}
}

// scheduleOf is a function's i-th schedule event as the schedule runner
// runs it: one schedule per expression.
func scheduleOf(function string, i int, ev *manifest.ScheduleEvent) []schedule.Schedule {
	var out []schedule.Schedule
	var loc *time.Location
	if ev.Timezone != "" {
		loc, _ = time.LoadLocation(ev.Timezone)
	}
	for j, text := range ev.Expressions {
		e, err := schedule.Parse(text)
		if err != nil {
			continue // the manifest checked it
		}
		rule := ev.Name
		if rule == "" || len(ev.Expressions) > 1 {
			rule = function + "-rule-" + strconv.Itoa(i+1)
			if len(ev.Expressions) > 1 {
				rule += "-" + strconv.Itoa(j+1)
			}
		}
		sc := schedule.Schedule{ID: function + "/schedule/" + strconv.Itoa(i) + "/" + strconv.Itoa(j), Function: function, Rule: rule,
			Expr: e, Location: loc, Input: ev.Input, InputPath: ev.InputPath, Enabled: ev.Enabled}
		if ev.InputTemplate != "" {
			sc.Transformer = &schedule.Transformer{PathsMap: ev.InputPathsMap, Template: ev.InputTemplate}
		}
		out = append(out, sc)
	}
	return out
}

// checkQueueMappings refuses an sqs event whose queue's visibility timeout
// is shorter than its function's timeout, as CreateEventSourceMapping
// does: its messages would come back while the function still ran.
func (s *Server) checkQueueMappings(p *manifest.Project) error {
	for _, fn := range p.Functions {
		for i, ev := range fn.Events {
			if ev.SQS == nil {
				continue
			}
			vis, ok, err := s.queues.VisibilityTimeout(context.Background(), ev.SQS.Queue)
			if err != nil {
				return err
			}
			if ok && vis < time.Duration(fn.Timeout)*time.Second {
				return fmt.Errorf("%s:%d: functions.%s.events[%d].sqs: Invalid request provided: Queue visibility timeout: %d seconds is less than Function timeout: %d seconds",
					filepath.Base(p.File), ev.Line, fn.Key, i, int(vis.Seconds()), fn.Timeout)
			}
		}
	}
	return nil
}

func derefOr(p *int, def int) int {
	if p == nil {
		return def
	}
	return *p
}
