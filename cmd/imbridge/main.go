// Command imbridge is the Tencent Cloud Chat callback bridge: `imbridge serve` answers
// Chat's relationship-chain callbacks and publishes one Kafka event per pair.
// This package only wires: configuration, logger, Kafka publisher, delivery, HTTP
// servers, signals and the shutdown order.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/httpapi"
	"github.com/imbridge/imbridge/bridge/kafka"
	"github.com/imbridge/imbridge/bridge/metrics"
	"github.com/imbridge/imbridge/bridge/spool"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr))
}

// usage is the top-level help; its list of callbacks is the routing table.
func usage() string {
	var b strings.Builder
	b.WriteString(`Usage: imbridge COMMAND [flags]

imbridge receives Tencent Cloud Chat's notification webhooks, verifies them and
publishes them to Kafka: one event per pair, member, message or callback (the README's
route table says which). The callbacks it routes, with their default topics and event
types:

`)
	width := 0
	for _, r := range bridge.DefaultRoutes {
		width = max(width, len(r.Command))
	}
	for _, r := range bridge.DefaultRoutes {
		fmt.Fprintf(&b, "  %-*s %-18s %s\n", width, r.Command, r.Topic, r.Type)
	}
	b.WriteString(`
Any other command is answered OK and published to imbridge.unrouted as sent
(IMBRIDGE_TOPIC_UNROUTED). An authenticated callback that cannot be mapped is answered OK
and kept whole, with the reason, on imbridge.quarantine (IMBRIDGE_TOPIC_QUARANTINE): Chat
never sends a callback again.

Commands:
  serve     run the bridge (imbridge serve --help lists every setting)
  check     validate the settings (the same as serve's) and check Kafka and every topic
  sign      add Sign and RequestTime to a callback URL (imbridge sign --help)
  spool     imbridge spool status DIR says what a spool holds, live or not; imbridge
            spool drain DIR forwards a stopped replica's backlog to Kafka and exits when
            it is empty (imbridge spool --help)
  replay    map callbacks kept on the quarantine or unrouted topic again and publish
            their events, with the eventIds they would have had (imbridge replay --help)
  dlq       imbridge dlq redrive publishes the events on the dead-letter topic again to
            the topics that refused them, once they fit (imbridge dlq --help)
  probe     GET an admin URL (default http://127.0.0.1:9090/readyz); exit 0 on 200, for
            container healthchecks in images without a shell
  version   print the version
`)
	return b.String()
}

func run(args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage())
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], lookup, stdout, stderr)
	case "sign":
		return sign(args[1:], lookup, stdout, stderr)
	case "check":
		return check(args[1:], lookup, stdout, stderr)
	case "probe":
		return probe(args[1:], stdout, stderr)
	case "spool":
		return spoolCommand(args[1:], lookup, stdout, stderr)
	case "replay":
		return replayCommand(args[1:], lookup, stdout, stderr)
	case "dlq":
		return dlqCommand(args[1:], lookup, stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "imbridge", versionString())
		return 0
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage())
		return 0
	default:
		fmt.Fprintf(stderr, "imbridge: unknown command %q\n\n%s", args[0], usage())
		return 2
	}
}

func versionString() string {
	v := version
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
	}
	return v
}

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
// IMBRIDGE_MEMORY_LIMIT gives one: the resident memory stays under 200 MiB with the
// default budgets (TestAmplifyingCallbacksHoldTheBudget).
const defaultGoMemoryLimit = 160 << 20

func newLogger(level, format string, out io.Writer) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, err
	}
	encCfg := zap.NewProductionEncoderConfig()
	encCfg.TimeKey = "ts"
	encCfg.EncodeTime = zapcore.ISO8601TimeEncoder
	enc := zapcore.NewJSONEncoder(encCfg)
	if format == "console" {
		enc = zapcore.NewConsoleEncoder(encCfg)
	}
	core := zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(out)), lvl)
	// Sampling keeps a flood of request lines (every callback logs one at info, 4xx from
	// the internet too) from drowning the log: per message and level, the first 100 in
	// each second, then every 100th.
	core = zapcore.NewSamplerWithOptions(core, time.Second, 100, 100)
	return zap.New(core), nil
}

// serveWith runs the bridge until SIGINT or SIGTERM, then shuts down in order: fail
// /readyz, keep serving callbacks for the shutdown delay (SIGTERM only), stop
// accepting and finish in-flight callbacks, drain the spool for up to the drain
// timeout, stop the forwarder, close the spool and the producer. A second signal exits
// at once.
func serveWith(cfg Config, log *zap.Logger) error {
	m := metrics.New(version)
	pub, err := kafka.New(kafka.Config{Brokers: cfg.KafkaBrokers, Topics: cfg.topics(), PingTopics: cfg.routedTopics(), Security: cfg.Kafka, Observer: m,
		UnknownTopicTimeout: cfg.KafkaUnknownTopic},
		log.Named("kafka"))
	if err != nil {
		return err
	}
	defer pub.Close()
	var (
		delivery  bridge.Delivery
		sp        *spool.Spool
		forwarder *spool.Forwarder
	)
	switch cfg.Delivery {
	case "sync":
		// Both modes refuse a callback with a record Kafka could never take (413)
		// instead of holding it; the limits are the topics' max.message.bytes.
		delivery = &bridge.SyncDelivery{Publisher: pub, Timeout: cfg.SyncTimeout, Limits: pub}
	default:
		sp, err = spool.Open(cfg.SpoolDir, spool.Options{MaxBytes: cfg.SpoolMaxBytes, Log: log.Named("spool")})
		if err != nil {
			return err
		}
		defer sp.Close()
		forwarder = spool.NewForwarder(sp, pub, spool.ForwarderConfig{
			DeadLetterTopic:  cfg.DLQTopic,
			MaxAttempts:      cfg.DLQAfterAttempts,
			BackoffMax:       cfg.KafkaRetryBackoffMax,
			UnreachableAfter: cfg.KafkaUnreachableAfter,
		}, log.Named("forwarder"))
		delivery = &spool.Delivery{Spool: sp, Forwarder: forwarder, HighWater: cfg.SpoolHighWater, Limits: pub}
		m.RegisterSpool(func() metrics.SpoolStats {
			st := sp.Stats()
			return metrics.SpoolStats{Records: st.Entries, Events: st.Records, Bytes: st.Bytes, Limit: sp.MaxBytes(), Oldest: st.Oldest}
		}, func() int64 { _, dead := forwarder.Counts(); return dead }, time.Now)
		m.RegisterDeliveryHealth(forwarder.Health)
	}
	var live func() error
	if sp != nil {
		live = sp.Live
	}
	verifier := &bridge.Verifier{AppID: cfg.SDKAppID, Tokens: cfg.CallbackTokens, MaxSkew: cfg.SignMaxSkew}

	// Signals are caught before the listeners open: from then on the kernel accepts
	// connections, and a SIGTERM must lead to the ordered shutdown below, not to the
	// default exit under them.
	sigc := make(chan os.Signal, 2)
	signal.Notify(sigc, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigc)

	callbackLn, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen for callbacks: %w", err)
	}
	adminLn, err := net.Listen("tcp", cfg.AdminListen)
	if err != nil {
		callbackLn.Close()
		return fmt.Errorf("listen for admin: %w", err)
	}
	// stopping turns true when shutdown begins: from then on /readyz fails and every
	// callback answer closes its connection.
	var stopping atomic.Bool
	callbackSrv := &http.Server{
		Handler: closeWhenStopping(&stopping, httpapi.NewCallbackServer(httpapi.Config{Path: cfg.CallbackPath, BodyLimit: cfg.BodyLimit,
			MaxQueryBytes: cfg.MaxQueryBytes, MaxPairs: cfg.MaxPairs, MaxRecordBytes: cfg.MaxRecordBytes, MaxInFlight: cfg.MaxInFlight, MaxInFlightBytes: cfg.MaxInFlightBytes,
			Timeout: cfg.HTTPWriteTimeout, ReplayWindow: cfg.replayWindow(), ReplayCacheSize: cfg.ReplayCacheSize,
			TrustedProxies: cfg.TrustedProxies, QuarantineTopic: cfg.QuarantineTopic},
			httpapi.Deps{Verifier: verifier, Routes: bridge.NewRoutes(cfg.routes()...), Delivery: delivery, Log: log, Observer: m})),
		ReadHeaderTimeout: cfg.HTTPReadHeaderTimeout,
		ReadTimeout:       cfg.HTTPReadTimeout,
		WriteTimeout:      cfg.HTTPWriteTimeout,
		IdleTimeout:       cfg.HTTPIdleTimeout,
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		ErrorLog:          zap.NewStdLog(log.Named("http")),
	}
	var certs *certReloader
	if cfg.TLSCertFile != "" {
		if certs, err = newCertReloader(cfg.TLSCertFile, cfg.TLSKeyFile, log.Named("tls")); err != nil {
			callbackLn.Close()
			adminLn.Close()
			return err
		}
		callbackSrv.TLSConfig = certs.serverTLSConfig()
	}
	adminSrv := &http.Server{
		Handler:           httpapi.NewAdminServer(stoppingDelivery{delivery, &stopping}, httpapi.AdminConfig{Metrics: m.Handler(), Live: live, Pprof: cfg.Pprof}, log),
		ReadHeaderTimeout: cfg.HTTPReadHeaderTimeout,
		ReadTimeout:       cfg.HTTPReadTimeout,
		WriteTimeout:      cfg.adminWriteTimeout(),
		IdleTimeout:       cfg.HTTPIdleTimeout,
		ErrorLog:          zap.NewStdLog(log.Named("admin")),
	}

	log.Info("imbridge starting", zap.String("version", versionString()), zapConfigField(cfg),
		zap.String("callback_addr", callbackLn.Addr().String()), zap.String("admin_addr", adminLn.Addr().String()))

	fwdCtx, stopForwarder := context.WithCancel(context.Background())
	defer stopForwarder()
	go loadLimits(fwdCtx, pub, log)
	leadersDone := make(chan struct{})
	go func() { defer close(leadersDone); pub.WatchLeaders(fwdCtx, 10*time.Second, m) }()
	defer func() { stopForwarder(); <-leadersDone }()
	go warnMissingTopics(fwdCtx, cfg, log)
	fwdDone := make(chan struct{})
	if forwarder != nil {
		go func() {
			defer close(fwdDone)
			if err := forwarder.Run(fwdCtx); err != nil {
				log.Error("forwarder stopped", zap.Error(err))
			}
		}()
	} else {
		close(fwdDone)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			if err := pub.Ping(ctx); err != nil {
				log.Warn("kafka is not ready yet; callbacks will be answered 503 until it is", zap.Error(err))
			}
		}()
	}

	errc := make(chan error, 2)
	go func() { errc <- serveHTTP(callbackSrv, callbackLn, "callback") }()
	go func() { errc <- serveHTTP(adminSrv, adminLn, "admin") }()

	if certs != nil {
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		go func() {
			for {
				select {
				case <-fwdCtx.Done():
					return
				case <-hup:
					certs.reloadLogged("SIGHUP")
				}
			}
		}()
		go certs.watch(fwdCtx, certPollInterval)
	}

	// abort is the answer to a second signal: stop the forwarder before the deferred
	// Close of the spool runs (the spool is never closed under a running reader).
	// Publishing stops at once; what was not acknowledged stays in the spool for the
	// next start.
	abort := func(sig os.Signal) error {
		stopForwarder()
		<-fwdDone
		return fmt.Errorf("second signal (%s): exiting without finishing in-flight callbacks", sig)
	}
	var runErr error
	select {
	case sig := <-sigc:
		log.Info("shutting down", zap.String("signal", sig.String()))
		stopping.Store(true)
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
				return abort(sig)
			case runErr = <-errc:
				delay.Stop()
			}
		}
	case runErr = <-errc:
		stopping.Store(true)
	}

	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		err := callbackSrv.Shutdown(ctx) // stops accepting, waits for in-flight callbacks
		cancel()
		if sp != nil {
			drain(sp, cfg.DrainTimeout, log)
		}
		stopForwarder()
		<-fwdDone
		// The admin server gets a context of its own: the drain may have outlasted
		// the first one, and /readyz answers (503) until here.
		actx, acancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer acancel()
		if e := adminSrv.Shutdown(actx); err == nil {
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
		return abort(sig)
	}
	if runErr == nil {
		log.Info("imbridge stopped")
	}
	return runErr
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

// loadLimits reads the topics' max.message.bytes, retrying until it succeeds or ctx
// ends: until then the publisher assumes Kafka's default for every topic.
func loadLimits(ctx context.Context, pub *kafka.Publisher, log *zap.Logger) {
	for wait := time.Second; ; wait = min(2*wait, 30*time.Second) {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		got, err := pub.LoadLimits(rctx)
		cancel()
		if err == nil {
			log.Info("kafka topic limits read", zap.Any("max_message_bytes", got))
			return
		}
		if ctx.Err() != nil {
			return
		}
		log.Warn("cannot read the topics' max.message.bytes yet; assuming Kafka's default", zap.Error(err), zap.Duration("retry_in", wait))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
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

// zapConfigField is the effective configuration as logged at start-up.
func zapConfigField(cfg Config) zap.Field { return zap.Object("config", cfg) }

// certPollInterval is how often the callback listener's certificate files are checked
// for changes.
const certPollInterval = 2 * time.Second

func serveHTTP(srv *http.Server, ln net.Listener, name string) error {
	var err error
	if srv.TLSConfig != nil {
		err = srv.ServeTLS(ln, "", "")
	} else {
		err = srv.Serve(ln)
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("%s server: %w", name, err)
	}
	return nil
}

// probe is a healthcheck for images without a shell or curl: GET url, exit 0 on 200.
func probe(args []string, stdout, stderr io.Writer) int {
	url := "http://127.0.0.1:9090/readyz"
	if len(args) > 1 {
		fmt.Fprintln(stderr, "usage: imbridge probe [URL]")
		return 2
	}
	if len(args) == 1 {
		url = args[0]
	}
	client := &http.Client{Timeout: 3 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		fmt.Fprintf(stderr, "imbridge probe: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	fmt.Fprintf(stdout, "%d %s\n", resp.StatusCode, strings.TrimSpace(string(body)))
	if resp.StatusCode != http.StatusOK {
		return 1
	}
	return 0
}

const signUsage = `Usage: IMBRIDGE_CALLBACK_TOKEN=TOKEN imbridge sign [--time now|UNIXSECONDS] URL

Prints URL with RequestTime and Sign (SHA-256 of token + RequestTime, lowercase hex)
added, as Chat sends them when callback authentication is on. Use it for curl tests and
to compare with what Chat's console shows. The token comes from IMBRIDGE_CALLBACK_TOKEN
(the first of a comma-separated list) or the file IMBRIDGE_CALLBACK_TOKEN_FILE names;
--token TOKEN works too, but puts the token in the process's arguments, which every user
of the machine can read.
`

func sign(args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("imbridge sign", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, signUsage) }
	token := fs.String("token", "", "callback token")
	at := fs.String("time", "now", "RequestTime: Unix seconds, or now")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *token == "" {
		if v, ok := lookup("IMBRIDGE_CALLBACK_TOKEN"); ok {
			*token, _, _ = strings.Cut(v, ",")
		} else if f, ok := lookup("IMBRIDGE_CALLBACK_TOKEN_FILE"); ok && f != "" {
			b, err := os.ReadFile(f)
			if err != nil {
				fmt.Fprintf(stderr, "imbridge sign: IMBRIDGE_CALLBACK_TOKEN_FILE: %v\n", err)
				return 2
			}
			first, _, _ := strings.Cut(strings.ReplaceAll(string(b), "\n", ","), ",")
			*token = strings.TrimSpace(first)
		}
	}
	if *token == "" || fs.NArg() != 1 {
		fmt.Fprint(stderr, "imbridge sign: a token and one URL are required\n\n"+signUsage)
		return 2
	}
	u, err := url.Parse(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "imbridge sign: %v\n", err)
		return 2
	}
	rt := strconv.FormatInt(time.Now().Unix(), 10)
	if *at != "now" {
		n, ok := bridge.ParseRequestTime(*at)
		if !ok {
			fmt.Fprintf(stderr, "imbridge sign: --time %q: expected Unix seconds or now\n", *at)
			return 2
		}
		rt = strconv.FormatInt(n, 10)
	}
	q := u.Query()
	q.Set(bridge.ParamRequestTime, rt)
	q.Set(bridge.ParamSign, bridge.Sign(*token, rt))
	u.RawQuery = q.Encode()
	fmt.Fprintln(stdout, u.String())
	return 0
}
