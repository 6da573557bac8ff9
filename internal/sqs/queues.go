package sqs

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cloudlet/cloudlet/internal/awsapi"
	"github.com/cloudlet/cloudlet/internal/store"
)

// queue is a queue as kept: its settable attributes (AWS's names and
// string values) and tags.
type queue struct {
	name     string
	attrs    map[string]string
	tags     map[string]string
	created  int64 // Unix seconds
	modified int64
}

// attribute limits: name → [min, max] for the numeric settable ones.
var numericAttrs = map[string][2]int64{
	"DelaySeconds":                  {0, 900},
	"MaximumMessageSize":            {1024, 1048576},
	"MessageRetentionPeriod":        {60, 1209600},
	"ReceiveMessageWaitTimeSeconds": {0, 20},
	"VisibilityTimeout":             {0, 43200},
}

var defaults = map[string]string{
	"DelaySeconds": "0", "MaximumMessageSize": "262144", "MessageRetentionPeriod": "345600",
	"ReceiveMessageWaitTimeSeconds": "0", "VisibilityTimeout": "30", "SqsManagedSseEnabled": "true",
}

// settable are the attributes CreateQueue and SetQueueAttributes take.
var settable = map[string]bool{
	"DelaySeconds": true, "MaximumMessageSize": true, "MessageRetentionPeriod": true, "ReceiveMessageWaitTimeSeconds": true,
	"VisibilityTimeout": true, "Policy": true, "RedrivePolicy": true, "RedriveAllowPolicy": true, "KmsMasterKeyId": true,
	"KmsDataKeyReusePeriodSeconds": true, "SqsManagedSseEnabled": true, "FifoQueue": true, "ContentBasedDeduplication": true,
	"DeduplicationScope": true, "FifoThroughputLimit": true,
}

// readOnly are the attributes GetQueueAttributes answers besides them.
var readOnly = []string{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed",
	"CreatedTimestamp", "LastModifiedTimestamp", "QueueArn"}

var queueNameRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$|^[A-Za-z0-9_-]{1,75}\.fifo$`)

func (s *Service) arn(name string) string {
	return "arn:aws:sqs:" + s.region + ":" + s.account + ":" + name
}

// queueURL is the queue's URL as the SDKs expect it, on the host the
// request came to.
func (s *Service) queueURL(r *http.Request, name string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/" + s.account + "/" + name
}

// nameFromURL is the queue a QueueUrl names (any host: clients reach
// this server under several names); "" when it names no queue of this
// account.
func (s *Service) nameFromURL(u string) string {
	i := strings.LastIndexByte(u, '/')
	if i < 0 {
		return ""
	}
	acct := u[:i]
	if j := strings.LastIndexByte(acct, '/'); j >= 0 {
		acct = acct[j+1:]
	}
	if acct != s.account {
		return ""
	}
	return u[i+1:]
}

// checkAttributes validates settable attributes as SQS does.
func checkAttributes(attrs map[string]string) *awsapi.Error {
	for k, v := range attrs {
		if !settable[k] {
			return invalidAttributeName(k)
		}
		if lim, ok := numericAttrs[k]; ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < lim[0] || n > lim[1] {
				return invalidAttributeValue(fmt.Sprintf("Invalid value for the parameter %s.", k))
			}
		}
		switch k {
		case "FifoQueue", "ContentBasedDeduplication":
			if v != "true" && v != "false" {
				return invalidAttributeValue(fmt.Sprintf("Invalid value for the parameter %s.", k))
			}
		case "DeduplicationScope":
			if v != "queue" && v != "messageGroup" {
				return invalidAttributeValue("Invalid value for the parameter DeduplicationScope.")
			}
		case "FifoThroughputLimit":
			if v != "perQueue" && v != "perMessageGroupId" {
				return invalidAttributeValue("Invalid value for the parameter FifoThroughputLimit.")
			}
		case "RedrivePolicy":
			if v == "" {
				continue
			}
			var rp redrivePolicy
			if json.Unmarshal([]byte(v), &rp) != nil || rp.DeadLetterTargetArn == "" || rp.maxReceives() < 1 || rp.maxReceives() > 1000 {
				return invalidAttributeValue("Value " + v + " for parameter RedrivePolicy is invalid. Reason: Redrive policy is not a valid JSON map with deadLetterTargetArn and maxReceiveCount (1 to 1000).")
			}
		case "Policy":
			if _, err := parseQueuePolicy("", v); v != "" && err != nil {
				return invalidAttributeValue("Invalid value for the parameter Policy.")
			}
		case "RedriveAllowPolicy":
			if v != "" && !json.Valid([]byte(v)) {
				return invalidAttributeValue("Invalid value for the parameter " + k + ".")
			}
		}
	}
	return nil
}

// redrivePolicy is a RedrivePolicy attribute; maxReceiveCount comes as
// a number or a string.
type redrivePolicy struct {
	DeadLetterTargetArn string          `json:"deadLetterTargetArn"`
	MaxReceiveCount     json.RawMessage `json:"maxReceiveCount"`
}

func (rp redrivePolicy) maxReceives() int {
	s := strings.Trim(string(rp.MaxReceiveCount), `"`)
	n, _ := strconv.Atoi(s)
	return n
}

// fifo reports whether q is a FIFO queue.
func (q *queue) fifo() bool { return q.attrs["FifoQueue"] == "true" }

// fifoOnly are the attributes only FIFO queues take.
var fifoOnly = []string{"ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit"}

// checkQueueType refuses attributes that do not fit the queue's name: a
// FIFO queue is named .fifo and says FifoQueue=true, and the other way
// round.
func checkQueueType(name string, attrs map[string]string) *awsapi.Error {
	fifoName := strings.HasSuffix(name, ".fifo")
	if fifoName != (attrs["FifoQueue"] == "true") {
		if fifoName {
			return invalidParameter("The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.")
		}
		return invalidAttributeValue("Invalid value for the parameter FifoQueue. Reason: Queue name must end with .fifo to be a FIFO queue.")
	}
	if !fifoName {
		for _, k := range fifoOnly {
			if _, ok := attrs[k]; ok {
				return invalidAttributeName(k)
			}
		}
	}
	return nil
}

func (q *queue) attr(name string) string {
	if v, ok := q.attrs[name]; ok {
		return v
	}
	return defaults[name]
}

func (q *queue) seconds(name string) time.Duration {
	n, _ := strconv.ParseInt(q.attr(name), 10, 64)
	return time.Duration(n) * time.Second
}

func loadQueueTx(tx *store.Tx, name string) (*queue, error) {
	var attrs, tags string
	q := &queue{name: name}
	err := tx.QueryRow(`SELECT attributes, tags, created, modified FROM sqs_queues WHERE name = ?`, name).Scan(&attrs, &tags, &q.created, &q.modified)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(attrs), &q.attrs); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(tags), &q.tags); err != nil {
		return nil, err
	}
	return q, nil
}

// checkRedriveTx refuses a RedrivePolicy whose dead-letter queue is not
// there, or is the queue itself.
func (s *Service) checkRedriveTx(tx *store.Tx, name string, attrs map[string]string) (*awsapi.Error, error) {
	v := attrs["RedrivePolicy"]
	if v == "" {
		return nil, nil
	}
	var rp redrivePolicy
	json.Unmarshal([]byte(v), &rp)
	target := rp.DeadLetterTargetArn[strings.LastIndexByte(rp.DeadLetterTargetArn, ':')+1:]
	if !strings.HasPrefix(rp.DeadLetterTargetArn, "arn:aws:sqs:"+s.region+":"+s.account+":") || target == name {
		return invalidAttributeValue("Value " + v + " for parameter RedrivePolicy is invalid. Reason: Dead letter target must be another queue of this account and region."), nil
	}
	dlq, err := loadQueueTx(tx, target)
	if err != nil {
		return nil, err
	}
	if dlq == nil {
		return invalidAttributeValue("Value " + v + " for parameter RedrivePolicy is invalid. Reason: Dead letter target does not exist."), nil
	}
	if dlq.fifo() != strings.HasSuffix(name, ".fifo") {
		return invalidAttributeValue("Value " + v + " for parameter RedrivePolicy is invalid. Reason: Dead-letter queue must be same type of queue as the source."), nil
	}
	return nil, nil
}

func saveQueueTx(tx *store.Tx, q *queue) error {
	a, _ := json.Marshal(q.attrs)
	t, _ := json.Marshal(q.tags)
	_, err := tx.Exec(`UPDATE sqs_queues SET attributes = ?, tags = ?, modified = ? WHERE name = ?`, string(a), string(t), q.modified, q.name)
	return err
}

// findQueue authorizes op on the queue a QueueUrl names and reads it.
func (s *Service) findQueue(r *http.Request, call *awsapi.Call, op, url string) (*queue, *awsapi.Error) {
	if url == "" {
		return nil, missingParameter("QueueUrl")
	}
	name := s.nameFromURL(url)
	if name == "" {
		return nil, errNoQueue()
	}
	rp, err := s.queuePolicy(r.Context(), name)
	if err != nil {
		return nil, internalError(s, op, err)
	}
	if e := call.Authorize(ops.Op(op), s.arn(name), rp, nil); e != nil {
		return nil, e
	}
	var q *queue
	err = s.st.View(r.Context(), func(tx *store.Tx) (err error) {
		q, err = loadQueueTx(tx, name)
		return err
	})
	if err != nil {
		return nil, internalError(s, op, err)
	}
	if q == nil {
		return nil, errNoQueue()
	}
	return q, nil
}

func (s *Service) createQueue(r *http.Request, call *awsapi.Call) (any, *awsapi.Error) {
	var in struct {
		QueueName  string            `json:"QueueName"`
		Attributes map[string]string `json:"Attributes"`
		Tags       map[string]string `json:"tags"`
	}
	if e := decode(call, &in); e != nil {
		return nil, e
	}
	if in.QueueName == "" {
		return nil, missingParameter("QueueName")
	}
	if e := call.Authorize(ops.Op("CreateQueue"), s.arn(in.QueueName), nil, nil); e != nil {
		return nil, e
	}
	if !queueNameRe.MatchString(in.QueueName) {
		if strings.HasSuffix(in.QueueName, ".fifo") {
			return nil, invalidParameter("The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.")
		}
		return nil, invalidParameter("Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")
	}
	if e := checkAttributes(in.Attributes); e != nil {
		return nil, e
	}
	if e := checkQueueType(in.QueueName, in.Attributes); e != nil {
		return nil, e
	}
	if in.Attributes == nil {
		in.Attributes = map[string]string{}
	}
	if in.Tags == nil {
		in.Tags = map[string]string{}
	}
	var e *awsapi.Error
	err := s.st.Update(r.Context(), func(tx *store.Tx) error {
		e = nil
		have, err := loadQueueTx(tx, in.QueueName)
		if err != nil {
			return err
		}
		if have != nil {
			// the same name: the same queue if every attribute given matches
			for k, v := range in.Attributes {
				if have.attr(k) != v {
					e = (&sqsError{"QueueNameExists", "QueueAlreadyExists", 400, "A queue already exists with the same name and a different value for attribute " + k}).awsError()
					return nil
				}
			}
			return nil
		}
		if e, err = s.checkRedriveTx(tx, in.QueueName, in.Attributes); err != nil || e != nil {
			return err
		}
		now := time.Now().Unix()
		a, _ := json.Marshal(in.Attributes)
		t, _ := json.Marshal(in.Tags)
		_, err = tx.Exec(`INSERT INTO sqs_queues (name, attributes, tags, created, modified, next_seq) VALUES (?, ?, ?, ?, ?, 1)`,
			in.QueueName, string(a), string(t), now, now)
		return err
	})
	if err != nil {
		return nil, internalError(s, "create queue", err)
	}
	if e != nil {
		return nil, e
	}
	s.refreshPolicy(r.Context(), in.QueueName)
	return map[string]string{"QueueUrl": s.queueURL(r, in.QueueName)}, nil
}

func (s *Service) getQueueURL(r *http.Request, call *awsapi.Call) (any, *awsapi.Error) {
	var in struct {
		QueueName              string `json:"QueueName"`
		QueueOwnerAWSAccountID string `json:"QueueOwnerAWSAccountId"`
	}
	if e := decode(call, &in); e != nil {
		return nil, e
	}
	if in.QueueName == "" {
		return nil, missingParameter("QueueName")
	}
	if in.QueueOwnerAWSAccountID != "" && in.QueueOwnerAWSAccountID != s.account {
		return nil, errNoQueue()
	}
	q, e := s.findQueue(r, call, "GetQueueUrl", s.account+"/"+in.QueueName)
	if e != nil {
		return nil, e
	}
	return map[string]string{"QueueUrl": s.queueURL(r, q.name)}, nil
}

func (s *Service) listQueues(r *http.Request, call *awsapi.Call) (any, *awsapi.Error) {
	var in struct {
		QueueNamePrefix string `json:"QueueNamePrefix"`
		MaxResults      *int   `json:"MaxResults"`
		NextToken       string `json:"NextToken"`
	}
	if e := decode(call, &in); e != nil {
		return nil, e
	}
	if e := call.Authorize(ops.Op("ListQueues"), "*", nil, nil); e != nil {
		return nil, e
	}
	limit := 1000
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 1000 {
			return nil, invalidParameter("Value for parameter MaxResults is invalid. Reason: MaxResults must be an integer between 1 and 1000.")
		}
		limit = *in.MaxResults
	}
	var names []string
	err := s.st.View(r.Context(), func(tx *store.Tx) error {
		names = names[:0]
		rows, err := tx.Query(`SELECT name FROM sqs_queues WHERE name > ? ORDER BY name`, in.NextToken)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				return err
			}
			if strings.HasPrefix(n, in.QueueNamePrefix) {
				names = append(names, n)
			}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, internalError(s, "list queues", err)
	}
	out := map[string]any{}
	if len(names) > limit {
		names = names[:limit]
		if in.MaxResults != nil {
			out["NextToken"] = names[limit-1]
		}
	}
	urls := make([]string, len(names))
	for i, n := range names {
		urls[i] = s.queueURL(r, n)
	}
	if len(urls) > 0 {
		out["QueueUrls"] = urls
	}
	return out, nil
}

// counts are a queue's Approximate* figures.
func countsTx(tx *store.Tx, name string, now int64) (visible, inflight, delayed int64, err error) {
	err = tx.QueryRow(`SELECT
		COALESCE(SUM(CASE WHEN visible <= ? THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN visible > ? AND receives > 0 THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN visible > ? AND receives = 0 THEN 1 ELSE 0 END), 0)
		FROM sqs_messages WHERE queue = ?`, now, now, now, name).Scan(&visible, &inflight, &delayed)
	return
}

func (s *Service) getQueueAttributes(r *http.Request, call *awsapi.Call) (any, *awsapi.Error) {
	var in struct {
		QueueURL       string   `json:"QueueUrl"`
		AttributeNames []string `json:"AttributeNames"`
	}
	if e := decode(call, &in); e != nil {
		return nil, e
	}
	q, e := s.findQueue(r, call, "GetQueueAttributes", in.QueueURL)
	if e != nil {
		return nil, e
	}
	want := map[string]bool{}
	all := false
	for _, n := range in.AttributeNames {
		if n == "All" {
			all = true
			continue
		}
		if !settable[n] && !contains(readOnly, n) {
			return nil, invalidAttributeName(n)
		}
		want[n] = true
	}
	var visible, inflight, delayed int64
	err := s.st.View(r.Context(), func(tx *store.Tx) (err error) {
		visible, inflight, delayed, err = countsTx(tx, q.name, time.Now().UnixMilli())
		return err
	})
	if err != nil {
		return nil, internalError(s, "get queue attributes", err)
	}
	values := map[string]string{
		"ApproximateNumberOfMessages": strconv.FormatInt(visible, 10), "ApproximateNumberOfMessagesNotVisible": strconv.FormatInt(inflight, 10),
		"ApproximateNumberOfMessagesDelayed": strconv.FormatInt(delayed, 10), "CreatedTimestamp": strconv.FormatInt(q.created, 10),
		"LastModifiedTimestamp": strconv.FormatInt(q.modified, 10), "QueueArn": s.arn(q.name),
	}
	for k := range settable {
		if v := q.attr(k); v != "" {
			values[k] = v
		}
	}
	out := map[string]string{}
	for k, v := range values {
		if all || want[k] {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return map[string]any{}, nil
	}
	return map[string]any{"Attributes": out}, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (s *Service) setQueueAttributes(r *http.Request, call *awsapi.Call) (any, *awsapi.Error) {
	var in struct {
		QueueURL   string            `json:"QueueUrl"`
		Attributes map[string]string `json:"Attributes"`
	}
	if e := decode(call, &in); e != nil {
		return nil, e
	}
	q, e := s.findQueue(r, call, "SetQueueAttributes", in.QueueURL)
	if e != nil {
		return nil, e
	}
	if len(in.Attributes) == 0 {
		return nil, missingParameter("Attribute.1.Name")
	}
	if e := checkAttributes(in.Attributes); e != nil {
		return nil, e
	}
	if v, ok := in.Attributes["FifoQueue"]; ok && v != strconv.FormatBool(q.fifo()) {
		return nil, invalidAttributeValue("Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not supported.")
	}
	if !q.fifo() {
		for _, k := range fifoOnly {
			if _, ok := in.Attributes[k]; ok {
				return nil, invalidAttributeName(k)
			}
		}
	}
	err := s.st.Update(r.Context(), func(tx *store.Tx) error {
		cur, err := loadQueueTx(tx, q.name)
		if err != nil || cur == nil {
			e = errNoQueue()
			return err
		}
		if e, err = s.checkRedriveTx(tx, q.name, in.Attributes); err != nil || e != nil {
			return err
		}
		for k, v := range in.Attributes {
			cur.attrs[k] = v
		}
		cur.modified = time.Now().Unix()
		return saveQueueTx(tx, cur)
	})
	if err != nil {
		return nil, internalError(s, "set queue attributes", err)
	}
	if e != nil {
		return nil, e
	}
	s.refreshPolicy(r.Context(), q.name)
	s.wake() // a shorter delay or visibility may make messages available
	return map[string]any{}, nil
}

func (s *Service) deleteQueue(r *http.Request, call *awsapi.Call) (any, *awsapi.Error) {
	var in struct {
		QueueURL string `json:"QueueUrl"`
	}
	if e := decode(call, &in); e != nil {
		return nil, e
	}
	q, e := s.findQueue(r, call, "DeleteQueue", in.QueueURL)
	if e != nil {
		return nil, e
	}
	err := s.st.Update(r.Context(), func(tx *store.Tx) error {
		if _, err := tx.Exec(`DELETE FROM sqs_messages WHERE queue = ?`, q.name); err != nil {
			return err
		}
		_, err := tx.Exec(`DELETE FROM sqs_queues WHERE name = ?`, q.name)
		return err
	})
	if err != nil {
		return nil, internalError(s, "delete queue", err)
	}
	s.refreshPolicy(r.Context(), q.name)
	s.wake() // long polls on it end
	return map[string]any{}, nil
}

func (s *Service) purgeQueue(r *http.Request, call *awsapi.Call) (any, *awsapi.Error) {
	var in struct {
		QueueURL string `json:"QueueUrl"`
	}
	if e := decode(call, &in); e != nil {
		return nil, e
	}
	q, e := s.findQueue(r, call, "PurgeQueue", in.QueueURL)
	if e != nil {
		return nil, e
	}
	err := s.st.Update(r.Context(), func(tx *store.Tx) error {
		_, err := tx.Exec(`DELETE FROM sqs_messages WHERE queue = ? AND sent <= ?`, q.name, time.Now().UnixMilli())
		return err
	})
	if err != nil {
		return nil, internalError(s, "purge queue", err)
	}
	return map[string]any{}, nil
}

func (s *Service) tagQueue(r *http.Request, call *awsapi.Call, op string) (any, *awsapi.Error) {
	var in struct {
		QueueURL string            `json:"QueueUrl"`
		Tags     map[string]string `json:"Tags"`
		TagKeys  []string          `json:"TagKeys"`
	}
	if e := decode(call, &in); e != nil {
		return nil, e
	}
	q, e := s.findQueue(r, call, op, in.QueueURL)
	if e != nil {
		return nil, e
	}
	err := s.st.Update(r.Context(), func(tx *store.Tx) error {
		cur, err := loadQueueTx(tx, q.name)
		if err != nil || cur == nil {
			e = errNoQueue()
			return err
		}
		for k, v := range in.Tags {
			cur.tags[k] = v
		}
		for _, k := range in.TagKeys {
			delete(cur.tags, k)
		}
		if len(cur.tags) > 50 {
			e = invalidParameter("Too many tags added for queue " + q.name + ".")
			return nil
		}
		return saveQueueTx(tx, cur)
	})
	if err != nil {
		return nil, internalError(s, op, err)
	}
	if e != nil {
		return nil, e
	}
	return map[string]any{}, nil
}

func (s *Service) listQueueTags(r *http.Request, call *awsapi.Call) (any, *awsapi.Error) {
	var in struct {
		QueueURL string `json:"QueueUrl"`
	}
	if e := decode(call, &in); e != nil {
		return nil, e
	}
	q, e := s.findQueue(r, call, "ListQueueTags", in.QueueURL)
	if e != nil {
		return nil, e
	}
	if len(q.tags) == 0 {
		return map[string]any{}, nil
	}
	return map[string]any{"Tags": q.tags}, nil
}

func (s *Service) listDeadLetterSourceQueues(r *http.Request, call *awsapi.Call) (any, *awsapi.Error) {
	var in struct {
		QueueURL string `json:"QueueUrl"`
	}
	if e := decode(call, &in); e != nil {
		return nil, e
	}
	q, e := s.findQueue(r, call, "ListDeadLetterSourceQueues", in.QueueURL)
	if e != nil {
		return nil, e
	}
	target := s.arn(q.name)
	var names []string
	err := s.st.View(r.Context(), func(tx *store.Tx) error {
		rows, err := tx.Query(`SELECT name, attributes FROM sqs_queues ORDER BY name`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var n, a string
			if err := rows.Scan(&n, &a); err != nil {
				return err
			}
			var attrs map[string]string
			json.Unmarshal([]byte(a), &attrs)
			var rp redrivePolicy
			if json.Unmarshal([]byte(attrs["RedrivePolicy"]), &rp) == nil && rp.DeadLetterTargetArn == target {
				names = append(names, n)
			}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, internalError(s, "list dead letter source queues", err)
	}
	sort.Strings(names)
	urls := make([]string, len(names))
	for i, n := range names {
		urls[i] = s.queueURL(r, n)
	}
	return map[string]any{"queueUrls": urls}, nil
}
