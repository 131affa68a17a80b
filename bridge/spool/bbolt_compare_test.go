//go:build bbolt

package spool

import (
	"encoding/binary"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/imbridge/imbridge/bridge"
)

// BenchmarkBboltBatchParallel is the alternative the spool was measured against:
// bbolt with Batch (its own group commit), one key per callback holding the same
// encoded payload as a spool record.
// Run: go test ./bridge/spool -tags bbolt -run X -bench 'Parallel' -cpu 2 -benchtime 3s
func BenchmarkBboltBatchParallel(b *testing.B) {
	for _, conc := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("goroutines=%d", conc*runtime.GOMAXPROCS(0)), func(b *testing.B) {
			db, err := bolt.Open(filepath.Join(b.TempDir(), "spool.db"), 0o600, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			bucket := []byte("records")
			if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket(bucket); return err }); err != nil {
				b.Fatal(err)
			}
			payload := encodeRecords(nil, bridge.Records(events(3, "bench")))
			b.SetParallelism(conc)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					err := db.Batch(func(tx *bolt.Tx) error {
						bk := tx.Bucket(bucket)
						seq, _ := bk.NextSequence()
						var k [8]byte
						binary.BigEndian.PutUint64(k[:], seq)
						return bk.Put(k[:], payload)
					})
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
