package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
	_ "modernc.org/sqlite" // the database/sql driver "sqlite"
)

// File is the database's name in the data directory.
const File = "cloudlet.db"

// maxBatch bounds the closures one group commit runs.
const maxBatch = 512

// maxIdleReaders is how many read connections stay open between reads.
const maxIdleReaders = 32

// ErrClosed is returned by calls on a closed store.
var ErrClosed = errors.New("store: closed")

// Store is the embedded database every service keeps its state in.
type Store struct {
	w    *sql.DB // the one writing connection, driven by the committer
	r    *sql.DB // readers (query_only), as many as want
	reqs chan *request

	mu     sync.RWMutex // held for reading by Update callers while they enqueue
	closed bool
	done   chan struct{} // the committer has exited

	commits atomic.Int64 // transactions committed (for tests and metrics)

	wstmts, rstmts stmtCache // prepared statements of the writer and the readers

	lock *os.File // the data directory's lock, held while open
}

// Tx is a transaction: a write one (Update) or a read-only one (View).
// Queries take ? placeholders.
type Tx struct {
	tx    *sql.Tx
	stmts *stmtCache
}

// stmtCache keeps each query text prepared once per database (and, by
// database/sql, once per connection): SQLite then parses it once, not at
// every call. A query not prepared yet runs unprepared in its transaction
// and is prepared after the transaction ends (prepare takes a connection
// of the pool, which a transaction in progress may be holding).
type stmtCache struct {
	db       *sql.DB
	prepared sync.Map // query → *sql.Stmt; read without a lock on every call

	mu       sync.Mutex // guards pending
	pending  map[string]bool
	npending atomic.Int32
}

// lookup is the prepared statement of query, if there is one yet; if not,
// it is noted for prepare.
func (c *stmtCache) lookup(query string) *sql.Stmt {
	if st, ok := c.prepared.Load(query); ok {
		return st.(*sql.Stmt)
	}
	c.mu.Lock()
	if c.pending == nil {
		c.pending = map[string]bool{}
	}
	c.pending[query] = true
	c.npending.Store(int32(len(c.pending)))
	c.mu.Unlock()
	return nil
}

// prepare prepares the queries noted; the caller holds no connection.
func (c *stmtCache) prepare() {
	c.mu.Lock()
	todo := make([]string, 0, len(c.pending))
	for q := range c.pending {
		todo = append(todo, q)
	}
	c.pending = nil
	c.npending.Store(0)
	c.mu.Unlock()
	for _, q := range todo {
		st, err := c.db.Prepare(q)
		if err != nil {
			continue // it runs unprepared, and says why there
		}
		if _, dup := c.prepared.LoadOrStore(q, st); dup {
			st.Close()
		}
	}
}

func (c *stmtCache) hasPending() bool { return c.npending.Load() > 0 }

func (c *stmtCache) close() {
	c.prepared.Range(func(q, st any) bool {
		st.(*sql.Stmt).Close()
		c.prepared.Delete(q)
		return true
	})
}

// stmt is query prepared and bound to t, or nil when it is not prepared
// yet.
func (t *Tx) stmt(query string) *sql.Stmt {
	if st := t.stmts.lookup(query); st != nil {
		return t.tx.Stmt(st)
	}
	return nil
}

// Exec runs a statement and returns the rows it affected.
func (t *Tx) Exec(query string, args ...any) (int64, error) {
	var res sql.Result
	var err error
	if st := t.stmt(query); st != nil {
		res, err = st.Exec(args...)
	} else {
		res, err = t.tx.Exec(query, args...)
	}
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// Query runs a query; the caller closes the rows before its closure returns.
func (t *Tx) Query(query string, args ...any) (*sql.Rows, error) {
	if st := t.stmt(query); st != nil {
		return st.Query(args...)
	}
	return t.tx.Query(query, args...)
}

// QueryRow runs a query expected to return at most one row.
func (t *Tx) QueryRow(query string, args ...any) *sql.Row {
	if st := t.stmt(query); st != nil {
		return st.QueryRow(args...)
	}
	return t.tx.QueryRow(query, args...)
}

// QueryStrings runs a query of one text column and answers its values.
func QueryStrings(t *Tx, query string, args ...any) ([]string, error) {
	rows, err := t.Query(query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// QueryJSON runs a query of one column holding JSON documents and decodes
// each row's into a T.
func QueryJSON[T any](t *Tx, query string, args ...any) ([]*T, error) {
	rows, err := t.Query(query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*T
	for rows.Next() {
		var doc []byte
		if err := rows.Scan(&doc); err != nil {
			return nil, err
		}
		v := new(T)
		if err := json.Unmarshal(doc, v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

type request struct {
	fn   func(*Tx) error
	err  error
	pan  any // a panic of fn, re-raised in the caller
	done chan struct{}
}

// Open opens (creating it if needed) the store in dir and brings its schema
// up to date. A database written by a newer Cloudlet is refused.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	// One process at a time: the services keep what they read in memory
	// (policies, bucket names), which a second writer would make wrong.
	lock, err := os.OpenFile(filepath.Join(dir, File+".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		lock.Close()
		return nil, fmt.Errorf("store: the data directory %s is in use by another Cloudlet server (or another store in this one)", dir)
	}
	s, err := open(dir)
	if err != nil {
		lock.Close()
		return nil, err
	}
	s.lock = lock
	return s, nil
}

func open(dir string) (*Store, error) {
	path := filepath.Join(dir, File)
	// FULL in WAL mode syncs the log on every commit: a commit that
	// returned is on disk. busy_timeout lets readers wait out a checkpoint.
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(5000)&_pragma=foreign_keys(ON)"
	w, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if err := w.Ping(); err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := migrate(w, path); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", dsn+"&_pragma=query_only(ON)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	// Readers keep their connections (database/sql keeps 2 by default):
	// with more concurrent reads than that, each one opened a connection,
	// ran its pragmas and prepared its statements again.
	r.SetMaxIdleConns(maxIdleReaders)
	r.SetConnMaxLifetime(0)
	s := &Store{w: w, r: r, reqs: make(chan *request, maxBatch), done: make(chan struct{})}
	s.wstmts.db, s.rstmts.db = w, r
	go s.commit()
	return s, nil
}

// Commits is how many transactions the store has committed: with the
// writes acknowledged, it says how many writes shared each fsync.
func (s *Store) Commits() int64 { return s.commits.Load() }

// Close waits for the writes in progress and closes the database.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.reqs)
	s.mu.Unlock()
	<-s.done
	s.wstmts.close()
	s.rstmts.close()
	err := errors.Join(s.r.Close(), s.w.Close())
	s.lock.Close() // closing the file releases its lock
	return err
}

// Update runs fn in a write transaction and returns once its changes are
// durable, or with fn's error (its changes undone) or the commit's. fn must
// not keep tx. Concurrent calls share one commit (group commit): each fn
// runs in a savepoint of the same transaction, so that one fn's error
// undoes only its own changes, and the one fsync covers them all. fn runs
// on the store's goroutine: it must not call Update or View.
func (s *Store) Update(ctx context.Context, fn func(*Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := &request{fn: fn, done: make(chan struct{})}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return ErrClosed
	}
	s.reqs <- r
	s.mu.RUnlock()
	<-r.done // once taken, a write is not abandoned: it may already be on disk
	if r.pan != nil {
		panic(r.pan)
	}
	return r.err
}

// View runs fn in a read-only transaction that sees one consistent
// snapshot of the committed state.
func (s *Store) View(ctx context.Context, fn func(*Tx) error) error {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer func() {
		if s.rstmts.hasPending() {
			s.rstmts.prepare() // after the rollback: this View holds no connection
		}
	}()
	defer tx.Rollback()
	return fn(&Tx{tx: tx, stmts: &s.rstmts})
}

// commit is the one writer: it takes every request waiting (up to
// maxBatch), runs them in one transaction and commits once.
//
// It keeps an OS thread of its own. The writer spends much of its time
// in fsync; back from it, a thread that slept is run ahead of the
// threads busy with requests, whereas Go's shared threads, busy, queued
// the writer behind them. Every write waits on the writer's cycle: 4 KiB
// S3 PUTs from 16 connections went about 14% faster (BENCHMARKS.md).
func (s *Store) commit() {
	defer close(s.done)
	runtime.LockOSThread() // never unlocked: the thread ends with the writer
	for r := range s.reqs {
		batch := []*request{r}
	more:
		for len(batch) < maxBatch {
			select {
			case r2, ok := <-s.reqs:
				if !ok {
					break more
				}
				batch = append(batch, r2)
			default:
				break more
			}
		}
		s.run(batch)
		for _, b := range batch {
			close(b.done)
		}
		if s.wstmts.hasPending() {
			s.wstmts.prepare() // no transaction is open now
		}
	}
}

func (s *Store) run(batch []*request) {
	fail := func(err error) {
		for _, b := range batch {
			if b.err == nil && b.pan == nil {
				b.err = err
			}
		}
	}
	tx, err := s.w.Begin()
	if err != nil {
		fail(fmt.Errorf("store: begin: %w", err))
		return
	}
	t := &Tx{tx: tx, stmts: &s.wstmts}
	applied := 0
	for _, b := range batch {
		if _, err := t.Exec("SAVEPOINT closure"); err != nil {
			tx.Rollback()
			fail(fmt.Errorf("store: savepoint: %w", err))
			return
		}
		b.err, b.pan = call(b.fn, t)
		if b.err == nil && b.pan == nil {
			if _, err := t.Exec("RELEASE closure"); err != nil {
				tx.Rollback()
				fail(fmt.Errorf("store: release: %w", err))
				return
			}
			applied++
			continue
		}
		// Undo this closure's changes only. If SQLite cannot, the whole
		// transaction goes, and every closure of the batch fails with it.
		if _, err := t.Exec("ROLLBACK TO closure"); err != nil {
			tx.Rollback()
			fail(fmt.Errorf("store: the transaction was aborted: %w", err))
			return
		}
		if _, err := t.Exec("RELEASE closure"); err != nil {
			tx.Rollback()
			fail(fmt.Errorf("store: release: %w", err))
			return
		}
	}
	if applied == 0 {
		tx.Rollback()
		return
	}
	err = tx.Commit()
	if err == nil {
		s.commits.Add(1)
	}
	if err != nil {
		for _, b := range batch {
			if b.err == nil && b.pan == nil {
				b.err = fmt.Errorf("store: commit: %w", err)
			}
		}
	}
}

func call(fn func(*Tx) error, t *Tx) (err error, pan any) {
	defer func() {
		if p := recover(); p != nil {
			pan = p
		}
	}()
	return fn(t), nil
}
