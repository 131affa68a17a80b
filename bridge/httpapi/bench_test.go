package httpapi

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/spool"
)

// BenchmarkCallbackToSpool is the whole request path in spool mode, from the request
// bytes to the fsync'd entry: verification, decoding, mapping, encoding the records
// once, the spool append. Its allocs/op are the allocations per callback (3 pairs) that
// imbridge makes: each goroutine sends one parsed request again and again (its body
// rewound) to one reused answer writer, so that neither the test's request parsing nor
// a recorder is counted (net/http's own, the same for any handler, is not either).
// Run: make bench-micro, or go test ./bridge/httpapi -run '^$' -bench CallbackToSpool
func BenchmarkCallbackToSpool(b *testing.B) { benchCallbacks(b, nil) }

// benchCallbacks is BenchmarkCallbackToSpool's harness, with tracer (nil: none) as the
// callback server's Tracer.
func benchCallbacks(b *testing.B, tracer Tracer) {
	sp, err := spool.Open(b.TempDir(), spool.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer sp.Close()
	deps := Deps{
		Verifier: &bridge.Verifier{AppID: 1400187352, Tokens: []bridge.Secret{testToken}, MaxSkew: time.Minute},
		Routes:   bridge.NewRoutes(bridge.DefaultRoutes...),
		Delivery: &spool.Delivery{Spool: sp},
		Log:      zap.NewNop(),
		Now:      func() time.Time { return testNow },
	}
	if tracer != nil {
		deps.Tracer = tracer
	}
	srv := NewCallbackServer(Config{}, deps)
	target := "/callback?" + signedQuery(bridge.CommandBlackListDelete)
	b.SetParallelism(32) // concurrent callbacks share fsyncs, as under load
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		body := bytes.NewReader([]byte(seedBody))
		req := httptest.NewRequest(http.MethodPost, target, strings.NewReader(seedBody))
		req.Body = io.NopCloser(body)
		w := &answerSink{header: http.Header{}}
		for pb.Next() {
			body.Seek(0, io.SeekStart)
			clear(w.header)
			w.code, w.body = 0, w.body[:0]
			srv.ServeHTTP(w, req)
			if w.code != http.StatusOK {
				b.Errorf("answer %d %s", w.code, w.body)
				return
			}
		}
	})
}

// answerSink is a reusable http.ResponseWriter that keeps the status and body.
type answerSink struct {
	header http.Header
	code   int
	body   []byte
}

func (w *answerSink) Header() http.Header { return w.header }

func (w *answerSink) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *answerSink) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.body = append(w.body, p...)
	return len(p), nil
}
