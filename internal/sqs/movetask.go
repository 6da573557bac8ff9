package sqs

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/cloudlet/cloudlet/internal/awsapi"
	"github.com/cloudlet/cloudlet/internal/iam"
	"github.com/cloudlet/cloudlet/internal/store"
)

// Message move tasks (StartMessageMoveTask, ListMessageMoveTasks,
// CancelMessageMoveTask) move the messages of a dead-letter queue back
// to the queues they came from, or to another queue: ten at a time, each
// ten in one transaction (a message is in one queue or the other, never
// both, never neither), at most MaxNumberOfMessagesPerSecond. A task is
// kept in the store: one a killed server was running goes on at the next
// start (ResumeMoveTasks).

// Statuses of a move task, as SQS names them.
const (
	taskRunning    = "RUNNING"
	taskCompleted  = "COMPLETED"
	taskCancelling = "CANCELLING"
	taskCancelled  = "CANCELLED"
	taskFailed     = "FAILED"
)

type moveTask struct {
	Handle  string `json:"h"`
	Source  string `json:"s"`           // the dead-letter queue's ARN
	Dest    string `json:"d,omitempty"` // "": each message's own source queue
	Rate    int    `json:"r,omitempty"` // messages a second; 0: as fast as it goes
	Status  string `json:"st"`
	Moved   int64  `json:"m"`
	ToMove  int64  `json:"n"`
	Started int64  `json:"t"` // Unix ms
	Reason  string `json:"f,omitempty"`
	// Bound is the last message (seq) in the source when the task
	// started: messages sent later are not moved (a task moving into its
	// own source would never end otherwise). After is the last message
	// looked at; Skipped counts those that had nowhere to go.
	Bound   int64 `json:"b"`
	After   int64 `json:"a,omitempty"`
	Skipped int64 `json:"k,omitempty"`
}

func errNoResource(param string) *awsapi.Error {
	return (&sqsError{"ResourceNotFoundException", "ResourceNotFoundException", 400,
		"The resource that you specified for the " + param + " parameter doesn't exist."}).awsError()
}

// queueOfARN is the name of the queue arn names in this region and
// account, or "".
func (s *Service) queueOfARN(arn string) string {
	name, ok := strings.CutPrefix(arn, "arn:aws:sqs:"+s.region+":"+s.account+":")
	if !ok || strings.Contains(name, ":") {
		return ""
	}
	return name
}

func saveTaskTx(tx *store.Tx, t *moveTask) error {
	doc, _ := json.Marshal(t)
	_, err := tx.Exec(`INSERT INTO sqs_move_tasks (handle, source, started, doc) VALUES (?, ?, ?, ?)
		ON CONFLICT (handle) DO UPDATE SET doc = excluded.doc`, t.Handle, t.Source, t.Started, string(doc))
	return err
}

func loadTaskTx(tx *store.Tx, handle string) (*moveTask, error) {
	var doc string
	err := tx.QueryRow(`SELECT doc FROM sqs_move_tasks WHERE handle = ?`, handle).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var t moveTask
	return &t, json.Unmarshal([]byte(doc), &t)
}

func (s *Service) startMessageMoveTask(r *http.Request, call *awsapi.Call) (any, *awsapi.Error) {
	var in struct {
		SourceArn                    string `json:"SourceArn"`
		DestinationArn               string `json:"DestinationArn"`
		MaxNumberOfMessagesPerSecond *int   `json:"MaxNumberOfMessagesPerSecond"`
	}
	if e := decode(call, &in); e != nil {
		return nil, e
	}
	if in.SourceArn == "" {
		return nil, missingParameter("SourceArn")
	}
	if n := in.MaxNumberOfMessagesPerSecond; n != nil && (*n < 1 || *n > 500) {
		return nil, invalidParameter("Value for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: must be between 1 and 500.")
	}
	src := s.queueOfARN(in.SourceArn)
	if e := s.authorizeOn(r, call, "StartMessageMoveTask", in.SourceArn); e != nil {
		return nil, e
	}
	dst := ""
	if in.DestinationArn != "" {
		if dst = s.queueOfARN(in.DestinationArn); dst == "" {
			return nil, errNoResource("DestinationArn")
		}
		if in.DestinationArn == in.SourceArn {
			return nil, invalidParameter("The source and destination queues must be different.")
		}
		// the messages are sent to the destination in the caller's name
		if e := s.authorizeOn(r, call, "SendMessage", in.DestinationArn); e != nil {
			return nil, e
		}
	}
	t := &moveTask{Handle: newTaskHandle(in.SourceArn), Source: in.SourceArn, Dest: in.DestinationArn, Status: taskRunning, Started: time.Now().UnixMilli()}
	if in.MaxNumberOfMessagesPerSecond != nil {
		t.Rate = *in.MaxNumberOfMessagesPerSecond
	}
	var e *awsapi.Error
	err := s.st.Update(r.Context(), func(tx *store.Tx) error {
		e = nil
		q, err := loadQueueTx(tx, src)
		if err != nil {
			return err
		}
		if src == "" || q == nil {
			e = errNoResource("SourceArn")
			return nil
		}
		if dst != "" {
			d, err := loadQueueTx(tx, dst)
			if err != nil {
				return err
			}
			if d == nil {
				e = errNoResource("DestinationArn")
				return nil
			}
			if d.fifo() != q.fifo() {
				e = invalidParameter("The destination queue must be the same type of queue as the source queue.")
				return nil
			}
		}
		isDLQ, err := s.isDeadLetterTx(tx, in.SourceArn)
		if err != nil {
			return err
		}
		if !isDLQ {
			e = invalidParameter("Source queue must be configured as a Dead Letter Queue.")
			return nil
		}
		var running int
		if err := tx.QueryRow(`SELECT COUNT(*) FROM sqs_move_tasks WHERE source = ? AND (doc LIKE '%"st":"RUNNING"%' OR doc LIKE '%"st":"CANCELLING"%')`, in.SourceArn).Scan(&running); err != nil {
			return err
		}
		if running > 0 {
			e = (&sqsError{"UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation", 400,
				"There is already a task running. Only one active task is allowed for a source queue arn at a given time."}).awsError()
			return nil
		}
		if err := tx.QueryRow(`SELECT COUNT(*), COALESCE(MAX(seq), 0) FROM sqs_messages WHERE queue = ?`, src).Scan(&t.ToMove, &t.Bound); err != nil {
			return err
		}
		return saveTaskTx(tx, t)
	})
	if err != nil {
		return nil, internalError(s, "start message move task", err)
	}
	if e != nil {
		return nil, e
	}
	s.runTask(t.Handle)
	return map[string]string{"TaskHandle": t.Handle}, nil
}

// isDeadLetterTx reports whether some queue's RedrivePolicy names arn.
func (s *Service) isDeadLetterTx(tx *store.Tx, arn string) (bool, error) {
	rows, err := tx.Query(`SELECT attributes FROM sqs_queues`)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return false, err
		}
		var attrs map[string]string
		json.Unmarshal([]byte(doc), &attrs)
		var rp redrivePolicy
		if json.Unmarshal([]byte(attrs["RedrivePolicy"]), &rp) == nil && rp.DeadLetterTargetArn == arn {
			return true, nil
		}
	}
	return false, rows.Err()
}

// newTaskHandle is an opaque handle that names its source, as SQS's do.
func newTaskHandle(source string) string {
	b := make([]byte, 12)
	rand.Read(b)
	doc, _ := json.Marshal(map[string]string{"taskId": base64.RawURLEncoding.EncodeToString(b), "sourceArn": source})
	return base64.StdEncoding.EncodeToString(doc)
}

func (s *Service) listMessageMoveTasks(r *http.Request, call *awsapi.Call) (any, *awsapi.Error) {
	var in struct {
		SourceArn  string `json:"SourceArn"`
		MaxResults *int   `json:"MaxResults"`
	}
	if e := decode(call, &in); e != nil {
		return nil, e
	}
	if in.SourceArn == "" {
		return nil, missingParameter("SourceArn")
	}
	limit := 1
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 10 {
			return nil, invalidParameter("Value for parameter MaxResults is invalid. Reason: must be between 1 and 10.")
		}
		limit = *in.MaxResults
	}
	if e := s.authorizeOn(r, call, "ListMessageMoveTasks", in.SourceArn); e != nil {
		return nil, e
	}
	var tasks []*moveTask
	var e *awsapi.Error
	err := s.st.View(r.Context(), func(tx *store.Tx) error {
		q, err := loadQueueTx(tx, s.queueOfARN(in.SourceArn))
		if err != nil {
			return err
		}
		if q == nil {
			e = errNoResource("SourceArn")
			return nil
		}
		tasks, err = store.QueryJSON[moveTask](tx, `SELECT doc FROM sqs_move_tasks WHERE source = ? ORDER BY started DESC LIMIT ?`, in.SourceArn, limit)
		return err
	})
	if err != nil {
		return nil, internalError(s, "list message move tasks", err)
	}
	if e != nil {
		return nil, e
	}
	results := []any{}
	for _, t := range tasks {
		m := map[string]any{"Status": t.Status, "SourceArn": t.Source, "ApproximateNumberOfMessagesMoved": t.Moved,
			"ApproximateNumberOfMessagesToMove": t.ToMove, "StartedTimestamp": t.Started}
		if t.Status == taskRunning {
			m["TaskHandle"] = t.Handle
		}
		if t.Dest != "" {
			m["DestinationArn"] = t.Dest
		}
		if t.Rate > 0 {
			m["MaxNumberOfMessagesPerSecond"] = t.Rate
		}
		if t.Reason != "" {
			m["FailureReason"] = t.Reason
		}
		results = append(results, m)
	}
	return map[string]any{"Results": results}, nil
}

func (s *Service) cancelMessageMoveTask(r *http.Request, call *awsapi.Call) (any, *awsapi.Error) {
	var in struct {
		TaskHandle string `json:"TaskHandle"`
	}
	if e := decode(call, &in); e != nil {
		return nil, e
	}
	if in.TaskHandle == "" {
		return nil, missingParameter("TaskHandle")
	}
	var source string
	if raw, err := base64.StdEncoding.DecodeString(in.TaskHandle); err == nil {
		var h struct {
			SourceArn string `json:"sourceArn"`
		}
		json.Unmarshal(raw, &h)
		source = h.SourceArn
	}
	if source == "" {
		return nil, errNoResource("TaskHandle")
	}
	if e := s.authorizeOn(r, call, "CancelMessageMoveTask", source); e != nil {
		return nil, e
	}
	var moved int64
	var e *awsapi.Error
	err := s.st.Update(r.Context(), func(tx *store.Tx) error {
		e = nil
		t, err := loadTaskTx(tx, in.TaskHandle)
		if err != nil {
			return err
		}
		if t == nil {
			e = errNoResource("TaskHandle")
			return nil
		}
		if t.Status != taskRunning {
			e = (&sqsError{"UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation", 400,
				"Only a task in RUNNING status can be cancelled; this one is " + t.Status + "."}).awsError()
			return nil
		}
		t.Status, moved = taskCancelling, t.Moved
		return saveTaskTx(tx, t)
	})
	if err != nil {
		return nil, internalError(s, "cancel message move task", err)
	}
	if e != nil {
		return nil, e
	}
	return map[string]any{"ApproximateNumberOfMessagesMoved": moved}, nil
}

// ResumeMoveTasks goes on with the tasks a previous server was running.
func (s *Service) ResumeMoveTasks(ctx context.Context) error {
	var handles []string
	err := s.st.View(ctx, func(tx *store.Tx) error {
		rows, err := tx.Query(`SELECT handle FROM sqs_move_tasks WHERE doc LIKE '%"st":"RUNNING"%' OR doc LIKE '%"st":"CANCELLING"%'`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var h string
			if err := rows.Scan(&h); err != nil {
				return err
			}
			handles = append(handles, h)
		}
		return rows.Err()
	})
	for _, h := range handles {
		s.runTask(h)
	}
	return err
}

// Close stops the move tasks running (they go on at the next start).
func (s *Service) Close() {
	s.tasksMu.Lock()
	s.closed = true
	s.tasksMu.Unlock()
	s.stopTasks()
	s.tasks.Wait()
}

// runTask moves a task's messages in the background.
func (s *Service) runTask(handle string) {
	s.tasksMu.Lock()
	defer s.tasksMu.Unlock()
	if s.closed {
		return
	}
	s.tasks.Add(1)
	go func() {
		defer s.tasks.Done()
		if err := s.moveMessages(s.tasksCtx, handle); err != nil && s.tasksCtx.Err() == nil && !errors.Is(err, store.ErrClosed) {
			s.log.Error("sqs: message move task", "task", handle, "err", err)
		}
	}()
}

// moveMessages runs one task until it is done, cancelled or ctx ends; a
// store error is retried (the task stays RUNNING meanwhile, as it is).
func (s *Service) moveMessages(ctx context.Context, handle string) error {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		start := time.Now()
		var n int
		var done bool
		err := s.st.Update(ctx, func(tx *store.Tx) error {
			n, done = 0, false
			t, err := loadTaskTx(tx, handle)
			if err != nil || t == nil {
				done = t == nil && err == nil
				return err
			}
			switch t.Status {
			case taskCancelling:
				t.Status, done = taskCancelled, true
				return saveTaskTx(tx, t)
			case taskRunning:
			default:
				done = true
				return nil
			}
			from := s.queueOfARN(t.Source)
			src, err := loadQueueTx(tx, from)
			if err != nil {
				return err
			}
			if src == nil {
				t.Status, t.Reason, done = taskFailed, "AWS.SimpleQueueService.NonExistentQueue", true
				return saveTaskTx(tx, t)
			}
			batch := 10
			if t.Rate > 0 {
				batch = min(batch, t.Rate)
			}
			moved, looked, err := s.moveSomeTx(tx, t, src, batch)
			if err != nil {
				return err
			}
			n = moved
			t.Moved += int64(moved)
			if looked == 0 {
				done = true
				t.Status = taskCompleted
				if t.Skipped > 0 { // some messages' source queues are gone
					t.Status, t.Reason = taskFailed, "AWS.SimpleQueueService.NonExistentQueue"
				}
			}
			return saveTaskTx(tx, t)
		})
		switch {
		case errors.Is(err, store.ErrClosed) || ctx.Err() != nil:
			return err
		case err != nil:
			s.log.Warn("sqs: message move task: retrying", "task", handle, "err", err, "in", backoff)
			timer := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
			case <-timer.C:
			}
			timer.Stop()
			backoff = min(backoff*2, 30*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		if n > 0 || done {
			s.wake()
		}
		if done {
			return nil
		}
		if n > 0 {
			s.paceTask(ctx, handle, n, start)
		}
	}
	return ctx.Err()
}

// paceTask waits so that a task with a rate moves no faster than it.
func (s *Service) paceTask(ctx context.Context, handle string, n int, start time.Time) {
	var t *moveTask
	s.st.View(ctx, func(tx *store.Tx) (err error) {
		t, err = loadTaskTx(tx, handle)
		return err
	})
	if t == nil || t.Rate == 0 {
		return
	}
	d := time.Duration(n)*time.Second/time.Duration(t.Rate) - time.Since(start)
	if d <= 0 {
		return
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
	case <-timer.C:
	}
}

// moveSomeTx moves up to max messages of src past t.After (up to
// t.Bound) that are not in flight to the task's destination (each
// message's source queue when it names none), oldest first; a message
// whose source is gone stays, counted in t.Skipped. looked is how many
// messages it looked at (0: none left).
func (s *Service) moveSomeTx(tx *store.Tx, t *moveTask, src *queue, max int) (moved, looked int, err error) {
	now := time.Now().UnixMilli()
	rows, err := tx.Query(`SELECT seq, id, body, attributes, sent FROM sqs_messages WHERE queue = ? AND seq > ? AND seq <= ? AND visible <= ? ORDER BY seq LIMIT ?`,
		src.name, t.After, t.Bound, now, max)
	if err != nil {
		return 0, 0, err
	}
	type msg struct {
		seq, sent int64
		id, body  string
		st        stored
	}
	var ms []msg
	for rows.Next() {
		var m msg
		var doc string
		if err := rows.Scan(&m.seq, &m.id, &m.body, &doc, &m.sent); err != nil {
			rows.Close()
			return 0, 0, err
		}
		json.Unmarshal([]byte(doc), &m.st)
		ms = append(ms, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, 0, err
	}
	for _, m := range ms {
		t.After = m.seq
		to := s.queueOfARN(t.Dest)
		if t.Dest == "" {
			to = m.st.Source
		}
		dst, err := loadQueueTx(tx, to)
		if err != nil {
			return moved, len(ms), err
		}
		if dst == nil {
			t.Skipped++
			continue
		}
		var seq int64
		if err := tx.QueryRow(`SELECT next_seq FROM sqs_queues WHERE name = ?`, dst.name).Scan(&seq); err != nil {
			return moved, len(ms), err
		}
		doc, _ := json.Marshal(m.st)
		if _, err := tx.Exec(`INSERT INTO sqs_messages (queue, seq, id, body, attributes, sent, visible, receives, first_receive, receipt, grp)
			VALUES (?, ?, ?, ?, ?, ?, ?, 0, 0, '', ?)`, dst.name, seq, m.id, m.body, string(doc), m.sent, now, m.st.Group); err != nil {
			return moved, len(ms), err
		}
		if _, err := tx.Exec(`UPDATE sqs_queues SET next_seq = ? WHERE name = ?`, seq+1, dst.name); err != nil {
			return moved, len(ms), err
		}
		if _, err := tx.Exec(`DELETE FROM sqs_messages WHERE queue = ? AND seq = ?`, src.name, m.seq); err != nil {
			return moved, len(ms), err
		}
		moved++
	}
	return moved, len(ms), nil
}

// authorizeOn authorizes op on the queue arn names, with its Policy.
func (s *Service) authorizeOn(r *http.Request, call *awsapi.Call, op, arn string) *awsapi.Error {
	var rp *iam.Policy
	if name := s.queueOfARN(arn); name != "" {
		p, err := s.queuePolicy(r.Context(), name)
		if err != nil {
			return internalError(s, op, err)
		}
		rp = p
	}
	return call.Authorize(ops.Op(op), arn, rp, nil)
}
