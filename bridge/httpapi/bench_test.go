package httpapi

import (
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
// once, the spool append. Its allocs/op are the allocations per callback (3 pairs).
// Run: make bench-micro, or go test ./bridge/httpapi -run '^$' -bench CallbackToSpool
func BenchmarkCallbackToSpool(b *testing.B) {
	sp, err := spool.Open(b.TempDir(), spool.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer sp.Close()
	srv := NewCallbackServer(Config{}, Deps{
		Verifier: &bridge.Verifier{AppID: 1400187352, Tokens: []bridge.Secret{testToken}, MaxSkew: time.Minute},
		Routes:   bridge.NewRoutes(bridge.DefaultRoutes...),
		Delivery: &spool.Delivery{Spool: sp},
		Log:      zap.NewNop(),
		Now:      func() time.Time { return testNow },
	})
	target := "/callback?" + signedQuery(bridge.CommandBlackListDelete)
	b.SetParallelism(32) // concurrent callbacks share fsyncs, as under load
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w := httptest.NewRecorder()
			srv.ServeHTTP(w, httptest.NewRequest(http.MethodPost, target, strings.NewReader(seedBody)))
			if w.Code != http.StatusOK {
				b.Errorf("answer %d %s", w.Code, w.Body)
				return
			}
		}
	})
}
