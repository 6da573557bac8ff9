// Package store is the one embedded database every Cloudlet service keeps
// its state in: SQLite (modernc.org/sqlite, pure Go, so CGO_ENABLED=0
// builds keep working) in the data directory's cloudlet.db.
//
// Guarantees:
//   - Update(ctx, fn) returns nil only once fn's changes are durable: the
//     database runs in WAL mode with synchronous=FULL, so every commit
//     syncs the log before it returns (TestDurabilitySettings), and Update
//     answers after the commit. Killed with -9 at any moment, a reopened
//     store has every acknowledged write and no half of any transaction
//     (TestAcknowledgedWritesSurviveKill9, a writer process killed under
//     load three times).
//   - Group commit: one goroutine owns the writing connection and runs
//     every Update waiting (up to 512) in one transaction, each closure in
//     its own savepoint, then commits once: concurrent writers share one
//     fsync. A closure's error (or panic, re-raised in its caller) undoes
//     its own changes only; if SQLite cannot undo them, the whole batch
//     fails and nothing of it is applied.
//   - View(ctx, fn) runs fn in a read-only transaction on a snapshot of the
//     committed state, on a pool of connections of its own (readers never
//     wait for the writer in WAL mode).
//   - Schema versions are the migrations in migrate.go, applied in order at
//     Open, each in its own transaction; a database whose schema_version is
//     newer than this build knows is refused with a message that says so,
//     never misread.
//
// Closures run on the store's goroutine: they must not call Update or View
// (they would wait for themselves), must not keep the Tx, and must not
// COMMIT or ROLLBACK themselves.
//
// A data directory is one Store's at a time (a lock file beside the
// database, released when the Store closes or its process dies): the
// services keep what they read in memory, which a second writer would
// make wrong.
//
// A PostgreSQL backend (cluster mode) is meant to implement the same three
// calls. What differs: placeholders (? here, $1 there), INSERT OR REPLACE
// (PostgreSQL: INSERT ... ON CONFLICT DO UPDATE, which SQLite also
// accepts, so services should write that), BLOB vs BYTEA, and
// schema_version kept in a table rather than SQLite's user_version so that
// both read it alike. Services should keep to the SQL both accept.
package store
