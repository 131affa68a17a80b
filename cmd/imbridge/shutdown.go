package main

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/spool"
)

// errShuttingDown is /readyz's reason from the first signal on.
var errShuttingDown = errors.New("shutting down")

// stoppingDelivery is the delivery as /readyz sees it: not ready once stopping is
// true, whatever the delivery says, so that load balancers stop sending callbacks
// before the listener closes.
type stoppingDelivery struct {
	bridge.Delivery
	stopping *atomic.Bool
}

// Ready returns errShuttingDown once shutdown has begun, the delivery's answer before.
func (d stoppingDelivery) Ready(ctx context.Context) error {
	if d.stopping.Load() {
		return errShuttingDown
	}
	return d.Delivery.Ready(ctx)
}

// Health passes on the delivery's Health, where it has one (spool mode): /readyz
// reports it, and the embedded interface alone would hide it.
func (d stoppingDelivery) Health() error {
	if h, ok := d.Delivery.(interface{ Health() error }); ok {
		return h.Health()
	}
	return nil
}

// closeWhenStopping answers with Connection: close (HTTP/2: GOAWAY) once stopping is
// true. A client that keeps connections alive (Chat does) stays on this replica for as
// long as its connection lives, whatever the load balancers know; closing after each
// answer sends its next callback over a new connection, to a replica still in service,
// instead of onto a connection the listener closes at the end of the delay.
func closeWhenStopping(stopping *atomic.Bool, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if stopping.Load() {
			w.Header().Set("Connection", "close")
		}
		h.ServeHTTP(w, r)
	})
}

// drain waits until the forwarder has published everything in the spool, or timeout.
func drain(sp *spool.Spool, timeout time.Duration, log *zap.Logger) {
	deadline := time.Now().Add(timeout)
	for sp.Stats().Entries > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if st := sp.Stats(); st.Entries > 0 {
		log.Warn("drain timeout: events stay in the spool for the next start",
			zap.Int64("callbacks", st.Entries), zap.Int64("records", st.Records), zap.Int64("bytes", st.Bytes))
	}
}
