package store

import (
	"database/sql"
	"fmt"
)

// migrations are the schema's versions: migrations[i] takes a database
// from version i to i+1. Append only; never edit a released one.
var migrations = []string{
	// 1: what is deployed (internal/server), one JSON document per key.
	`CREATE TABLE deployed (
		name  TEXT PRIMARY KEY,
		value TEXT NOT NULL
	)`,
	// 2: functions' resource-based policies (Lambda AddPermission), one
	// statement per row in the order added.
	`CREATE TABLE lambda_policies (
		function  TEXT NOT NULL,
		sid       TEXT NOT NULL,
		seq       INTEGER NOT NULL,
		statement TEXT NOT NULL,
		PRIMARY KEY (function, sid)
	)`,
	// 3: DynamoDB tables (internal/dynamodb): each table's description.
	`CREATE TABLE dynamodb_tables (
		name        TEXT PRIMARY KEY,
		description TEXT NOT NULL
	)`,
	// 4: DynamoDB items, by table id and order-preserving key bytes (the
	// range key's bytes are empty in a hash-only table).
	`CREATE TABLE dynamodb_items (
		tbl  TEXT NOT NULL,
		hk   BLOB NOT NULL,
		rk   BLOB NOT NULL,
		item BLOB NOT NULL,
		size INTEGER NOT NULL,
		PRIMARY KEY (tbl, hk, rk)
	)`,
	// 5: DynamoDB secondary index entries: the index's key bytes, then the
	// table's key bytes of the item they point at.
	`CREATE TABLE dynamodb_index_keys (
		tbl TEXT NOT NULL,
		idx TEXT NOT NULL,
		hk  BLOB NOT NULL,
		rk  BLOB NOT NULL,
		thk BLOB NOT NULL,
		trk BLOB NOT NULL,
		PRIMARY KEY (tbl, idx, hk, rk, thk, trk)
	)`,
	// 6: finding an item's index entries when it changes.
	`CREATE INDEX dynamodb_index_keys_item ON dynamodb_index_keys (tbl, thk, trk)`,
	// 7: TransactWriteItems' ClientRequestTokens of the last ten minutes,
	// with a digest of the request each came with.
	`CREATE TABLE dynamodb_tokens (
		token  TEXT PRIMARY KEY,
		digest TEXT NOT NULL,
		at     INTEGER NOT NULL
	)`,
	// 8: DynamoDB streams: one row per stream a table has had (disabled:
	// when it stopped taking records, in Unix ms).
	`CREATE TABLE dynamodb_streams (
		arn         TEXT PRIMARY KEY,
		tbl         TEXT NOT NULL,
		description TEXT NOT NULL,
		created     INTEGER NOT NULL,
		disabled    INTEGER
	)`,
	// 9: DynamoDB stream records, in order within each stream.
	`CREATE TABLE dynamodb_stream_records (
		stream TEXT NOT NULL,
		seq    INTEGER NOT NULL,
		at     INTEGER NOT NULL,
		record BLOB NOT NULL,
		PRIMARY KEY (stream, seq)
	)`,
	// 10 and 11: when an item expires (its TTL attribute, Unix seconds), for the
	// tables with TTL enabled.
	`ALTER TABLE dynamodb_items ADD COLUMN expires INTEGER`,
	`CREATE INDEX dynamodb_items_expires ON dynamodb_items (tbl, expires) WHERE expires IS NOT NULL`,
	// 12: event source mappings' positions (internal/eventsource): the
	// stream each reads and the sequence number it reads next.
	`CREATE TABLE event_source_positions (
		mapping TEXT PRIMARY KEY,
		stream  TEXT NOT NULL,
		next    INTEGER NOT NULL
	)`,
	// 13 and 14: each DynamoDB stream's next sequence number, kept apart
	// from its records so that trimming them never reuses a number.
	`ALTER TABLE dynamodb_streams ADD COLUMN next_seq INTEGER NOT NULL DEFAULT 1`,
	`UPDATE dynamodb_streams SET next_seq = 1 + COALESCE((SELECT MAX(seq) FROM dynamodb_stream_records r WHERE r.stream = dynamodb_streams.arn), 0)`,
	// 15: SQS queues (internal/sqs): attributes and tags as JSON, and the
	// next message's sequence number.
	`CREATE TABLE sqs_queues (
		name       TEXT PRIMARY KEY,
		attributes TEXT NOT NULL,
		tags       TEXT NOT NULL,
		created    INTEGER NOT NULL,
		modified   INTEGER NOT NULL,
		next_seq   INTEGER NOT NULL
	)`,
	// 16 and 17: SQS messages, in the order sent; visible is when the
	// message may next be received (Unix ms).
	`CREATE TABLE sqs_messages (
		queue         TEXT NOT NULL,
		seq           INTEGER NOT NULL,
		id            TEXT NOT NULL,
		body          TEXT NOT NULL,
		attributes    TEXT NOT NULL,
		sent          INTEGER NOT NULL,
		visible       INTEGER NOT NULL,
		receives      INTEGER NOT NULL,
		first_receive INTEGER NOT NULL,
		receipt       TEXT NOT NULL,
		PRIMARY KEY (queue, seq)
	)`,
	`CREATE INDEX sqs_messages_visible ON sqs_messages (queue, visible, seq)`,
	// 18 and 19: asynchronous invocations (internal/async) waiting to run
	// or be retried: next is when (Unix ms); claimed while one runs.
	`CREATE TABLE async_events (
		id       TEXT PRIMARY KEY,
		function TEXT NOT NULL,
		payload  BLOB NOT NULL,
		trace    TEXT NOT NULL,
		received INTEGER NOT NULL,
		attempts INTEGER NOT NULL,
		next     INTEGER NOT NULL,
		claimed  INTEGER NOT NULL
	)`,
	`CREATE INDEX async_events_due ON async_events (claimed, next)`,
	// 20: schedules (internal/schedule): when each was first seen (rate()
	// ticks count from it) and the last tick fired or passed (Unix ms).
	`CREATE TABLE schedules (
		id    TEXT PRIMARY KEY,
		start INTEGER NOT NULL,
		last  INTEGER NOT NULL
	)`,
	// 21 and 22: FIFO queues — a message's group (messages of a group are
	// received in order, one batch in flight at a time).
	`ALTER TABLE sqs_messages ADD COLUMN grp TEXT NOT NULL DEFAULT ''`,
	`CREATE INDEX sqs_messages_group ON sqs_messages (queue, grp, visible)`,
	// 23: FIFO queues' deduplication ids of the last five minutes, with
	// the message each stands for.
	`CREATE TABLE sqs_dedup (
		queue TEXT NOT NULL,
		dedup TEXT NOT NULL,
		id    TEXT NOT NULL,
		seq   INTEGER NOT NULL,
		at    INTEGER NOT NULL,
		PRIMARY KEY (queue, dedup)
	)`,
	// 24: functions' asynchronous invocation settings (internal/async):
	// retries, maximum age, destinations, dead-letter target, as JSON;
	// source says whether a deploy or the API set them.
	`CREATE TABLE async_configs (
		function TEXT PRIMARY KEY,
		doc      TEXT NOT NULL,
		source   TEXT NOT NULL,
		modified INTEGER NOT NULL
	)`,
	// 25: SQS message move tasks (StartMessageMoveTask), by handle.
	`CREATE TABLE sqs_move_tasks (
		handle  TEXT PRIMARY KEY,
		source  TEXT NOT NULL,
		started INTEGER NOT NULL,
		doc     TEXT NOT NULL
	)`,
	// 26: schedules made through the EventBridge Scheduler API
	// (internal/schedule), by group and name; their ticks are in
	// schedules under scheduler/<group>/<name>.
	`CREATE TABLE scheduler_schedules (
		grp  TEXT NOT NULL,
		name TEXT NOT NULL,
		doc  TEXT NOT NULL,
		PRIMARY KEY (grp, name)
	)`,
	// 27 and 28: S3 buckets, and objects: each object's body is the blob
	// named blob (internal/s3's Blobs), its metadata doc (JSON).
	`CREATE TABLE s3_buckets (
		name    TEXT PRIMARY KEY,
		created INTEGER NOT NULL,
		region  TEXT NOT NULL,
		doc     TEXT NOT NULL
	)`,
	`CREATE TABLE s3_objects (
		bucket   TEXT NOT NULL,
		key      TEXT NOT NULL,
		blob     TEXT NOT NULL,
		size     INTEGER NOT NULL,
		etag     TEXT NOT NULL,
		modified INTEGER NOT NULL,
		doc      TEXT NOT NULL,
		PRIMARY KEY (bucket, key)
	)`,
	// 29 and 30: S3 multipart uploads in progress, and their parts (each
	// a blob of its own until the upload completes).
	`CREATE TABLE s3_uploads (
		id        TEXT PRIMARY KEY,
		bucket    TEXT NOT NULL,
		key       TEXT NOT NULL,
		initiated INTEGER NOT NULL,
		doc       TEXT NOT NULL
	)`,
	`CREATE TABLE s3_parts (
		upload   TEXT NOT NULL,
		number   INTEGER NOT NULL,
		blob     TEXT NOT NULL,
		size     INTEGER NOT NULL,
		etag     TEXT NOT NULL,
		modified INTEGER NOT NULL,
		PRIMARY KEY (upload, number)
	)`,
	// 31: small S3 objects keep their bodies with their metadata (blob
	// empty); larger ones have NULL here.
	`ALTER TABLE s3_objects ADD COLUMN body BLOB`,
	// 32 to 35: S3 versioning. A bucket's state ('' never enabled,
	// Enabled, Suspended); each current object's version ('' the null
	// version); and the versions that are not current, delete markers
	// among them, ordered by seq (later is newer).
	`ALTER TABLE s3_buckets ADD COLUMN versioning TEXT NOT NULL DEFAULT ''`,
	`ALTER TABLE s3_objects ADD COLUMN version TEXT NOT NULL DEFAULT ''`,
	`CREATE TABLE s3_versions (
		bucket   TEXT NOT NULL,
		key      TEXT NOT NULL,
		version  TEXT NOT NULL,
		seq      INTEGER NOT NULL,
		marker   INTEGER NOT NULL,
		blob     TEXT NOT NULL,
		size     INTEGER NOT NULL,
		etag     TEXT NOT NULL,
		modified INTEGER NOT NULL,
		doc      TEXT NOT NULL,
		body     BLOB,
		PRIMARY KEY (bucket, key, version)
	)`,
	`CREATE INDEX s3_versions_seq ON s3_versions (bucket, key, seq)`,
	// 36: ListMultipartUploads reads a bucket's uploads in key order from
	// a marker or a prefix, without scanning the others.
	`CREATE INDEX s3_uploads_key ON s3_uploads (bucket, key, id)`,
}

// Version is the schema version this build writes.
func Version() int { return len(migrations) }

func migrate(db *sql.DB, path string) error {
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("store: %s: %w", path, err)
	}
	var v int
	err := db.QueryRow(`SELECT version FROM schema_version`).Scan(&v)
	switch {
	case err == sql.ErrNoRows:
		if _, err := db.Exec(`INSERT INTO schema_version (version) VALUES (0)`); err != nil {
			return fmt.Errorf("store: %s: %w", path, err)
		}
	case err != nil:
		return fmt.Errorf("store: %s: %w", path, err)
	}
	if v > len(migrations) {
		return fmt.Errorf("store: %s was written by a newer Cloudlet (schema version %d; this one knows up to %d): "+
			"run that version, or start this one with another --data-dir", path, v, len(migrations))
	}
	for ; v < len(migrations); v++ {
		tx, err := db.Begin()
		if err != nil {
			return fmt.Errorf("store: %s: %w", path, err)
		}
		if _, err := tx.Exec(migrations[v]); err != nil {
			tx.Rollback()
			return fmt.Errorf("store: %s: migration %d: %w", path, v+1, err)
		}
		if _, err := tx.Exec(`UPDATE schema_version SET version = ?`, v+1); err != nil {
			tx.Rollback()
			return fmt.Errorf("store: %s: migration %d: %w", path, v+1, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("store: %s: migration %d: %w", path, v+1, err)
		}
	}
	return nil
}
