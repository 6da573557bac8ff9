package dynamodb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/cloudlet/cloudlet/internal/awsapi"
	"github.com/cloudlet/cloudlet/internal/iam"
	"github.com/cloudlet/cloudlet/internal/store"
)

// streamsPrefix starts the X-Amz-Target of every DynamoDB Streams call
// (the streams endpoint signs as "dynamodb" too, so it arrives here).
const streamsPrefix = "DynamoDBStreams_20120810."

// Retention is how long stream records are kept, as DynamoDB keeps them.
const Retention = 24 * time.Hour

// iteratorLife is how long a shard iterator can be used.
const iteratorLife = 15 * time.Minute

var streamOps = iam.Register("dynamodb", // the Streams API, under the same IAM service
	iam.Operation{Name: "ListStreams", Action: "dynamodb:ListStreams", ResourceType: "*"},
	iam.Operation{Name: "DescribeStream", Action: "dynamodb:DescribeStream", ResourceType: "stream"},
	iam.Operation{Name: "GetShardIterator", Action: "dynamodb:GetShardIterator", ResourceType: "stream"},
	iam.Operation{Name: "GetRecords", Action: "dynamodb:GetRecords", ResourceType: "stream"},
)

// streamInfo is what a stream's row keeps.
type streamInfo struct {
	TableName      string       `json:"TableName"`
	StreamLabel    string       `json:"StreamLabel"`
	StreamViewType string       `json:"StreamViewType"`
	KeySchema      []keyElement `json:"KeySchema"`
	ShardID        string       `json:"ShardId"`
}

// openStreamTx records that d's stream (LatestStreamArn) starts now.
func openStreamTx(tx *store.Tx, d *tableDescription) error {
	b := make([]byte, 4)
	rand.Read(b)
	now := time.Now()
	info := streamInfo{TableName: d.TableName, StreamLabel: d.LatestStreamLabel, StreamViewType: d.StreamSpecification.StreamViewType,
		KeySchema: d.KeySchema, ShardID: fmt.Sprintf("shardId-%020d-%s", now.UnixMilli(), hex.EncodeToString(b))}
	doc, _ := json.Marshal(info)
	_, err := tx.Exec(`INSERT INTO dynamodb_streams (arn, tbl, description, created) VALUES (?, ?, ?, ?)`,
		d.LatestStreamArn, d.TableName, string(doc), now.UnixMilli())
	return err
}

// closeStreamsTx records that the named table's open streams stop now.
func closeStreamsTx(tx *store.Tx, table string) error {
	_, err := tx.Exec(`UPDATE dynamodb_streams SET disabled = ? WHERE tbl = ? AND disabled IS NULL`, time.Now().UnixMilli(), table)
	return err
}

// streamRecord is a record as GetRecords answers it (and, with
// eventSourceARN, as a stream event gives it to a function).
type streamRecord struct {
	EventID        string        `json:"eventID"`
	EventName      string        `json:"eventName"`
	EventVersion   string        `json:"eventVersion"`
	EventSource    string        `json:"eventSource"`
	AwsRegion      string        `json:"awsRegion"`
	Dynamodb       streamChange  `json:"dynamodb"`
	UserIdentity   *userIdentity `json:"userIdentity,omitempty"`
	EventSourceARN string        `json:"eventSourceARN,omitempty"`
}

type streamChange struct {
	ApproximateCreationDateTime float64 `json:"ApproximateCreationDateTime"`
	Keys                        Item    `json:"Keys"`
	NewImage                    Item    `json:"NewImage,omitempty"`
	OldImage                    Item    `json:"OldImage,omitempty"`
	SequenceNumber              string  `json:"SequenceNumber"`
	SizeBytes                   int     `json:"SizeBytes"`
	StreamViewType              string  `json:"StreamViewType"`
}

// userIdentity is who made a change that no caller did (TTL), as the
// Streams API spells it (stream events to functions spell it in lower
// camel case).
type userIdentity struct {
	Type        string `json:"Type"`
	PrincipalID string `json:"PrincipalId"`
}

// seqText is a sequence number as DynamoDB writes them: 21 digits.
func seqText(seq int64) string { return fmt.Sprintf("1%020d", seq) }

func parseSeq(s string) (int64, bool) {
	if len(s) != 21 {
		return 0, false
	}
	n, err := strconv.ParseInt(s[1:], 10, 64)
	return n, err == nil && s[0] == '1'
}

// recordChange records a write for the table's stream, in the write's
// own transaction: old and it are the item before and after (nil: none).
func (s *Service) recordChange(tx *store.Tx, t *table, old, it Item) error {
	return s.recordTx(tx, t, old, it, nil)
}

func (s *Service) recordTx(tx *store.Tx, t *table, old, it Item, who *userIdentity) error {
	sp := t.d.StreamSpecification
	if sp == nil || !sp.StreamEnabled || old == nil && it == nil {
		return nil
	}
	arn := t.d.LatestStreamArn
	var seq int64
	if err := tx.QueryRow(`SELECT next_seq FROM dynamodb_streams WHERE arn = ?`, arn).Scan(&seq); err != nil {
		return fmt.Errorf("stream %s: %w", arn, err)
	}
	if _, err := tx.Exec(`UPDATE dynamodb_streams SET next_seq = ? WHERE arn = ?`, seq+1, arn); err != nil {
		return err
	}
	now := time.Now()
	rec := streamRecord{EventID: uuid32(), EventVersion: "1.1", EventSource: "aws:dynamodb", AwsRegion: s.region, UserIdentity: who,
		Dynamodb: streamChange{ApproximateCreationDateTime: float64(now.Unix()), SequenceNumber: seqText(seq), StreamViewType: sp.StreamViewType}}
	switch {
	case old == nil:
		rec.EventName = "INSERT"
		rec.Dynamodb.Keys = t.keyItem(it)
	case it == nil:
		rec.EventName = "REMOVE"
		rec.Dynamodb.Keys = t.keyItem(old)
	default:
		rec.EventName = "MODIFY"
		rec.Dynamodb.Keys = t.keyItem(it)
	}
	size := rec.Dynamodb.Keys.size()
	if sp.StreamViewType == "NEW_IMAGE" || sp.StreamViewType == "NEW_AND_OLD_IMAGES" {
		rec.Dynamodb.NewImage = it
		size += it.size()
	}
	if sp.StreamViewType == "OLD_IMAGE" || sp.StreamViewType == "NEW_AND_OLD_IMAGES" {
		rec.Dynamodb.OldImage = old
		size += old.size()
	}
	rec.Dynamodb.SizeBytes = size
	doc, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	_, err = tx.Exec(`INSERT INTO dynamodb_stream_records (stream, seq, at, record) VALUES (?, ?, ?, ?)`, arn, seq, now.UnixMilli(), doc)
	return err
}

func uuid32() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// serveStreams serves the DynamoDB Streams API.
func (s *Service) serveStreams(w http.ResponseWriter, r *http.Request, call *awsapi.Call, op string) {
	var out any
	var e *awsapi.Error
	switch op {
	case "ListStreams":
		out, e = s.listStreams(r, call)
	case "DescribeStream":
		out, e = s.describeStream(r, call)
	case "GetShardIterator":
		out, e = s.getShardIterator(r, call)
	case "GetRecords":
		out, e = s.getRecords(r, call)
	default:
		e = errUnknownOperation()
	}
	s.answer(w, call, out, e)
}

type streamRow struct {
	arn      string
	info     streamInfo
	created  int64
	disabled *int64
}

func loadStreamTx(tx *store.Tx, arn string) (*streamRow, error) {
	var row streamRow
	var doc string
	var disabled sql.NullInt64
	err := tx.QueryRow(`SELECT arn, description, created, disabled FROM dynamodb_streams WHERE arn = ?`, arn).Scan(&row.arn, &doc, &row.created, &disabled)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if disabled.Valid {
		row.disabled = &disabled.Int64
	}
	return &row, json.Unmarshal([]byte(doc), &row.info)
}

func (s *Service) stream(r *http.Request, call *awsapi.Call, op, arn string) (*streamRow, *awsapi.Error) {
	if arn == "" {
		return nil, validation("1 validation error detected: Value null at 'streamArn' failed to satisfy constraint: Member must not be null")
	}
	if e := call.Authorize(streamOps.Op(op), arn, nil, nil); e != nil {
		return nil, e
	}
	var row *streamRow
	err := s.st.View(r.Context(), func(tx *store.Tx) (err error) {
		row, err = loadStreamTx(tx, arn)
		return err
	})
	if err != nil {
		return nil, internal(s, op, err)
	}
	if row == nil {
		return nil, &awsapi.Error{Code: "ResourceNotFoundException", Status: 400, Message: "Requested resource not found: Stream: " + arn + " not found"}
	}
	return row, nil
}

func (s *Service) listStreams(r *http.Request, call *awsapi.Call) (any, *awsapi.Error) {
	var in struct {
		TableName               string `json:"TableName"`
		Limit                   *int   `json:"Limit"`
		ExclusiveStartStreamArn string `json:"ExclusiveStartStreamArn"`
	}
	if e := decode(call, &in); e != nil {
		return nil, e
	}
	if e := call.Authorize(streamOps.Op("ListStreams"), "*", nil, nil); e != nil {
		return nil, e
	}
	limit := 100
	if in.Limit != nil {
		if *in.Limit < 1 || *in.Limit > 100 {
			return nil, validation("1 validation error detected: Value '" + itoa(*in.Limit) + "' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 100 and greater than or equal to 1")
		}
		limit = *in.Limit
	}
	streams := []map[string]string{}
	err := s.st.View(r.Context(), func(tx *store.Tx) error {
		rows, err := tx.Query(`SELECT arn, tbl, description FROM dynamodb_streams WHERE arn > ? AND (? = '' OR tbl = ?) ORDER BY arn LIMIT ?`,
			in.ExclusiveStartStreamArn, in.TableName, in.TableName, limit+1)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var arn, tbl, doc string
			if err := rows.Scan(&arn, &tbl, &doc); err != nil {
				return err
			}
			var info streamInfo
			json.Unmarshal([]byte(doc), &info)
			streams = append(streams, map[string]string{"StreamArn": arn, "TableName": tbl, "StreamLabel": info.StreamLabel})
		}
		return rows.Err()
	})
	if err != nil {
		return nil, internal(s, "list streams", err)
	}
	out := map[string]any{}
	if len(streams) > limit {
		streams = streams[:limit]
		out["LastEvaluatedStreamArn"] = streams[limit-1]["StreamArn"]
	}
	out["Streams"] = streams
	return out, nil
}

func (s *Service) describeStream(r *http.Request, call *awsapi.Call) (any, *awsapi.Error) {
	var in struct {
		StreamArn string `json:"StreamArn"`
	}
	if e := decode(call, &in); e != nil {
		return nil, e
	}
	row, e := s.stream(r, call, "DescribeStream", in.StreamArn)
	if e != nil {
		return nil, e
	}
	first, last, err := s.streamRange(r.Context(), row.arn)
	if err != nil {
		return nil, internal(s, "describe stream", err)
	}
	rng := map[string]string{"StartingSequenceNumber": seqText(first)}
	status := "ENABLED"
	if row.disabled != nil {
		status = "DISABLED"
		rng["EndingSequenceNumber"] = seqText(max(last, 1))
	}
	return map[string]any{"StreamDescription": map[string]any{
		"StreamArn": row.arn, "StreamLabel": row.info.StreamLabel, "StreamStatus": status, "StreamViewType": row.info.StreamViewType,
		"CreationRequestDateTime": float64(row.created) / 1000, "TableName": row.info.TableName, "KeySchema": row.info.KeySchema,
		"Shards": []map[string]any{{"ShardId": row.info.ShardID, "SequenceNumberRange": rng}},
	}}, nil
}

// streamRange is the sequence numbers of a stream's oldest kept record
// and of its newest (first is last+1 when none is kept).
func (s *Service) streamRange(ctx context.Context, arn string) (first, last int64, err error) {
	err = s.st.View(ctx, func(tx *store.Tx) error {
		var next int64
		if err := tx.QueryRow(`SELECT next_seq FROM dynamodb_streams WHERE arn = ?`, arn).Scan(&next); err != nil {
			return err
		}
		last = next - 1
		return tx.QueryRow(`SELECT COALESCE(MIN(seq), ?) FROM dynamodb_stream_records WHERE stream = ?`, next, arn).Scan(&first)
	})
	return first, last, err
}

// iterator is a shard iterator's content: the stream, the next record's
// sequence number, and when it was made.
type iterator struct {
	Stream string `json:"s"`
	Next   int64  `json:"n"`
	Made   int64  `json:"t"`
}

func (it iterator) encode() string {
	b, _ := json.Marshal(it)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Service) getShardIterator(r *http.Request, call *awsapi.Call) (any, *awsapi.Error) {
	var in struct {
		StreamArn         string `json:"StreamArn"`
		ShardID           string `json:"ShardId"`
		ShardIteratorType string `json:"ShardIteratorType"`
		SequenceNumber    string `json:"SequenceNumber"`
	}
	if e := decode(call, &in); e != nil {
		return nil, e
	}
	row, e := s.stream(r, call, "GetShardIterator", in.StreamArn)
	if e != nil {
		return nil, e
	}
	if in.ShardID != row.info.ShardID {
		return nil, &awsapi.Error{Code: "ResourceNotFoundException", Status: 400, Message: "Requested resource not found: Shard does not exist"}
	}
	first, last, err := s.streamRange(r.Context(), row.arn)
	if err != nil {
		return nil, internal(s, "get shard iterator", err)
	}
	it := iterator{Stream: row.arn, Made: time.Now().UnixMilli()}
	switch in.ShardIteratorType {
	case "TRIM_HORIZON":
		it.Next = first
	case "LATEST":
		it.Next = last + 1
	case "AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER":
		seq, ok := parseSeq(in.SequenceNumber)
		if !ok {
			return nil, validation("1 validation error detected: Value '" + in.SequenceNumber + "' at 'sequenceNumber' failed to satisfy constraint: Member must have length greater than or equal to 21")
		}
		if seq < first || seq > last {
			return nil, &awsapi.Error{Code: "TrimmedDataAccessException", Status: 400, Message: "The operation attempted to read past the oldest stream record in a shard, or the sequence number is beyond the shard"}
		}
		it.Next = seq
		if in.ShardIteratorType == "AFTER_SEQUENCE_NUMBER" {
			it.Next++
		}
	default:
		return nil, validation("1 validation error detected: Value '" + in.ShardIteratorType + "' at 'shardIteratorType' failed to satisfy constraint: Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, LATEST, AT_SEQUENCE_NUMBER, TRIM_HORIZON]")
	}
	return map[string]any{"ShardIterator": it.encode()}, nil
}

func (s *Service) getRecords(r *http.Request, call *awsapi.Call) (any, *awsapi.Error) {
	var in struct {
		ShardIterator string `json:"ShardIterator"`
		Limit         *int   `json:"Limit"`
	}
	if e := decode(call, &in); e != nil {
		return nil, e
	}
	var it iterator
	b, err := base64.RawURLEncoding.DecodeString(in.ShardIterator)
	if err != nil || json.Unmarshal(b, &it) != nil || it.Stream == "" {
		return nil, validation("Invalid ShardIterator")
	}
	if time.Since(time.UnixMilli(it.Made)) > iteratorLife {
		return nil, &awsapi.Error{Code: "ExpiredIteratorException", Status: 400, Message: "Iterator expired. The iterator was created at time " +
			time.UnixMilli(it.Made).UTC().Format(time.RFC1123) + " while right now the time is " + time.Now().UTC().Format(time.RFC1123)}
	}
	limit := 1000
	if in.Limit != nil {
		if *in.Limit < 1 || *in.Limit > 1000 {
			return nil, validation("1 validation error detected: Value '" + itoa(*in.Limit) + "' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 1000 and greater than or equal to 1")
		}
		limit = *in.Limit
	}
	row, e := s.stream(r, call, "GetRecords", it.Stream)
	if e != nil {
		return nil, e
	}
	got, next, err := s.ReadStream(r.Context(), row.arn, it.Next, limit)
	if err != nil {
		return nil, internal(s, "get records", err)
	}
	recs := make([]json.RawMessage, len(got))
	for i, g := range got {
		recs[i] = g.Doc
	}
	out := map[string]any{"Records": recs}
	// a disabled stream's iterator ends once it has read everything
	if row.disabled == nil || len(recs) > 0 {
		out["NextShardIterator"] = iterator{Stream: row.arn, Next: next, Made: time.Now().UnixMilli()}.encode()
	}
	return out, nil
}

// StreamRecord is one record of a stream as the server's readers get it.
type StreamRecord struct {
	Seq int64
	At  time.Time       // when the change was committed
	Doc json.RawMessage // as GetRecords answers it
}

// ReadStream returns up to limit records of a stream from sequence number
// from on, and the sequence number to read next.
func (s *Service) ReadStream(ctx context.Context, arn string, from int64, limit int) ([]StreamRecord, int64, error) {
	var recs []StreamRecord
	next := from
	err := s.st.View(ctx, func(tx *store.Tx) error {
		recs, next = recs[:0], from
		rows, err := tx.Query(`SELECT seq, at, record FROM dynamodb_stream_records WHERE stream = ? AND seq >= ? ORDER BY seq LIMIT ?`, arn, from, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r StreamRecord
			var at int64
			if err := rows.Scan(&r.Seq, &at, &r.Doc); err != nil {
				return err
			}
			r.At = time.UnixMilli(at)
			recs = append(recs, r)
			next = r.Seq + 1
		}
		return rows.Err()
	})
	return recs, next, err
}

// StreamEnd is the sequence number the next record of a stream will have.
func (s *Service) StreamEnd(ctx context.Context, arn string) (int64, error) {
	var next int64
	err := s.st.View(ctx, func(tx *store.Tx) error {
		return tx.QueryRow(`SELECT next_seq FROM dynamodb_streams WHERE arn = ?`, arn).Scan(&next)
	})
	return next, err
}

// Changed returns a channel closed at the next committed write (a reader
// of streams waits on it rather than polling).
func (s *Service) Changed() <-chan struct{} {
	s.changeMu.Lock()
	defer s.changeMu.Unlock()
	if s.change == nil {
		s.change = make(chan struct{})
	}
	return s.change
}

// wake tells Changed's waiters that writes committed.
func (s *Service) wake() {
	s.changeMu.Lock()
	if s.change != nil {
		close(s.change)
		s.change = nil
	}
	s.changeMu.Unlock()
}

// update is the store's Update for the data plane: stream readers are
// woken once it commits.
func (s *Service) update(ctx context.Context, fn func(*store.Tx) error) error {
	err := s.st.Update(ctx, fn)
	s.wake()
	return err
}

// StreamOf is the ARN of the named table's current stream ("" when it has
// none).
func (s *Service) StreamOf(ctx context.Context, table string) (string, error) {
	t, err := s.table(ctx, table)
	if err != nil || t == nil || t.d.StreamSpecification == nil || !t.d.StreamSpecification.StreamEnabled {
		return "", err
	}
	return t.d.LatestStreamArn, nil
}

// trimStreamsTx drops records older than Retention, and streams disabled
// longer ago than that.
func trimStreamsTx(tx *store.Tx, now time.Time) error {
	cut := now.Add(-Retention).UnixMilli()
	if _, err := tx.Exec(`DELETE FROM dynamodb_stream_records WHERE at < ?`, cut); err != nil {
		return err
	}
	_, err := tx.Exec(`DELETE FROM dynamodb_streams WHERE disabled IS NOT NULL AND disabled < ?`, cut)
	return err
}
