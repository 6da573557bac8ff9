package store

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestMain doubles as the writer process of the kill -9 test.
func TestMain(m *testing.M) {
	if dir := os.Getenv("STORE_TEST_WRITER"); dir != "" {
		round, _ := strconv.Atoi(os.Getenv("STORE_TEST_ROUND"))
		writer(dir, round)
		return
	}
	os.Exit(m.Run())
}

// writer writes pairs of rows, one transaction each, from 8 goroutines, and
// prints the id of each pair once Update has returned, until killed.
func writer(dir string, round int) {
	s, err := Open(dir)
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	ctx := context.Background()
	if err := s.Update(ctx, func(tx *Tx) error {
		_, err := tx.Exec(`CREATE TABLE IF NOT EXISTS pairs (id INTEGER NOT NULL, half INTEGER NOT NULL, PRIMARY KEY (id, half))`)
		return err
	}); err != nil {
		fmt.Println("create:", err)
		os.Exit(1)
	}
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; ; i++ {
				id := round*100_000_000 + g*1_000_000 + i
				err := s.Update(ctx, func(tx *Tx) error {
					for half := 0; half < 2; half++ {
						if _, err := tx.Exec(`INSERT INTO pairs (id, half) VALUES (?, ?)`, id, half); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					fmt.Println("update:", err)
					os.Exit(1)
				}
				mu.Lock()
				fmt.Fprintf(out, "ack %d\n", id)
				out.Flush()
				mu.Unlock()
			}
		}(g)
	}
	wg.Wait()
}

// Every write acknowledged before a kill -9 is there after reopening, and
// no transaction is half there.
func TestAcknowledgedWritesSurviveKill9(t *testing.T) {
	dir := t.TempDir()
	for round := 0; round < 3; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "STORE_TEST_WRITER="+dir, "STORE_TEST_ROUND="+strconv.Itoa(round))
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		acked := map[int]bool{}
		sc := bufio.NewScanner(stdout)
		deadline := time.Now().Add(30 * time.Second)
		for len(acked) < 500 && sc.Scan() {
			line := sc.Text()
			id, err := strconv.Atoi(strings.TrimPrefix(line, "ack "))
			if err != nil {
				t.Fatalf("writer: %s", line)
			}
			acked[id] = true
			if time.Now().After(deadline) {
				break
			}
		}
		cmd.Process.Signal(syscall.SIGKILL)
		// Acks already written to the pipe before the kill count too.
		for sc.Scan() {
			if id, err := strconv.Atoi(strings.TrimPrefix(sc.Text(), "ack ")); err == nil {
				acked[id] = true
			}
		}
		cmd.Wait()
		if len(acked) == 0 {
			t.Fatal("the writer acknowledged nothing")
		}
		s, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		halves := map[int]int{}
		err = s.View(context.Background(), func(tx *Tx) error {
			rows, err := tx.Query(`SELECT id, COUNT(*) FROM pairs GROUP BY id`)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var id, n int
				if err := rows.Scan(&id, &n); err != nil {
					return err
				}
				halves[id] = n
			}
			return rows.Err()
		})
		s.Close()
		if err != nil {
			t.Fatal(err)
		}
		for id := range acked {
			if halves[id] != 2 {
				t.Fatalf("round %d: acknowledged pair %d has %d rows after kill -9", round, id, halves[id])
			}
		}
		for id, n := range halves {
			if n != 2 {
				t.Fatalf("round %d: pair %d is half there (%d row)", round, id, n)
			}
		}
	}
}

// Concurrent Updates share one commit; each closure's error undoes only
// its own changes; a panic reaches its caller and no one else.
func TestGroupCommitKeepsClosuresApart(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.Update(ctx, func(tx *Tx) error {
		_, err := tx.Exec(`CREATE TABLE t (k INTEGER PRIMARY KEY)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	// Hold the committer in a first closure until ten more are queued, so
	// that the ten are one batch.
	release, running := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- s.Update(ctx, func(tx *Tx) error {
			close(running)
			<-release
			_, err := tx.Exec(`INSERT INTO t (k) VALUES (-1)`)
			return err
		})
	}()
	<-running
	var wg sync.WaitGroup
	errs := make([]error, 10)
	panics := make([]any, 10)
	boom := errors.New("boom")
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() { panics[i] = recover() }()
			errs[i] = s.Update(ctx, func(tx *Tx) error {
				if _, err := tx.Exec(`INSERT INTO t (k) VALUES (?)`, i); err != nil {
					return err
				}
				switch {
				case i == 7:
					panic("seven")
				case i%2 == 1:
					return boom
				}
				return nil
			})
		}(i)
	}
	waitFor(t, "ten closures queued", func() bool { return len(s.reqs) == 10 })
	before := s.commits.Load()
	close(release)
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if got := s.commits.Load() - before; got != 2 {
		t.Errorf("%d commits for the first closure and a batch of ten, want 2", got)
	}
	for i := 0; i < 10; i++ {
		switch {
		case i == 7:
			if panics[i] != "seven" {
				t.Errorf("closure 7's panic reached its caller as %v", panics[i])
			}
		case i%2 == 1:
			if !errors.Is(errs[i], boom) {
				t.Errorf("closure %d: err %v", i, errs[i])
			}
		default:
			if errs[i] != nil || panics[i] != nil {
				t.Errorf("closure %d: err %v, panic %v", i, errs[i], panics[i])
			}
		}
	}
	var keys []string
	s.View(ctx, func(tx *Tx) error {
		rows, err := tx.Query(`SELECT k FROM t ORDER BY k`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k int
			rows.Scan(&k)
			keys = append(keys, strconv.Itoa(k))
		}
		return nil
	})
	if got := strings.Join(keys, ","); got != "-1,0,2,4,6,8" {
		t.Fatalf("rows %s: want the first closure's and the even ones'", got)
	}
}

func TestNewerSchemaIsRefused(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update(context.Background(), func(tx *Tx) error {
		_, err := tx.Exec(`UPDATE schema_version SET version = ?`, Version()+5)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = Open(dir)
	want := fmt.Sprintf("was written by a newer Cloudlet (schema version %d; this one knows up to %d)", Version()+5, Version())
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("open: %v, want %q", err, want)
	}
}

func TestClosedStoreRefusesWrites(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := s.Update(context.Background(), func(*Tx) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Fatalf("Update after Close: %v", err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// The settings that make an acknowledged write durable are the ones in
// force: WAL, and a sync of the log at every commit.
func TestDurabilitySettings(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var mode string
	var sync int
	if err := s.Update(context.Background(), func(tx *Tx) error {
		if err := tx.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
			return err
		}
		return tx.QueryRow(`PRAGMA synchronous`).Scan(&sync)
	}); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" || sync != 2 { // 2 is FULL
		t.Fatalf("journal_mode %s, synchronous %d: want wal and 2 (FULL)", mode, sync)
	}
}

// A data directory is one store's at a time: a second Open is refused
// until the first store closes.
func TestOneStorePerDirectory(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s2, err := Open(dir); err == nil || !strings.Contains(err.Error(), "in use by another Cloudlet server") {
		if s2 != nil {
			s2.Close()
		}
		t.Fatalf("a second store on the same directory: %v", err)
	}
	s.Close()
	s3, err := Open(dir)
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	s3.Close()
}
