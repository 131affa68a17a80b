package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"sync/atomic"
	"syscall"

	"go.uber.org/zap"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/kafka"
	"github.com/imbridge/imbridge/bridge/metrics"
	"github.com/imbridge/imbridge/bridge/spool"
	"github.com/imbridge/imbridge/bridge/tracing"
)

func serve(args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) int {
	cfg, err := loadConfig(args, lookup, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "imbridge: %v\n", err)
		return 2
	}
	log, err := newLogger(cfg.LogLevel, cfg.LogFormat, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "imbridge: %v\n", err)
		return 2
	}
	defer func() { _ = log.Sync() }()
	for _, w := range cfg.Warnings() {
		log.Warn(w)
	}
	if _, set := lookup("GOMEMLIMIT"); !set {
		// 90% of the container's limit: the rest is for what the Go heap limit does
		// not cover, so that the heap is collected harder before the kernel kills the
		// container. Without one, defaultGoMemoryLimit: with GOGC at 400 below, a burst
		// of large callbacks would otherwise grow the heap to five times what is live.
		limit, from := int64(defaultGoMemoryLimit), "default"
		if cfg.MemoryLimit > 0 {
			limit, from = cfg.MemoryLimit/10*9, "IMBRIDGE_MEMORY_LIMIT"
		}
		debug.SetMemoryLimit(limit)
		log.Info("Go memory limit set", zap.String("from", from), zap.Int64("memory_limit", cfg.MemoryLimit), zap.Int64("go_memory_limit", limit))
	}
	if _, set := lookup("GOGC"); !set {
		// The live heap is small (tens of MiB) and allocation-heavy per callback: a
		// larger GC target trades a little memory for CPU (measured in BENCHMARKS.md).
		debug.SetGCPercent(400)
	}
	if err := serveWith(cfg, log); err != nil {
		log.Error("imbridge stopped", zap.Error(err))
		return 1
	}
	return 0
}

// defaultGoMemoryLimit is the Go heap's soft limit when neither GOMEMLIMIT nor
// IMBRIDGE_MEMORY_LIMIT gives one: with the default budgets the resident memory stays
// under the flood bound (128 MiB) and the amplification bound (200 MiB) of the tests
// (TestFloodOfLargeSignedBodies, TestAmplifyingCallbacksHoldTheBudget).
const defaultGoMemoryLimit = 100 << 20

// service is what serveWith starts, kept together for the shutdown: the delivery
// (delivery.go), the HTTP servers (servers.go) and the order they stop in
// (shutdown.go).
type service struct {
	cfg     Config
	log     *zap.Logger
	metrics *metrics.Metrics
	tracer  *tracing.Tracer // nil: tracing is off

	// The delivery: sp and forwarder are nil in sync mode.
	pub       *kafka.Publisher
	delivery  bridge.Delivery
	sp        *spool.Spool
	forwarder *spool.Forwarder
	// stopBackground ends the background work (forwarder, limits, leaders, missing
	// topics, certificate reloads); fwdDone is closed once the forwarder has stopped
	// (at once in sync mode).
	stopBackground context.CancelFunc
	fwdDone        chan struct{}

	// stopping turns true when shutdown begins: from then on /readyz fails and every
	// callback answer closes its connection.
	stopping              atomic.Bool
	callbackLn, adminLn   net.Listener
	callbackSrv, adminSrv *http.Server
	certs                 *certReloader // nil: the callback listener serves plain HTTP
}

// serveWith runs the bridge until SIGINT or SIGTERM, then shuts down in order: fail
// /readyz, keep serving callbacks for the shutdown delay (SIGTERM only), stop
// accepting and finish in-flight callbacks, drain the spool for up to the drain
// timeout, stop the forwarder, close the spool and the producer. A second signal exits
// at once.
func serveWith(cfg Config, log *zap.Logger) error {
	s := &service{cfg: cfg, log: log, metrics: metrics.New(version)}
	tracer, err := tracing.New(context.Background(), cfg.Tracing, versionString(), log.Named("tracing"))
	if err != nil {
		return err
	}
	if tracer != nil {
		s.tracer = tracer
		defer s.stopTracing()
		log.Info("tracing on", zap.String("protocol", cfg.Tracing.Protocol),
			zap.String("endpoint", cmp.Or(os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"), os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT"), "the exporter's default")))
	}
	if err := s.openDelivery(); err != nil {
		return err
	}
	defer s.closeDelivery()

	// Signals are caught before the listeners open: from then on the kernel accepts
	// connections, and a SIGTERM must lead to the ordered shutdown, not to the
	// default exit under them.
	sigc := make(chan os.Signal, 2)
	signal.Notify(sigc, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigc)
	if err := s.openServers(); err != nil {
		return err
	}
	log.Info("imbridge starting", zap.String("version", versionString()), zapConfigField(cfg),
		zap.String("callback_addr", s.callbackLn.Addr().String()), zap.String("admin_addr", s.adminLn.Addr().String()))

	ctx, stopBackground := context.WithCancel(context.Background())
	s.stopBackground = stopBackground
	leadersDone := s.startDelivery(ctx)
	defer func() { stopBackground(); <-leadersDone }()
	errc, stopReloads := s.startServers(ctx)
	defer stopReloads()
	return s.shutdown(sigc, errc)
}
