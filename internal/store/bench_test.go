package store

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
)

// BenchmarkUpdateParallel is small writes from many goroutines, each its
// own Update (group commit shares the fsyncs); BenchmarkFsync is the
// ceiling of one commit per write on the same file system.
func BenchmarkUpdateParallel(b *testing.B) {
	s, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.Update(ctx, func(tx *Tx) error {
		_, err := tx.Exec(`CREATE TABLE kv (k INTEGER PRIMARY KEY, v BLOB)`)
		return err
	}); err != nil {
		b.Fatal(err)
	}
	val := make([]byte, 200)
	var n atomic.Int64
	b.SetParallelism(8) // 8 writers per CPU
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			k := n.Add(1)
			if err := s.Update(ctx, func(tx *Tx) error {
				_, err := tx.Exec(`INSERT INTO kv (k, v) VALUES (?, ?)`, k, val)
				return err
			}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/float64(s.commits.Load()), "writes/commit")
}

func BenchmarkFsync(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "f"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	for b.Loop() {
		f.Write([]byte("x"))
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
	}
}
