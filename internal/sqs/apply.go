package sqs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/cloudlet/cloudlet/internal/store"
)

// QueueSpec is a queue a deployed project declares (resources.Resources,
// Type AWS::SQS::Queue).
type QueueSpec struct {
	Name string
	// Properties are the resource's evaluated CloudFormation properties.
	Properties map[string]any
	// Origin says where the queue is declared, for errors.
	Origin string
}

// cfnAttributes turns CloudFormation's properties into the queue's
// attributes and tags.
func cfnAttributes(spec QueueSpec) (map[string]string, map[string]string, error) {
	attrs, tags := map[string]string{}, map[string]string{}
	for k, v := range spec.Properties {
		switch k {
		case "QueueName":
		case "Tags":
			list, _ := v.([]any)
			for _, t := range list {
				m, _ := t.(map[string]any)
				key, _ := m["Key"].(string)
				val, _ := m["Value"].(string)
				tags[key] = val
			}
		case "RedrivePolicy", "RedriveAllowPolicy":
			if s, ok := v.(string); ok {
				attrs[k] = s
				continue
			}
			b, err := json.Marshal(v)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %s: %v", spec.Origin, k, err)
			}
			attrs[k] = string(b)
		default:
			switch t := v.(type) {
			case string:
				attrs[k] = t
			case float64:
				attrs[k] = strconv.FormatFloat(t, 'f', -1, 64)
			case bool:
				attrs[k] = strconv.FormatBool(t)
			default:
				return nil, nil, fmt.Errorf("%s: %s must be a string or a number", spec.Origin, k)
			}
		}
	}
	if e := checkAttributes(attrs); e != nil {
		return nil, nil, fmt.Errorf("%s: %s", spec.Origin, e.Message)
	}
	return attrs, tags, nil
}

// Apply creates the queues a deploy declares, or sets their attributes
// and tags to what it declares, all in one store transaction. Queues no
// longer declared are kept, with their messages.
func (s *Service) Apply(ctx context.Context, specs []QueueSpec) error {
	type want struct {
		spec        QueueSpec
		attrs, tags map[string]string
	}
	var ws []want
	for _, spec := range specs {
		if !queueNameRe.MatchString(spec.Name) {
			return fmt.Errorf("%s: QueueName %q: can only include alphanumeric characters, hyphens, or underscores, 1 to 80 in length (a FIFO queue's ending in .fifo)", spec.Origin, spec.Name)
		}
		a, t, err := cfnAttributes(spec)
		if err != nil {
			return err
		}
		if e := checkQueueType(spec.Name, a); e != nil {
			return fmt.Errorf("%s: %s", spec.Origin, e.Message)
		}
		ws = append(ws, want{spec, a, t})
	}
	var refused error
	err := s.st.Update(ctx, func(tx *store.Tx) error {
		refused = nil
		now := time.Now().Unix()
		for _, w := range ws {
			have, err := loadQueueTx(tx, w.spec.Name)
			if err != nil {
				return err
			}
			if have == nil {
				a, _ := json.Marshal(w.attrs)
				t, _ := json.Marshal(w.tags)
				if _, err := tx.Exec(`INSERT INTO sqs_queues (name, attributes, tags, created, modified, next_seq) VALUES (?, ?, ?, ?, ?, 1)`,
					w.spec.Name, string(a), string(t), now, now); err != nil {
					return err
				}
				continue
			}
			have.attrs, have.tags, have.modified = w.attrs, w.tags, now
			if err := saveQueueTx(tx, have); err != nil {
				return err
			}
		}
		// dead-letter queues may be declared in any order: checked once all are there
		for _, w := range ws {
			e, err := s.checkRedriveTx(tx, w.spec.Name, w.attrs)
			if err != nil {
				return err
			}
			if e != nil {
				refused = fmt.Errorf("%s: %s", w.spec.Origin, e.Message)
				return refused
			}
		}
		return nil
	})
	s.wake()
	if refused != nil {
		return refused
	}
	if err == nil {
		for _, w := range ws {
			s.refreshPolicy(ctx, w.spec.Name)
		}
	}
	return err
}

// Received is a message handed to an event source poller.
type Received struct {
	ID, Receipt, Body string
	MD5OfBody         string
	// Attributes are the system attributes a Lambda record carries.
	Attributes map[string]string
	// MessageAttributes by name: DataType, and StringValue or BinaryValue.
	MessageAttributes map[string]MessageAttribute
	Sent              time.Time
}

// MessageAttribute is one message attribute.
type MessageAttribute struct {
	DataType    string
	StringValue string
	BinaryValue []byte
}

// Receive takes up to max visible messages of the named queue, in flight
// for the queue's visibility timeout; ok is false when there is no such
// queue.
func (s *Service) Receive(ctx context.Context, name string, max int) (msgs []Received, ok bool, err error) {
	var q *queue
	if err := s.st.View(ctx, func(tx *store.Tx) (err error) {
		q, err = loadQueueTx(tx, name)
		return err
	}); err != nil || q == nil {
		return nil, false, err
	}
	for max > 0 {
		n := min(max, 10)
		got, err := s.take(ctx, q, n, q.seconds("VisibilityTimeout"))
		if err != nil {
			return msgs, true, err
		}
		for _, m := range got {
			r := Received{ID: m.id, Receipt: m.receipt, Body: m.body, MD5OfBody: md5Hex(m.body), Sent: time.UnixMilli(m.sent),
				Attributes: map[string]string{
					"ApproximateReceiveCount": strconv.Itoa(m.receives), "SentTimestamp": strconv.FormatInt(m.sent, 10),
					"SenderId": m.st.Sender, "ApproximateFirstReceiveTimestamp": strconv.FormatInt(m.first, 10),
				}, MessageAttributes: map[string]MessageAttribute{}}
			if m.st.Group != "" {
				r.Attributes["MessageGroupId"], r.Attributes["MessageDeduplicationId"], r.Attributes["SequenceNumber"] = m.st.Group, m.st.Dedup, seqNumber(m.seq)
			}
			for k, a := range m.st.Attrs {
				r.MessageAttributes[k] = MessageAttribute{DataType: a.DataType, StringValue: a.StringValue, BinaryValue: a.BinaryValue}
			}
			msgs = append(msgs, r)
		}
		if len(got) < n {
			break
		}
		max -= len(got)
	}
	return msgs, true, nil
}

// Delete deletes the messages of the named queue its receipts name.
func (s *Service) Delete(ctx context.Context, name string, receipts []string) error {
	q := &queue{name: name}
	return s.st.Update(ctx, func(tx *store.Tx) error {
		for _, h := range receipts {
			if e := deleteTx(tx, q, h); e != nil {
				return errors.New(e.Message)
			}
		}
		return nil
	})
}

// Arrived returns a channel closed the next time messages are committed
// or made visible.
func (s *Service) Arrived() <-chan struct{} { return s.arrived() }

// ARN is the named queue's ARN.
func (s *Service) ARN(name string) string { return s.arn(name) }

// Region is the region the service's ARNs name.
func (s *Service) Region() string { return s.region }

// VisibilityTimeout is the named queue's visibility timeout; ok is false
// when there is no such queue.
func (s *Service) VisibilityTimeout(ctx context.Context, name string) (time.Duration, bool, error) {
	var q *queue
	err := s.st.View(ctx, func(tx *store.Tx) (err error) {
		q, err = loadQueueTx(tx, name)
		return err
	})
	if err != nil || q == nil {
		return 0, false, err
	}
	return q.seconds("VisibilityTimeout"), true, nil
}

// SendTx sends one message to the named queue in tx, checked as
// SendMessage checks it, on behalf of sender (a SenderId). refused, when
// not "", says why the queue will not take it (there is no such queue,
// it is a FIFO queue — Lambda sends its records to standard queues only
// — or the message breaks its limits), and nothing was written; err is
// the store's. Call Wake once tx has committed.
func (s *Service) SendTx(tx *store.Tx, name, body string, attrs map[string]MessageAttribute, sender string) (id, refused string, err error) {
	q, err := loadQueueTx(tx, name)
	switch {
	case err != nil:
		return "", "", err
	case q == nil:
		return "", "the queue does not exist", nil
	case q.fifo():
		return "", "the queue is a FIFO queue; records go to standard queues only", nil
	}
	m := &sendEntry{MessageBody: &body}
	if len(attrs) > 0 {
		m.MessageAttributes = map[string]attributeValue{}
		for k, a := range attrs {
			m.MessageAttributes[k] = attributeValue{DataType: a.DataType, StringValue: a.StringValue, BinaryValue: a.BinaryValue}
		}
	}
	if e := m.check(q); e != nil {
		return "", e.Message, nil
	}
	out, err := enqueueTx(tx, q, []*sendEntry{m}, sender, time.Now())
	if err != nil {
		return "", "", err
	}
	return out[0].id, "", nil
}

// Wake tells receivers waiting on a long poll that messages were sent
// (after SendTx's transaction committed).
func (s *Service) Wake() { s.wake() }
