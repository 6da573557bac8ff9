package eventsource

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudlet/cloudlet/internal/lambda"
	"github.com/cloudlet/cloudlet/internal/sqs"
)

// sqsRecord is an SQS message as Lambda gives it to a function.
type sqsRecord struct {
	MessageID         string                 `json:"messageId"`
	ReceiptHandle     string                 `json:"receiptHandle"`
	Body              string                 `json:"body"`
	Attributes        map[string]string      `json:"attributes"`
	MessageAttributes map[string]sqsAttrJSON `json:"messageAttributes"`
	MD5OfBody         string                 `json:"md5OfBody"`
	EventSource       string                 `json:"eventSource"`
	EventSourceARN    string                 `json:"eventSourceARN"`
	AwsRegion         string                 `json:"awsRegion"`
}

type sqsAttrJSON struct {
	StringValue      *string  `json:"stringValue,omitempty"`
	BinaryValue      *string  `json:"binaryValue,omitempty"`
	StringListValues []string `json:"stringListValues"`
	BinaryListValues []string `json:"binaryListValues"`
	DataType         string   `json:"dataType"`
}

func (r *Runner) sqsRecords(m Mapping, msgs []sqs.Received) []sqsRecord {
	arn, region := r.queues.ARN(m.Queue), r.queues.Region()
	out := make([]sqsRecord, len(msgs))
	for i, msg := range msgs {
		attrs := map[string]sqsAttrJSON{}
		for k, a := range msg.MessageAttributes {
			j := sqsAttrJSON{DataType: a.DataType, StringListValues: []string{}, BinaryListValues: []string{}}
			if a.BinaryValue != nil {
				b := base64.StdEncoding.EncodeToString(a.BinaryValue)
				j.BinaryValue = &b
			} else {
				s := a.StringValue
				j.StringValue = &s
			}
			attrs[k] = j
		}
		out[i] = sqsRecord{MessageID: msg.ID, ReceiptHandle: msg.Receipt, Body: msg.Body, Attributes: msg.Attributes,
			MessageAttributes: attrs, MD5OfBody: msg.MD5OfBody, EventSource: "aws:sqs", EventSourceARN: arn, AwsRegion: region}
	}
	return out
}

// scale is what a queue mapping's pollers tell their supervisor.
type scale struct {
	min          int32
	pollers      atomic.Int32
	full, misses atomic.Int64 // receives that found a full batch, or none
}

// runQueue runs a queue mapping's pollers, as many as its backlog needs,
// until ctx is done.
func (r *Runner) runQueue(ctx context.Context, m Mapping, filters []*Filter, sc *scale) {
	limit := m.Concurrency
	if limit <= 0 {
		limit = MaxQueuePollers
	}
	sc.min = int32(min(StartPollers, limit))
	var wg sync.WaitGroup
	spawn := func() {
		sc.pollers.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.pollQueue(ctx, m, filters, sc)
		}()
	}
	for i := int32(0); i < sc.min; i++ {
		spawn()
	}
	t := time.NewTicker(scaleEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-t.C:
		}
		full, misses := sc.full.Swap(0), sc.misses.Swap(0)
		if n := int(sc.pollers.Load()); full > 0 && misses == 0 && n < limit {
			add := min(PollersPerSecond, limit-n)
			r.log.Debug("sqs event: more pollers for the backlog", "function", m.Function, "queue", m.Queue, "pollers", n+add)
			for i := 0; i < add; i++ {
				spawn()
			}
		}
	}
}

// pollQueue feeds a function from a queue: it receives up to BatchSize
// messages (gathering for BatchWindow), invokes the function with them
// and deletes those it processed; the others become visible again when
// the queue's visibility timeout passes, and reach its dead-letter queue
// after its maxReceiveCount. It stops when ctx is done, or when it has
// found nothing for PollerIdleExit and more than sc.min pollers run.
func (r *Runner) pollQueue(ctx context.Context, m Mapping, filters []*Filter, sc *scale) {
	log := r.log.With("function", m.Function, "queue", m.Queue)
	warned := false
	lastBusy := time.Now()
	defer sc.pollers.Add(-1)
	for ctx.Err() == nil {
		arrived := r.queues.Arrived()
		msgs, ok, err := r.queues.Receive(ctx, m.Queue, m.BatchSize)
		switch {
		case err != nil:
			if ctx.Err() == nil {
				log.Error("sqs event: receive", "err", err)
			}
			wait(ctx, arrived, idle)
			continue
		case !ok:
			if !warned {
				log.Warn("sqs event: the queue does not exist (yet); waiting for it")
				warned = true
			}
			wait(ctx, arrived, idle)
			continue
		case len(msgs) == 0:
			sc.misses.Add(1)
			if time.Since(lastBusy) > PollerIdleExit {
				if n := sc.pollers.Load(); n > sc.min && sc.pollers.CompareAndSwap(n, n-1) {
					sc.pollers.Add(1) // the deferred Add(-1) takes it
					return
				}
			}
			wait(ctx, arrived, idle)
			continue
		}
		warned, lastBusy = false, time.Now()
		if len(msgs) >= m.BatchSize {
			sc.full.Add(1)
		}
		if m.BatchWindow > 0 && len(msgs) < m.BatchSize {
			deadline := time.Now().Add(m.BatchWindow)
			for len(msgs) < m.BatchSize && time.Now().Before(deadline) && ctx.Err() == nil {
				ch := r.queues.Arrived()
				more, _, err := r.queues.Receive(ctx, m.Queue, m.BatchSize-len(msgs))
				if err != nil {
					break
				}
				for _, x := range more { // one visible again in the window is in the batch once, with its latest receipt
					dup := false
					for i := range msgs {
						if msgs[i].ID == x.ID {
							msgs[i], dup = x, true
						}
					}
					if !dup {
						msgs = append(msgs, x)
					}
				}
				if len(more) == 0 {
					wait(ctx, ch, time.Until(deadline))
				}
			}
		}
		r.deliverMessages(ctx, log, m, filters, msgs)
	}
}

func (r *Runner) deliverMessages(ctx context.Context, log *slog.Logger, m Mapping, filters []*Filter, msgs []sqs.Received) {
	records := r.sqsRecords(m, msgs)
	var batch []sqsRecord
	var done []string // receipts of messages processed (or filtered out, which Lambda deletes too)
	for _, rec := range records {
		doc, _ := json.Marshal(rec)
		if matches(filters, doc) {
			batch = append(batch, rec)
		} else {
			done = append(done, rec.ReceiptHandle)
		}
	}
	if len(batch) > 0 {
		payload, _ := json.Marshal(map[string]any{"Records": batch})
		res, err := r.inv.Invoke(ctx, &lambda.Request{Function: m.Function, Payload: payload})
		switch {
		case err != nil:
			if ctx.Err() == nil {
				log.Warn("sqs event: invoke", "err", err, "messages", len(batch))
			}
		case res.FunctionError != "":
			log.Info("sqs event: the function failed; its messages return after the visibility timeout", "error", res.ErrorType, "messages", len(batch))
		default:
			failed := map[string]bool{}
			if m.ReportFailures {
				failed = reportedFailures(res.Payload, batch)
			}
			for _, rec := range batch {
				if !failed[rec.MessageID] {
					done = append(done, rec.ReceiptHandle)
				}
			}
		}
	}
	if len(done) > 0 {
		if err := r.queues.Delete(context.WithoutCancel(ctx), m.Queue, done); err != nil {
			log.Error("sqs event: delete the processed messages", "err", err)
		}
	}
}

// reportedFailures is the batchItemFailures of a response: the message
// ids to keep. A response that is not a valid report keeps every message,
// as on Lambda.
func reportedFailures(payload []byte, batch []sqsRecord) map[string]bool {
	all := map[string]bool{}
	for _, rec := range batch {
		all[rec.MessageID] = true
	}
	var resp struct {
		BatchItemFailures []struct {
			ItemIdentifier any `json:"itemIdentifier"`
		} `json:"batchItemFailures"`
	}
	trimmed := string(payload)
	if trimmed == "" || trimmed == "null" {
		return map[string]bool{}
	}
	if json.Unmarshal(payload, &resp) != nil {
		return all
	}
	out := map[string]bool{}
	for _, f := range resp.BatchItemFailures {
		id, ok := f.ItemIdentifier.(string)
		if !ok || !all[id] {
			return all
		}
		out[id] = true
	}
	return out
}
