package sqs

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cloudlet/cloudlet/internal/awsapi"
	"github.com/cloudlet/cloudlet/internal/store"
)

// attributeValue is a message attribute.
type attributeValue struct {
	DataType    string `json:"DataType"`
	StringValue string `json:"StringValue,omitempty"`
	BinaryValue []byte `json:"BinaryValue,omitempty"`
}

// md5OfAttributes is MD5OfMessageAttributes as SQS computes it: for each
// attribute by name, the name, the data type and the value, each with a
// 4-byte big-endian length, the value after a transport byte (1 for
// strings and numbers, 2 for binaries).
func md5OfAttributes(attrs map[string]attributeValue) string {
	if len(attrs) == 0 {
		return ""
	}
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	h := md5.New()
	field := func(b []byte) {
		var l [4]byte
		binary.BigEndian.PutUint32(l[:], uint32(len(b)))
		h.Write(l[:])
		h.Write(b)
	}
	for _, n := range names {
		a := attrs[n]
		field([]byte(n))
		field([]byte(a.DataType))
		if strings.HasPrefix(a.DataType, "Binary") {
			h.Write([]byte{2})
			field(a.BinaryValue)
		} else {
			h.Write([]byte{1})
			field([]byte(a.StringValue))
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// validBody reports whether a body holds only the characters SQS allows:
// #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF.
func validBody(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		switch {
		case r == 0x9 || r == 0xA || r == 0xD:
		case r >= 0x20 && r <= 0xD7FF:
		case r >= 0xE000 && r <= 0xFFFD:
		case r >= 0x10000 && r <= 0x10FFFF:
		default:
			return false
		}
	}
	return true
}

// stored is a message's attributes as kept with it.
type stored struct {
	Attrs  map[string]attributeValue `json:"a,omitempty"`
	System map[string]attributeValue `json:"s,omitempty"`
	Sender string                    `json:"u"`
	Group  string                    `json:"g,omitempty"` // FIFO
	Dedup  string                    `json:"d,omitempty"` // FIFO
	// Source is the queue a message in a dead-letter queue came from.
	Source string `json:"src,omitempty"`
}

// dedupWindow is how long a FIFO queue remembers a deduplication id.
const dedupWindow = 5 * time.Minute

// seqNumber is a FIFO message's SequenceNumber as SQS writes them.
func seqNumber(seq int64) string { return fmt.Sprintf("1%019d", seq) }

type sendEntry struct {
	ID                      string                    `json:"Id"`
	MessageBody             *string                   `json:"MessageBody"`
	DelaySeconds            *int64                    `json:"DelaySeconds"`
	MessageAttributes       map[string]attributeValue `json:"MessageAttributes"`
	MessageSystemAttributes map[string]attributeValue `json:"MessageSystemAttributes"`
	MessageGroupID          string                    `json:"MessageGroupId"`
	MessageDeduplicationID  string                    `json:"MessageDeduplicationId"`
}

// check validates one message to send against q.
func (m *sendEntry) check(q *queue) *awsapi.Error {
	if m.MessageBody == nil {
		return missingParameter("MessageBody")
	}
	if *m.MessageBody == "" {
		return invalidParameter("The request must contain a non-empty message body.")
	}
	if !validBody(*m.MessageBody) {
		return invalidParameter("Invalid binary character in the message body. Valid characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF")
	}
	if m.DelaySeconds != nil && (*m.DelaySeconds < 0 || *m.DelaySeconds > 900) {
		return invalidParameter(fmt.Sprintf("Value %d for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900.", *m.DelaySeconds))
	}
	if q.fifo() {
		if m.MessageGroupID == "" {
			return missingParameter("MessageGroupId")
		}
		if m.DelaySeconds != nil && *m.DelaySeconds != 0 {
			return invalidParameter(fmt.Sprintf("Value %d for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type.", *m.DelaySeconds))
		}
		if m.MessageDeduplicationID == "" && q.attr("ContentBasedDeduplication") != "true" {
			return invalidParameter("The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly")
		}
		for _, v := range []string{m.MessageGroupID, m.MessageDeduplicationID} {
			if len(v) > 128 || strings.IndexFunc(v, func(r rune) bool { return r < 0x21 || r > 0x7e }) >= 0 {
				return invalidParameter("Value " + v + " for parameter MessageGroupId or MessageDeduplicationId is invalid. Reason: It may hold up to 128 printable ASCII characters.")
			}
		}
	} else if m.MessageDeduplicationID != "" {
		return invalidParameter("The request include parameter that is not valid for this queue type")
	}
	if len(m.MessageAttributes) > 10 {
		return invalidParameter(fmt.Sprintf("Number of message attributes [%d] exceeds the allowed maximum [10].", len(m.MessageAttributes)))
	}
	size := len(*m.MessageBody)
	for n, a := range m.MessageAttributes {
		if n == "" || len(n) > 256 || strings.HasPrefix(strings.ToLower(n), "aws.") || strings.HasPrefix(strings.ToLower(n), "amazon.") {
			return invalidParameter("Message attribute name '" + n + "' is invalid.")
		}
		base, _, _ := strings.Cut(a.DataType, ".")
		switch base {
		case "String", "Number":
			if a.StringValue == "" {
				return invalidParameter("Message (user) attribute '" + n + "' must contain a non-empty value of type '" + base + "'.")
			}
			if base == "Number" {
				if _, err := strconv.ParseFloat(a.StringValue, 64); err != nil {
					return invalidParameter("Can't cast the value of message (user) attribute '" + n + "' to a number.")
				}
			}
		case "Binary":
			if len(a.BinaryValue) == 0 {
				return invalidParameter("Message (user) attribute '" + n + "' must contain a non-empty value of type 'Binary'.")
			}
		default:
			return invalidParameter("The type of message (user) attribute '" + n + "' is invalid. You must use only the following supported type prefixes: Binary, Number, String.")
		}
		size += len(n) + len(a.DataType) + len(a.StringValue) + len(a.BinaryValue)
	}
	for n := range m.MessageSystemAttributes {
		if n != "AWSTraceHeader" {
			return invalidParameter("Message system attribute name '" + n + "' is invalid.")
		}
	}
	if max, _ := strconv.Atoi(q.attr("MaximumMessageSize")); size > max {
		return invalidParameter(fmt.Sprintf("One or more parameters are invalid. Reason: Message must be shorter than %d bytes.", max))
	}
	return nil
}

// sent is a message enqueued: its id, and its SequenceNumber (FIFO).
type sent struct{ id, seq string }

// enqueueTx adds messages to q in tx, sent now. In a FIFO queue a message
// whose deduplication id was seen in the last five minutes is not added
// again: it answers as the message it repeats.
func enqueueTx(tx *store.Tx, q *queue, msgs []*sendEntry, sender string, now time.Time) ([]sent, error) {
	var seq int64
	if err := tx.QueryRow(`SELECT next_seq FROM sqs_queues WHERE name = ?`, q.name).Scan(&seq); err != nil {
		return nil, err
	}
	if q.fifo() {
		if _, err := tx.Exec(`DELETE FROM sqs_dedup WHERE queue = ? AND at < ?`, q.name, now.Add(-dedupWindow).UnixMilli()); err != nil {
			return nil, err
		}
	}
	out := make([]sent, len(msgs))
	for i, m := range msgs {
		st := stored{Attrs: m.MessageAttributes, System: m.MessageSystemAttributes, Sender: sender}
		if q.fifo() {
			st.Group, st.Dedup = m.MessageGroupID, m.MessageDeduplicationID
			if st.Dedup == "" {
				sum := sha256.Sum256([]byte(*m.MessageBody))
				st.Dedup = hex.EncodeToString(sum[:])
			}
			key := st.Dedup
			if q.attr("DeduplicationScope") == "messageGroup" {
				key = st.Group + "\x00" + st.Dedup
			}
			var id string
			var was int64
			err := tx.QueryRow(`SELECT id, seq FROM sqs_dedup WHERE queue = ? AND dedup = ?`, q.name, key).Scan(&id, &was)
			if err == nil {
				out[i] = sent{id, seqNumber(was)}
				continue
			}
			out[i] = sent{newID(), seqNumber(seq)}
			if _, err := tx.Exec(`INSERT INTO sqs_dedup (queue, dedup, id, seq, at) VALUES (?, ?, ?, ?, ?)`, q.name, key, out[i].id, seq, now.UnixMilli()); err != nil {
				return nil, err
			}
		} else {
			out[i] = sent{id: newID()}
		}
		delay := q.seconds("DelaySeconds")
		if m.DelaySeconds != nil && !q.fifo() {
			delay = time.Duration(*m.DelaySeconds) * time.Second
		}
		doc, _ := json.Marshal(st)
		if _, err := tx.Exec(`INSERT INTO sqs_messages (queue, seq, id, body, attributes, sent, visible, receives, first_receive, receipt, grp)
			VALUES (?, ?, ?, ?, ?, ?, ?, 0, 0, '', ?)`, q.name, seq, out[i].id, *m.MessageBody, string(doc), now.UnixMilli(), now.Add(delay).UnixMilli(), st.Group); err != nil {
			return nil, err
		}
		seq++
	}
	_, err := tx.Exec(`UPDATE sqs_queues SET next_seq = ? WHERE name = ?`, seq, q.name)
	return out, err
}

// sender is a message's SenderId: the access key that sent it.
func sender(call *awsapi.Call) string { return call.AccessKeyID }

func (s *Service) sendMessage(r *http.Request, call *awsapi.Call) (any, *awsapi.Error) {
	var in struct {
		QueueURL string `json:"QueueUrl"`
		sendEntry
	}
	if e := decode(call, &in); e != nil {
		return nil, e
	}
	q, e := s.findQueue(r, call, "SendMessage", in.QueueURL)
	if e != nil {
		return nil, e
	}
	if e := in.sendEntry.check(q); e != nil {
		return nil, e
	}
	var ids []sent
	var gone bool
	err := s.st.Update(r.Context(), func(tx *store.Tx) (err error) {
		if cur, err := loadQueueTx(tx, q.name); err != nil || cur == nil {
			gone = cur == nil
			return err
		}
		ids, err = enqueueTx(tx, q, []*sendEntry{&in.sendEntry}, sender(call), time.Now())
		return err
	})
	if err != nil {
		return nil, internalError(s, "send message", err)
	}
	if gone {
		return nil, errNoQueue()
	}
	s.wake()
	out := map[string]string{"MessageId": ids[0].id, "MD5OfMessageBody": md5Hex(*in.MessageBody)}
	if ids[0].seq != "" {
		out["SequenceNumber"] = ids[0].seq
	}
	if m := md5OfAttributes(in.MessageAttributes); m != "" {
		out["MD5OfMessageAttributes"] = m
	}
	if m := md5OfAttributes(in.MessageSystemAttributes); m != "" {
		out["MD5OfMessageSystemAttributes"] = m
	}
	return out, nil
}

// batchError is one failed entry of a batch.
type batchError struct {
	ID          string `json:"Id"`
	SenderFault bool   `json:"SenderFault"`
	Code        string `json:"Code"`
	Message     string `json:"Message"`
}

func checkBatchIDs(ids []string) *awsapi.Error {
	if len(ids) == 0 {
		return (&sqsError{"EmptyBatchRequest", "AWS.SimpleQueueService.EmptyBatchRequest", 400, "There should be at least one SendMessageBatchRequestEntry in the request."}).awsError()
	}
	if len(ids) > 10 {
		return (&sqsError{"TooManyEntriesInBatchRequest", "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", 400,
			fmt.Sprintf("Maximum number of entries per request are 10. You have sent %d.", len(ids))}).awsError()
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if id == "" || len(id) > 80 || strings.IndexFunc(id, func(r rune) bool {
			return !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
		}) >= 0 {
			return (&sqsError{"InvalidBatchEntryId", "AWS.SimpleQueueService.InvalidBatchEntryId", 400,
				"A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long."}).awsError()
		}
		if seen[id] {
			return (&sqsError{"BatchEntryIdsNotDistinct", "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", 400, "Id " + id + " repeated."}).awsError()
		}
		seen[id] = true
	}
	return nil
}

func (s *Service) sendMessageBatch(r *http.Request, call *awsapi.Call) (any, *awsapi.Error) {
	var in struct {
		QueueURL string       `json:"QueueUrl"`
		Entries  []*sendEntry `json:"Entries"`
	}
	if e := decode(call, &in); e != nil {
		return nil, e
	}
	q, e := s.findQueue(r, call, "SendMessage", in.QueueURL)
	if e != nil {
		return nil, e
	}
	ids := make([]string, len(in.Entries))
	total := 0
	for i, m := range in.Entries {
		if m == nil {
			return nil, missingParameter("SendMessageBatchRequestEntry." + strconv.Itoa(i+1) + ".Id")
		}
		ids[i] = m.ID
		if m.MessageBody != nil {
			total += len(*m.MessageBody)
		}
	}
	if e := checkBatchIDs(ids); e != nil {
		return nil, e
	}
	if max, _ := strconv.Atoi(q.attr("MaximumMessageSize")); total > max {
		return nil, (&sqsError{"BatchRequestTooLong", "AWS.SimpleQueueService.BatchRequestTooLong", 400,
			fmt.Sprintf("Batch requests cannot be longer than %d bytes. You have sent %d bytes.", max, total)}).awsError()
	}
	var good []*sendEntry
	failed := []batchError{}
	for _, m := range in.Entries {
		if e := m.check(q); e != nil {
			failed = append(failed, batchError{ID: m.ID, SenderFault: true, Code: e.Code, Message: e.Message})
			continue
		}
		good = append(good, m)
	}
	var msgIDs []sent
	var gone bool
	if len(good) > 0 {
		err := s.st.Update(r.Context(), func(tx *store.Tx) (err error) {
			if cur, err := loadQueueTx(tx, q.name); err != nil || cur == nil {
				gone = cur == nil
				return err
			}
			msgIDs, err = enqueueTx(tx, q, good, sender(call), time.Now())
			return err
		})
		if err != nil {
			return nil, internalError(s, "send message batch", err)
		}
		if gone {
			return nil, errNoQueue()
		}
		s.wake()
	}
	okEntries := make([]map[string]string, len(good))
	for i, m := range good {
		ent := map[string]string{"Id": m.ID, "MessageId": msgIDs[i].id, "MD5OfMessageBody": md5Hex(*m.MessageBody)}
		if msgIDs[i].seq != "" {
			ent["SequenceNumber"] = msgIDs[i].seq
		}
		if h := md5OfAttributes(m.MessageAttributes); h != "" {
			ent["MD5OfMessageAttributes"] = h
		}
		if h := md5OfAttributes(m.MessageSystemAttributes); h != "" {
			ent["MD5OfMessageSystemAttributes"] = h
		}
		okEntries[i] = ent
	}
	return map[string]any{"Successful": okEntries, "Failed": failed}, nil
}

// receipt encodes which message, and which receive of it, a receipt
// handle names.
func receipt(queue string, seq int64) string {
	nonce := make([]byte, 12)
	rand.Read(nonce)
	return base64.RawURLEncoding.EncodeToString([]byte(queue + "\x00" + strconv.FormatInt(seq, 10) + "\x00" + hex.EncodeToString(nonce)))
}

func parseReceipt(h string) (queue string, seq int64, ok bool) {
	b, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		return "", 0, false
	}
	parts := strings.Split(string(b), "\x00")
	if len(parts) != 3 {
		return "", 0, false
	}
	seq, err = strconv.ParseInt(parts[1], 10, 64)
	return parts[0], seq, err == nil
}

type message struct {
	MessageID              string                    `json:"MessageId"`
	ReceiptHandle          string                    `json:"ReceiptHandle"`
	MD5OfBody              string                    `json:"MD5OfBody"`
	Body                   string                    `json:"Body"`
	Attributes             map[string]string         `json:"Attributes,omitempty"`
	MD5OfMessageAttributes string                    `json:"MD5OfMessageAttributes,omitempty"`
	MessageAttributes      map[string]attributeValue `json:"MessageAttributes,omitempty"`
}

// wanted filters attribute names by a request's names: All, .*, a
// prefix ending in .*, or a name.
func wanted(names []string, name string) bool {
	for _, n := range names {
		switch {
		case n == "All" || n == ".*":
			return true
		case strings.HasSuffix(n, ".*") && strings.HasPrefix(name, strings.TrimSuffix(n, "*")):
			return true
		case n == name:
			return true
		}
	}
	return false
}

func (s *Service) receiveMessage(r *http.Request, call *awsapi.Call) (any, *awsapi.Error) {
	var in struct {
		QueueURL                    string   `json:"QueueUrl"`
		MaxNumberOfMessages         *int     `json:"MaxNumberOfMessages"`
		WaitTimeSeconds             *int     `json:"WaitTimeSeconds"`
		VisibilityTimeout           *int     `json:"VisibilityTimeout"`
		AttributeNames              []string `json:"AttributeNames"`
		MessageSystemAttributeNames []string `json:"MessageSystemAttributeNames"`
		MessageAttributeNames       []string `json:"MessageAttributeNames"`
		ReceiveRequestAttemptID     string   `json:"ReceiveRequestAttemptId"`
	}
	if e := decode(call, &in); e != nil {
		return nil, e
	}
	q, e := s.findQueue(r, call, "ReceiveMessage", in.QueueURL)
	if e != nil {
		return nil, e
	}
	max := 1
	if in.MaxNumberOfMessages != nil {
		if *in.MaxNumberOfMessages < 1 || *in.MaxNumberOfMessages > 10 {
			return nil, invalidParameter(fmt.Sprintf("Value %d for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.", *in.MaxNumberOfMessages))
		}
		max = *in.MaxNumberOfMessages
	}
	wait := q.seconds("ReceiveMessageWaitTimeSeconds")
	if in.WaitTimeSeconds != nil {
		if *in.WaitTimeSeconds < 0 || *in.WaitTimeSeconds > 20 {
			return nil, invalidParameter(fmt.Sprintf("Value %d for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.", *in.WaitTimeSeconds))
		}
		wait = time.Duration(*in.WaitTimeSeconds) * time.Second
	}
	vis := q.seconds("VisibilityTimeout")
	if in.VisibilityTimeout != nil {
		if *in.VisibilityTimeout < 0 || *in.VisibilityTimeout > 43200 {
			return nil, invalidParameter(fmt.Sprintf("Value %d for parameter VisibilityTimeout is invalid. Reason: Must be >= 0 and <= 43200, if provided.", *in.VisibilityTimeout))
		}
		vis = time.Duration(*in.VisibilityTimeout) * time.Second
	}
	sysNames := append(append([]string(nil), in.AttributeNames...), in.MessageSystemAttributeNames...)
	attempt := ""
	if q.fifo() && in.ReceiveRequestAttemptID != "" {
		id := in.ReceiveRequestAttemptID
		if len(id) > 128 || strings.IndexFunc(id, func(r rune) bool { return r < 0x21 || r > 0x7e }) >= 0 {
			return nil, invalidParameter("Value " + id + " for parameter ReceiveRequestAttemptId is invalid. Reason: It may hold up to 128 printable ASCII characters.")
		}
		attempt = q.name + "\x00" + id
	}
	deadline := time.Now().Add(wait)
	for {
		arrived := s.arrived()
		var msgs []*taken
		var err error
		if attempt != "" {
			msgs, err = s.retake(r.Context(), q, attempt, vis)
		}
		if err == nil && len(msgs) == 0 {
			msgs, err = s.take(r.Context(), q, max, vis)
			if err == nil && attempt != "" && len(msgs) > 0 {
				s.rememberAttempt(attempt, msgs)
			}
		}
		if err != nil {
			return nil, internalError(s, "receive message", err)
		}
		if len(msgs) > 0 || !time.Now().Before(deadline) {
			out := make([]message, len(msgs))
			for i, m := range msgs {
				out[i] = m.answer(sysNames, in.MessageAttributeNames)
			}
			if len(out) == 0 {
				return map[string]any{}, nil
			}
			return map[string]any{"Messages": out}, nil
		}
		// Long poll: wait for a commit, for a delayed or in-flight message
		// to come due, or for the deadline.
		next := time.Until(deadline)
		if due, ok := s.nextDue(r.Context(), q.name); ok && time.Until(due) < next {
			next = max64(time.Until(due), time.Millisecond)
		}
		t := time.NewTimer(next)
		select {
		case <-r.Context().Done():
			t.Stop()
			return map[string]any{}, nil
		case <-arrived:
		case <-t.C:
		}
		t.Stop()
	}
}

func max64(a, b time.Duration) time.Duration {
	if a > b {
		return a
	}
	return b
}

// nextDue is when the queue's next invisible message becomes visible.
func (s *Service) nextDue(ctx context.Context, name string) (time.Time, bool) {
	var at *int64
	s.st.View(ctx, func(tx *store.Tx) error {
		return tx.QueryRow(`SELECT MIN(visible) FROM sqs_messages WHERE queue = ? AND visible > ?`, name, time.Now().UnixMilli()).Scan(&at)
	})
	if at == nil {
		return time.Time{}, false
	}
	return time.UnixMilli(*at), true
}

// taken is a message handed to a receiver.
type taken struct {
	seq               int64
	id, body, receipt string
	st                stored
	sent, first       int64
	receives          int
}

func (m *taken) answer(sysNames, attrNames []string) message {
	out := message{MessageID: m.id, ReceiptHandle: m.receipt, MD5OfBody: md5Hex(m.body), Body: m.body}
	sys := map[string]string{
		"SenderId": m.st.Sender, "SentTimestamp": strconv.FormatInt(m.sent, 10),
		"ApproximateReceiveCount": strconv.Itoa(m.receives), "ApproximateFirstReceiveTimestamp": strconv.FormatInt(m.first, 10),
	}
	if th, ok := m.st.System["AWSTraceHeader"]; ok {
		sys["AWSTraceHeader"] = th.StringValue
	}
	if m.st.Group != "" {
		sys["MessageGroupId"], sys["MessageDeduplicationId"], sys["SequenceNumber"] = m.st.Group, m.st.Dedup, seqNumber(m.seq)
	}
	for k, v := range sys {
		if wanted(sysNames, k) {
			if out.Attributes == nil {
				out.Attributes = map[string]string{}
			}
			out.Attributes[k] = v
		}
	}
	for k, v := range m.st.Attrs {
		if wanted(attrNames, k) {
			if out.MessageAttributes == nil {
				out.MessageAttributes = map[string]attributeValue{}
			}
			out.MessageAttributes[k] = v
		}
	}
	out.MD5OfMessageAttributes = md5OfAttributes(out.MessageAttributes)
	return out
}

// take receives up to max visible messages of q, oldest first, making
// them invisible for vis; a message received more often than q's
// RedrivePolicy allows moves to the dead-letter queue instead.
func (s *Service) take(ctx context.Context, q *queue, max int, vis time.Duration) ([]*taken, error) {
	var out []*taken
	moved := false
	err := s.st.Update(ctx, func(tx *store.Tx) error {
		out, moved = nil, false
		cur, err := loadQueueTx(tx, q.name)
		if err != nil || cur == nil {
			return err
		}
		var rp redrivePolicy
		var dlq *queue
		if p := cur.attr("RedrivePolicy"); p != "" && json.Unmarshal([]byte(p), &rp) == nil {
			name := rp.DeadLetterTargetArn[strings.LastIndexByte(rp.DeadLetterTargetArn, ':')+1:]
			if name != q.name { // a queue is not its own dead-letter queue
				if dlq, err = loadQueueTx(tx, name); err != nil {
					return err
				}
			}
		}
		now := time.Now()
		seen := map[int64]bool{}
		for len(out) < max {
			query := `SELECT seq, id, body, attributes, sent, receives, first_receive FROM sqs_messages
				WHERE queue = ? AND visible <= ? ORDER BY visible, seq LIMIT ?`
			args := []any{q.name, now.UnixMilli(), max - len(out)}
			if cur.fifo() {
				// In order, and none of a group with a message in flight: a
				// group's messages go out one batch at a time.
				query = `SELECT seq, id, body, attributes, sent, receives, first_receive FROM sqs_messages
					WHERE queue = ? AND visible <= ? AND grp NOT IN (SELECT grp FROM sqs_messages WHERE queue = ? AND visible > ? AND receives > 0)
					ORDER BY seq LIMIT ?`
				args = []any{q.name, now.UnixMilli(), q.name, now.UnixMilli(), max - len(out)}
			}
			rows, err := tx.Query(query, args...)
			if err != nil {
				return err
			}
			var batch []*taken
			for rows.Next() {
				m := &taken{}
				var attrs string
				if err := rows.Scan(&m.seq, &m.id, &m.body, &attrs, &m.sent, &m.receives, &m.first); err != nil {
					rows.Close()
					return err
				}
				if seen[m.seq] { // visible again at once (VisibilityTimeout 0): once per receive
					continue
				}
				seen[m.seq] = true
				json.Unmarshal([]byte(attrs), &m.st)
				batch = append(batch, m)
			}
			rows.Close()
			if len(batch) == 0 {
				break
			}
			for _, m := range batch {
				if dlq != nil && m.receives >= rp.maxReceives() {
					if err := moveTx(tx, q.name, dlq, m); err != nil {
						return err
					}
					moved = true
					continue
				}
				m.receives++
				if m.first == 0 {
					m.first = now.UnixMilli()
				}
				m.receipt = receipt(q.name, m.seq)
				if _, err := tx.Exec(`UPDATE sqs_messages SET visible = ?, receives = ?, first_receive = ?, receipt = ? WHERE queue = ? AND seq = ?`,
					now.Add(vis).UnixMilli(), m.receives, m.first, m.receipt, q.name, m.seq); err != nil {
					return err
				}
				out = append(out, m)
			}
		}
		return nil
	})
	if moved {
		s.wake()
	}
	return out, err
}

// attemptWindow is how long a FIFO queue answers a ReceiveMessage retried
// with the same ReceiveRequestAttemptId with the messages it first got.
const attemptWindow = 5 * time.Minute

type attemptRecord struct {
	seqs     []int64
	receipts []string
	until    time.Time
}

// rememberAttempt keeps what a receive with an attempt id got.
func (s *Service) rememberAttempt(key string, msgs []*taken) {
	a := attemptRecord{until: time.Now().Add(attemptWindow)}
	for _, m := range msgs {
		a.seqs, a.receipts = append(a.seqs, m.seq), append(a.receipts, m.receipt)
	}
	s.attemptsMu.Lock()
	defer s.attemptsMu.Unlock()
	if s.attempts == nil {
		s.attempts = map[string]attemptRecord{}
	}
	now := time.Now()
	for k, v := range s.attempts {
		if now.After(v.until) {
			delete(s.attempts, k)
		}
	}
	s.attempts[key] = a
}

// retake answers a retried receive (same attempt id, within the window)
// with the messages the first one got, when every one is still in
// flight under the same receipt, and starts their visibility timeout
// (vis) again, as SQS documents; otherwise nothing, and the receive goes
// on as a new one.
func (s *Service) retake(ctx context.Context, q *queue, key string, vis time.Duration) ([]*taken, error) {
	s.attemptsMu.Lock()
	a, ok := s.attempts[key]
	s.attemptsMu.Unlock()
	if !ok || time.Now().After(a.until) {
		return nil, nil
	}
	var out []*taken
	err := s.st.Update(ctx, func(tx *store.Tx) error {
		out = nil
		now := time.Now().UnixMilli()
		for i, seq := range a.seqs {
			m := &taken{seq: seq}
			var attrs string
			var visible int64
			err := tx.QueryRow(`SELECT id, body, attributes, sent, receives, first_receive, receipt, visible FROM sqs_messages WHERE queue = ? AND seq = ?`, q.name, seq).
				Scan(&m.id, &m.body, &attrs, &m.sent, &m.receives, &m.first, &m.receipt, &visible)
			if errors.Is(err, sql.ErrNoRows) || err == nil && (m.receipt != a.receipts[i] || visible <= now) {
				out = nil
				return nil
			}
			if err != nil {
				return err
			}
			json.Unmarshal([]byte(attrs), &m.st)
			out = append(out, m)
		}
		for _, m := range out {
			if _, err := tx.Exec(`UPDATE sqs_messages SET visible = ? WHERE queue = ? AND seq = ?`, now+vis.Milliseconds(), q.name, m.seq); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// moveTx moves a message to the dead-letter queue, keeping its id, body,
// attributes and the time it was first sent.
func moveTx(tx *store.Tx, from string, dlq *queue, m *taken) error {
	var seq int64
	if err := tx.QueryRow(`SELECT next_seq FROM sqs_queues WHERE name = ?`, dlq.name).Scan(&seq); err != nil {
		return err
	}
	m.st.Source = from
	st, _ := json.Marshal(m.st)
	if _, err := tx.Exec(`INSERT INTO sqs_messages (queue, seq, id, body, attributes, sent, visible, receives, first_receive, receipt, grp)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?)`, dlq.name, seq, m.id, m.body, string(st), m.sent, time.Now().UnixMilli(), m.receives, m.first, m.st.Group); err != nil {
		return err
	}
	if _, err := tx.Exec(`UPDATE sqs_queues SET next_seq = ? WHERE name = ?`, seq+1, dlq.name); err != nil {
		return err
	}
	_, err := tx.Exec(`DELETE FROM sqs_messages WHERE queue = ? AND seq = ?`, from, m.seq)
	return err
}

func errReceipt(h string) *awsapi.Error {
	return (&sqsError{"ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid", 400, "The input receipt handle \"" + h + "\" is not a valid receipt handle."}).awsError()
}

// deleteTx deletes the message a receipt names (nothing when it is gone
// already, or the receipt is not its latest, as SQS answers).
func deleteTx(tx *store.Tx, q *queue, h string) *awsapi.Error {
	name, seq, ok := parseReceipt(h)
	if !ok || name != q.name {
		return errReceipt(h)
	}
	// Only the latest receipt deletes: an earlier one (or one of a queue
	// of the same name deleted since) succeeds and deletes nothing, as SQS
	// documents.
	if _, err := tx.Exec(`DELETE FROM sqs_messages WHERE queue = ? AND seq = ? AND receipt = ?`, q.name, seq, h); err != nil {
		return &awsapi.Error{Code: "InternalError", Status: 500, Message: err.Error()}
	}
	return nil
}

func (s *Service) deleteMessage(r *http.Request, call *awsapi.Call) (any, *awsapi.Error) {
	var in struct {
		QueueURL      string `json:"QueueUrl"`
		ReceiptHandle string `json:"ReceiptHandle"`
	}
	if e := decode(call, &in); e != nil {
		return nil, e
	}
	q, e := s.findQueue(r, call, "DeleteMessage", in.QueueURL)
	if e != nil {
		return nil, e
	}
	if in.ReceiptHandle == "" {
		return nil, missingParameter("ReceiptHandle")
	}
	err := s.st.Update(r.Context(), func(tx *store.Tx) error {
		e = deleteTx(tx, q, in.ReceiptHandle)
		return nil
	})
	if err != nil {
		return nil, internalError(s, "delete message", err)
	}
	if e != nil {
		return nil, e
	}
	return map[string]any{}, nil
}

type receiptEntry struct {
	ID                string `json:"Id"`
	ReceiptHandle     string `json:"ReceiptHandle"`
	VisibilityTimeout *int   `json:"VisibilityTimeout"`
}

func (s *Service) deleteMessageBatch(r *http.Request, call *awsapi.Call) (any, *awsapi.Error) {
	return s.receiptBatch(r, call, "DeleteMessage", func(tx *store.Tx, q *queue, en receiptEntry) (*awsapi.Error, error) {
		return deleteTx(tx, q, en.ReceiptHandle), nil
	})
}

// receiptBatch serves a batch of receipt entries (DeleteMessageBatch,
// ChangeMessageVisibilityBatch), authorized as op: every entry in one
// transaction, each one's refusal answered as its failure.
func (s *Service) receiptBatch(r *http.Request, call *awsapi.Call, op string, each func(*store.Tx, *queue, receiptEntry) (*awsapi.Error, error)) (any, *awsapi.Error) {
	var in struct {
		QueueURL string         `json:"QueueUrl"`
		Entries  []receiptEntry `json:"Entries"`
	}
	if e := decode(call, &in); e != nil {
		return nil, e
	}
	q, e := s.findQueue(r, call, op, in.QueueURL)
	if e != nil {
		return nil, e
	}
	ids := make([]string, len(in.Entries))
	for i, en := range in.Entries {
		ids[i] = en.ID
	}
	if e := checkBatchIDs(ids); e != nil {
		return nil, e
	}
	ok := []map[string]string{}
	failed := []batchError{}
	err := s.st.Update(r.Context(), func(tx *store.Tx) error {
		ok, failed = ok[:0], failed[:0]
		for _, en := range in.Entries {
			e, err := each(tx, q, en)
			if err != nil {
				return err
			}
			if e != nil {
				failed = append(failed, batchError{ID: en.ID, SenderFault: true, Code: e.Code, Message: e.Message})
				continue
			}
			ok = append(ok, map[string]string{"Id": en.ID})
		}
		return nil
	})
	if err != nil {
		return nil, internalError(s, op+" batch", err)
	}
	s.wake() // a visibility of 0 releases messages now
	return map[string]any{"Successful": ok, "Failed": failed}, nil
}

// visibilityTx changes when an in-flight message becomes visible again;
// its receipt must be the latest one.
func visibilityTx(tx *store.Tx, q *queue, h string, secs int) (*awsapi.Error, error) {
	if secs < 0 || secs > 43200 {
		return invalidParameter(fmt.Sprintf("Value %d for parameter VisibilityTimeout is invalid. Reason: VisibilityTimeout must be an integer between 0 and 43200.", secs)), nil
	}
	name, seq, ok := parseReceipt(h)
	if !ok || name != q.name {
		return errReceipt(h), nil
	}
	now := time.Now()
	n, err := tx.Exec(`UPDATE sqs_messages SET visible = ? WHERE queue = ? AND seq = ? AND receipt = ? AND visible > ?`,
		now.Add(time.Duration(secs)*time.Second).UnixMilli(), q.name, seq, h, now.UnixMilli())
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return (&sqsError{"MessageNotInflight", "AWS.SimpleQueueService.MessageNotInflight", 400, "Value " + h + " for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change."}).awsError(), nil
	}
	return nil, nil
}

func (s *Service) changeMessageVisibility(r *http.Request, call *awsapi.Call) (any, *awsapi.Error) {
	var in struct {
		QueueURL string `json:"QueueUrl"`
		receiptEntry
	}
	if e := decode(call, &in); e != nil {
		return nil, e
	}
	q, e := s.findQueue(r, call, "ChangeMessageVisibility", in.QueueURL)
	if e != nil {
		return nil, e
	}
	if in.ReceiptHandle == "" {
		return nil, missingParameter("ReceiptHandle")
	}
	if in.VisibilityTimeout == nil {
		return nil, missingParameter("VisibilityTimeout")
	}
	err := s.st.Update(r.Context(), func(tx *store.Tx) (err error) {
		e, err = visibilityTx(tx, q, in.ReceiptHandle, *in.VisibilityTimeout)
		return err
	})
	if err != nil {
		return nil, internalError(s, "change message visibility", err)
	}
	if e != nil {
		return nil, e
	}
	s.wake() // 0 releases the message now
	return map[string]any{}, nil
}

func (s *Service) changeMessageVisibilityBatch(r *http.Request, call *awsapi.Call) (any, *awsapi.Error) {
	return s.receiptBatch(r, call, "ChangeMessageVisibility", func(tx *store.Tx, q *queue, en receiptEntry) (*awsapi.Error, error) {
		secs := 0
		if en.VisibilityTimeout != nil {
			secs = *en.VisibilityTimeout
		}
		return visibilityTx(tx, q, en.ReceiptHandle, secs)
	})
}

// Sweep deletes messages past their queue's MessageRetentionPeriod; it
// returns how many.
func (s *Service) Sweep(ctx context.Context) (int64, error) {
	var n int64
	err := s.st.Update(ctx, func(tx *store.Tx) error {
		rows, err := tx.Query(`SELECT name, attributes FROM sqs_queues`)
		if err != nil {
			return err
		}
		type cut struct {
			name string
			at   int64
		}
		var cuts []cut
		now := time.Now()
		for rows.Next() {
			var name, a string
			if err := rows.Scan(&name, &a); err != nil {
				rows.Close()
				return err
			}
			q := &queue{name: name}
			json.Unmarshal([]byte(a), &q.attrs)
			cuts = append(cuts, cut{name, now.Add(-q.seconds("MessageRetentionPeriod")).UnixMilli()})
		}
		rows.Close()
		for _, c := range cuts {
			d, err := tx.Exec(`DELETE FROM sqs_messages WHERE queue = ? AND sent < ?`, c.name, c.at)
			if err != nil {
				return err
			}
			n += d
		}
		return nil
	})
	return n, err
}
