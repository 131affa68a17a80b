package spool

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"

	"github.com/imbridge/imbridge/bridge"
)

// goldenCallbacks returns the records of every golden callback, one callback per route
// and case (bridge/kafka/testdata/records, written by the kafka package's tests).
func goldenCallbacks(t testing.TB) [][]bridge.Record {
	t.Helper()
	files, err := filepath.Glob("../kafka/testdata/records/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden records: %v", err)
	}
	var out [][]bridge.Record
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var msgs []struct {
			Topic, Key, Value string
			Headers           [][2]string
		}
		if err := json.Unmarshal(b, &msgs); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var recs []bridge.Record
		for _, m := range msgs {
			r := bridge.Record{Topic: m.Topic, Key: []byte(m.Key), Value: []byte(m.Value)}
			for _, h := range m.Headers {
				r.Headers = append(r.Headers, bridge.Header{Key: h[0], Value: []byte(h[1])})
			}
			recs = append(recs, r)
		}
		out = append(out, recs)
	}
	return out
}

// blocklistCallbacks returns the records of n signed-looking 3-pair
// Sns.CallbackBlackListAdd callbacks, mapped as the handler maps them: each with its
// own accounts and request time, so its own event IDs.
func blocklistCallbacks(t testing.TB, n int) [][]bridge.Record {
	t.Helper()
	route, ok := bridge.NewRoutes(bridge.DefaultRoutes...).Lookup(bridge.CommandBlackListAdd)
	if !ok {
		t.Fatal("no blocklist route")
	}
	start := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	out := make([][]bridge.Record, n)
	for i := range out {
		from := fmt.Sprintf("user_%07d", i*7919%1000003)
		body := `{"CallbackCommand":"Sns.CallbackBlackListAdd","PairList":[`
		for j := 0; j < 3; j++ {
			if j > 0 {
				body += ","
			}
			body += fmt.Sprintf(`{"From_Account":%q,"To_Account":"user_%07d"}`, from, (i*3+j)*104729%1000003)
		}
		body += `]}`
		at := start.Add(time.Duration(i) * 500 * time.Microsecond)
		q := bridge.Query{SDKAppID: "1400187352", CallbackCommand: bridge.CommandBlackListAdd, ContentType: "json",
			ClientIP: "10.12.34.56", OptPlatform: "RESTAPI", RequestTime: strconv.FormatInt(at.Unix(), 10)}
		evs, err := bridge.Map(bridge.Callback{Query: q, AppID: 1400187352, Body: []byte(body), ReceivedAt: at}, route)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = bridge.Records(evs)
	}
	return out
}

// The bytes on disk per entry, before (format 3, what the previous version wrote) and
// after compression, for the same callbacks: every golden callback, and a stream of
// 3-pair blocklist callbacks. Stats().Bytes is what the segment files hold.
// Run: go test ./bridge/spool -run TestCompressionRatio -v
func TestCompressionRatio(t *testing.T) {
	for _, tt := range []struct {
		name      string
		callbacks [][]bridge.Record
		minRatio  float64 // measured 1.5 and 3.0; a drop means compression is off
	}{
		{"golden", goldenCallbacks(t), 1.4},
		{"blocklist3", blocklistCallbacks(t, 2000), 2.7},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s := open(t, dir, Options{})
			var before, records int64
			for _, recs := range tt.callbacks {
				before += headerSize + int64(len(encodeRecords(nil, recs)))
				records += int64(len(recs))
				if err := s.Append(context.Background(), recs); err != nil {
					t.Fatal(err)
				}
			}
			st := s.Stats()
			var files int64
			for _, f := range segFiles(t, dir) {
				fi, err := os.Stat(f)
				if err != nil {
					t.Fatal(err)
				}
				files += fi.Size()
			}
			if st.Bytes != files {
				t.Fatalf("Stats().Bytes %d, the segments hold %d", st.Bytes, files)
			}
			n := float64(len(tt.callbacks))
			ratio := float64(before) / float64(st.Bytes)
			t.Logf("%d callbacks of %d records: bytes on disk per callback %.0f before, %.0f compressed (per record %.0f, %.0f): ratio %.2f",
				len(tt.callbacks), records, float64(before)/n, float64(st.Bytes)/n, float64(before)/float64(records), float64(st.Bytes)/float64(records), ratio)
			if ratio < tt.minRatio {
				t.Fatalf("compression ratio %.2f, want at least %.1f", ratio, tt.minRatio)
			}
		})
	}
}

// What is compressed is what is read back, from memory and from disk; an entry that
// does not compress is stored as it is (format 3); the memory queue counts entries
// uncompressed.
func TestCompressedEntries(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{})
	var want [][]bridge.Record
	for _, recs := range append(blocklistCallbacks(t, 5), incompressible(3000), incompressible(10)) {
		want = append(want, recs)
		if err := s.Append(context.Background(), recs); err != nil {
			t.Fatal(err)
		}
	}
	var plain int64
	for _, recs := range want {
		plain += int64(len(encodeRecords(nil, recs)))
	}
	if s.memBytes != plain {
		t.Fatalf("the memory queue counts %d bytes, the entries' uncompressed payloads are %d", s.memBytes, plain)
	}
	records := func(entries []Entry) [][]bridge.Record {
		var out [][]bridge.Record
		for _, e := range entries {
			out = append(out, e.Records)
		}
		return out
	}
	if d := cmp.Diff(want, records(readAll(t, s)), cmpopts.EquateEmpty()); d != "" {
		t.Fatalf("from memory (-appended +read):\n%s", d)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(segFiles(t, dir)[0])
	if err != nil {
		t.Fatal(err)
	}
	var formats []byte
	scanRecords(b, 0, func(off int64, h header) { formats = append(formats, b[off+headerSize]) }, func(from, to int64) {
		t.Fatalf("bytes %d to %d hold no entry", from, to)
	})
	if d := cmp.Diff([]byte{4, 4, 4, 4, 4, 3, 3}, formats); d != "" {
		t.Fatalf("entry formats (-want +got):\n%s", d)
	}
	s = open(t, dir, Options{})
	if d := cmp.Diff(want, records(readAll(t, s)), cmpopts.EquateEmpty()); d != "" {
		t.Fatalf("from disk (-appended +read):\n%s", d)
	}
	if s.diskReads != int64(len(want)) {
		t.Fatalf("%d entries read from disk, want %d", s.diskReads, len(want))
	}
}

// A compressed payload that passes the checksum but is corrupt is refused: a
// decompressed size over maxPayload before anything is allocated for it, a block that
// does not decompress, and a record count that differs from the one stated outside.
func TestDecodeCompressedRefusesCorruption(t *testing.T) {
	recs := blocklistCallbacks(t, 1)[0]
	good, _, _ := encodeEntry(recs)
	if good[0] != payloadS2 {
		t.Fatalf("a 3-pair callback was stored in format %d", good[0])
	}
	if _, err := decodeRecords(good); err != nil {
		t.Fatal(err)
	}
	block := good[2:] // after the version byte and the count (3, one byte)
	huge := binary.AppendUvarint([]byte{payloadS2, 3}, maxPayload+1)
	huge = append(huge, make([]byte, 64)...)
	truncated := append([]byte(nil), good[:len(good)-5]...)
	for _, tt := range []struct {
		name string
		give []byte
	}{
		{"decompressed size over the bound", huge},
		{"truncated block", truncated},
		{"count differs", append([]byte{payloadS2, 2}, block...)},
		{"no block", []byte{payloadS2, 3}},
		{"not format 3 inside", append([]byte{payloadS2, 1}, s2.Encode(nil, good)...)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			_, err := decodeRecords(tt.give)
			runtime.ReadMemStats(&m1)
			if err != errPayload {
				t.Fatalf("decoded: %v", err)
			}
			if alloc := m1.TotalAlloc - m0.TotalAlloc; alloc > 16*uint64(len(tt.give)) {
				t.Fatalf("decoding a %d-byte payload allocated %d bytes", len(tt.give), alloc)
			}
		})
	}
}

// BenchmarkEntryEncoding compares what an entry costs: encoding (the version 3 payload,
// then compressing it) on Append and decoding on a read from disk, and the bytes it
// takes on disk, for the stored format (s2) and for the alternatives considered
// (none: format 3; zstd at its two fastest levels).
// Run: go test ./bridge/spool -run X -bench EntryEncoding -cpu 1
func BenchmarkEntryEncoding(b *testing.B) {
	type codec struct {
		name string
		enc  func(dst []byte, recs []bridge.Record) []byte
		dec  func(payload []byte) ([]bridge.Record, error)
	}
	codecs := []codec{
		{"none", func(dst []byte, recs []bridge.Record) []byte { return encodeRecords(dst[:0], recs) }, decodeRecords},
		{"s2", func(_ []byte, recs []bridge.Record) []byte { p, _, _ := encodeEntry(recs); return p }, decodeRecords},
	}
	for _, level := range []zstd.EncoderLevel{zstd.SpeedFastest, zstd.SpeedDefault} {
		enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(level), zstd.WithEncoderConcurrency(1))
		if err != nil {
			b.Fatal(err)
		}
		defer enc.Close()
		dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
		if err != nil {
			b.Fatal(err)
		}
		defer dec.Close()
		codecs = append(codecs, codec{"zstd-" + level.String(),
			func(dst []byte, recs []bridge.Record) []byte {
				return enc.EncodeAll(encodeRecords(dst[:0], recs), nil)
			},
			func(p []byte) ([]bridge.Record, error) {
				raw, err := dec.DecodeAll(p, nil)
				if err != nil {
					return nil, err
				}
				return decodeRecords(raw)
			}})
	}
	for _, set := range []struct {
		name      string
		callbacks [][]bridge.Record
	}{{"golden", goldenCallbacks(b)}, {"blocklist3", blocklistCallbacks(b, 1000)}} {
		for _, c := range codecs {
			var stored [][]byte
			var disk int
			for _, recs := range set.callbacks {
				p := c.enc(nil, recs)
				stored = append(stored, append([]byte(nil), p...))
				disk += headerSize + len(p)
			}
			b.Run(set.name+"/"+c.name+"/encode", func(b *testing.B) {
				b.ReportAllocs()
				dst := make([]byte, 0, 64<<10)
				i := 0
				for b.Loop() {
					c.enc(dst, set.callbacks[i%len(set.callbacks)])
					i++
				}
				b.ReportMetric(float64(disk)/float64(len(set.callbacks)), "disk-B/entry")
			})
			b.Run(set.name+"/"+c.name+"/decode", func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if _, err := c.dec(stored[i%len(stored)]); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		}
	}
}
