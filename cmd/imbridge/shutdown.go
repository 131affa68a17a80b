package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/spool"
)

// shutdown waits for SIGINT, SIGTERM or a server's end, then shuts down in the order
// serveWith states; a second signal ends it at once (abort).
func (s *service) shutdown(sigc <-chan os.Signal, errc <-chan error) error {
	cfg, log := s.cfg, s.log
	var runErr error
	select {
	case sig := <-sigc:
		log.Info("shutting down", zap.String("signal", sig.String()))
		s.stopping.Store(true)
		if sig == syscall.SIGTERM && cfg.ShutdownDelay > 0 {
			// SIGTERM comes from an orchestrator that is taking this replica out of
			// its load balancers at the same time; until they all know, callbacks
			// still arrive here, and a closed listener would lose them (Chat never
			// retries). SIGINT is a person at a terminal: no delay.
			log.Info("shutdown delay: /readyz fails, callbacks are still served", zap.Duration("delay", cfg.ShutdownDelay))
			delay := time.NewTimer(cfg.ShutdownDelay)
			select {
			case <-delay.C:
				log.Info("shutdown delay over: the callback listener closes", zap.Duration("delay", cfg.ShutdownDelay))
			case sig := <-sigc:
				delay.Stop()
				return s.abort(sig)
			case runErr = <-errc:
				delay.Stop()
			}
		}
	case runErr = <-errc:
		s.stopping.Store(true)
	}

	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		err := s.callbackSrv.Shutdown(ctx) // stops accepting, waits for in-flight callbacks
		cancel()
		if s.sp != nil {
			drain(s.sp, cfg.DrainTimeout, log)
		}
		s.stopBackground()
		<-s.fwdDone
		// The admin server gets a context of its own: the drain may have outlasted
		// the first one, and /readyz answers (503) until here.
		actx, acancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer acancel()
		if e := s.adminSrv.Shutdown(actx); err == nil {
			err = e
		}
		done <- err
	}()
	select {
	case err := <-done:
		if runErr == nil {
			runErr = err
		}
	case sig := <-sigc:
		return s.abort(sig)
	}
	if runErr == nil {
		log.Info("imbridge stopped")
	}
	return runErr
}

// abort is the answer to a second signal: stop the forwarder before the deferred
// Close of the spool runs (the spool is never closed under a running reader).
// Publishing stops at once; what was not acknowledged stays in the spool for the
// next start.
func (s *service) abort(sig os.Signal) error {
	s.stopBackground()
	<-s.fwdDone
	return fmt.Errorf("second signal (%s): exiting without finishing in-flight callbacks", sig)
}

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
