// Package httpapi is the Echo adapter: the callback endpoint that Chat posts to, the
// admin endpoints (/healthz, /readyz), and the one function that turns every error into
// Chat's answer JSON and a status code. All of Echo stays inside this package.
package httpapi

import (
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/labstack/echo/v4"
	"go.uber.org/zap"

	"github.com/imbridge/imbridge/bridge"
)

// DefaultBodyLimit is the largest accepted callback body when Config.BodyLimit is 0.
const DefaultBodyLimit = 1 << 20

// Config configures the callback endpoint.
type Config struct {
	// Path is the URL path Chat posts to. Default "/callback".
	Path string
	// BodyLimit is the largest accepted body in bytes; a larger one is answered 413.
	// Default DefaultBodyLimit (1 MiB).
	BodyLimit int64
	// MaxQueryBytes is the longest accepted query string; a longer one is answered 414.
	// Default DefaultMaxQueryBytes (4 KiB; Chat's are about 250 bytes).
	MaxQueryBytes int
	// MaxPairs is the most PairList entries accepted; more are answered 413. Default
	// bridge.DefaultMaxPairs.
	MaxPairs int
	// MaxRecordBytes caps the bytes of the records one callback makes (and at most 64
	// times its body); past it the callback is quarantined (413 with the quarantine
	// off). Default bridge.DefaultMaxRecordBytes (8 MiB).
	MaxRecordBytes int64
	// MaxInFlight bounds the callbacks handled at once; beyond it a callback is answered
	// 503 at once instead of queueing without bound. Default DefaultMaxInFlight.
	MaxInFlight int
	// MaxInFlightBytes bounds the bytes of the bodies held at once, a body counted as
	// the sizes of its buffers (from Content-Length, rounded up to a power of two, and
	// reserved as the bytes arrive beyond the first 64 KiB), and apart from them, the
	// bytes of the records they become while they are delivered (bridge.RecordBytes).
	// A verified callback waits up to a second for room for its body, then is answered
	// 503, and up to a second for room for its records, then is quarantined (503 with
	// the quarantine off). It is raised to
	// hold at least one body of BodyLimit as it grows (its largest buffer and
	// the one it grows from, about 1.5 times BodyLimit). Default DefaultMaxInFlightBytes (32 MiB).
	MaxInFlightBytes int64
	// Timeout is how long a callback may wait for room in MaxInFlightBytes for its
	// records, counted from the end of its headers (and at most a second): set it to the
	// server's write timeout, after which no answer reaches the client. A callback read
	// and verified is delivered (or quarantined) whatever the time or its client: Chat
	// does not send it again. 0: the second alone.
	Timeout time.Duration
	// ReplayWindow, when not 0, turns on the replay filter: a signed callback answered
	// OK is remembered for this long, and an exact replay of it (same SDKAppID,
	// RequestTime, command and body) is answered OK without publishing again, counted
	// with outcome "replayed". Twice the signature skew covers every replay that
	// verification lets through. Default 0: off (see the README for why).
	ReplayWindow time.Duration
	// ReplayCacheSize is the most callbacks the replay filter remembers; beyond it the
	// oldest are forgotten early. Default bridge.DefaultReplayCacheSize.
	ReplayCacheSize int
	// QuarantineTopic, when not empty, keeps every authenticated callback that cannot
	// be mapped (a body imbridge cannot read, a field out of bounds, records over a
	// topic's limit, an unsupported Content-Encoding, CallbackCommand missing) as one
	// record with the body as received on this topic, answered OK (see
	// bridge.QuarantineEvent): Chat never sends a callback again. Empty: such
	// callbacks are refused with 400, 413 or 415. Default empty; serve sets
	// imbridge.quarantine.
	QuarantineTopic string
	// TrustedProxies are the proxies (load balancers, ingress) in front of imbridge
	// whose X-Forwarded-For is believed: the client address in the request log is then
	// the rightmost address of X-Forwarded-For that is not a trusted proxy. Default
	// none: the address of the connection's peer, and X-Forwarded-For is ignored,
	// since anyone can send one.
	TrustedProxies []netip.Prefix
}

// Defaults of Config.
const (
	DefaultMaxQueryBytes = 4096
	DefaultMaxInFlight   = 1024
)

func (c *Config) setDefaults() {
	if c.Path == "" {
		c.Path = "/callback"
	}
	if c.BodyLimit == 0 {
		c.BodyLimit = DefaultBodyLimit
	}
	if c.MaxQueryBytes == 0 {
		c.MaxQueryBytes = DefaultMaxQueryBytes
	}
	if c.MaxPairs == 0 {
		c.MaxPairs = bridge.DefaultMaxPairs
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	if c.MaxInFlightBytes == 0 {
		c.MaxInFlightBytes = DefaultMaxInFlightBytes
	}
}

// Deps are what the callback endpoint works with.
type Deps struct {
	Verifier *bridge.Verifier
	Routes   bridge.Routes
	Delivery bridge.Delivery
	Log      *zap.Logger
	// Observer receives measurements; nil means none.
	Observer Observer
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Tracer, when not nil, traces each callback and the delivery of its events.
	Tracer Tracer
}

// Observer receives what the callback endpoint measures; metrics.Metrics implements
// it. command is a documented command, "before" (any before-callback) or "other"; outcome and reason come from fixed sets.
type Observer interface {
	Callback(command, outcome string, took time.Duration)
	SignatureFailure(reason string)
	RequestTimeSkew(d time.Duration)
	// Quarantined counts a callback kept in quarantine; kind is bad_request,
	// too_large, unsupported or unavailable.
	Quarantined(kind string)
}

type nopObserver struct{}

func (nopObserver) Quarantined(string) {}

func (nopObserver) Callback(string, string, time.Duration) {}
func (nopObserver) SignatureFailure(string)                {}
func (nopObserver) RequestTimeSkew(time.Duration)          {}

// NewCallbackServer returns the Echo instance that serves the callback endpoint. Every
// answer, also for unknown paths, wrong methods and panics, is Chat's answer JSON.
func NewCallbackServer(cfg Config, d Deps) *echo.Echo {
	cfg.setDefaults()
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Observer == nil {
		d.Observer = nopObserver{}
	}
	h := &callbackHandler{cfg: cfg, deps: d, unrouted: newSampler(10 * time.Second), before: newCommandSampler(time.Minute),
		buffers:  newBodyBuffers(cfg.BodyLimit, cfg.MaxInFlightBytes),
		versions: bridge.NewVersioner(d.Verifier.MaxSkew)}
	if cfg.ReplayWindow > 0 {
		h.replays = bridge.NewReplayCache(cfg.ReplayWindow, cfg.ReplayCacheSize)
	}
	e := newEcho(d.Log, d.Observer, zap.InfoLevel, hints{
		notFound:         "the callback URL in Chat's console must point at " + cfg.Path,
		methodNotAllowed: "Chat posts callbacks with POST",
	})
	e.IPExtractor = clientAddress(cfg.TrustedProxies)
	e.Use(drainRefused(cfg.BodyLimit))
	// Every method reaches the handler, so that OPTIONS too gets Chat's JSON (405)
	// instead of Echo's automatic 204.
	// The route's own middleware wrapped once here: given to Any, Echo would wrap it
	// again for every request.
	handler := limitInFlight(cfg.MaxInFlight)(postOnly(h.serve))
	if d.Tracer != nil {
		handler = traceCallbacks(d.Tracer, cfg.Path)(handler)
	}
	e.Any(cfg.Path, handler)
	return e
}

func postOnly(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if c.Request().Method != http.MethodPost {
			c.Response().Header().Set("Allow", http.MethodPost)
			return echo.ErrMethodNotAllowed
		}
		return next(c)
	}
}

// clientAddress is how the request log finds the client's address: the connection's
// peer, or with trusted proxies, the rightmost untrusted address of X-Forwarded-For.
func clientAddress(trusted []netip.Prefix) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	// Only the configured proxies: Echo trusts loopback and private networks by default.
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range trusted {
		p = p.Masked()
		opts = append(opts, echo.TrustIPRange(&net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// limitInFlight answers 503 at once when n callbacks are already being handled, so that
// a flood costs a small, bounded amount of memory instead of a queue.
func limitInFlight(n int) echo.MiddlewareFunc {
	slots := make(chan struct{}, n)
	busy := bridge.Errorf(bridge.KindUnavailable, "too many callbacks in flight (%d); try again later", n)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			select {
			case slots <- struct{}{}:
				defer func() { <-slots }()
				return next(c)
			default:
				return busy
			}
		}
	}
}
