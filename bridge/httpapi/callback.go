package httpapi

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"go.uber.org/zap"

	"github.com/imbridge/imbridge/bridge"
)

type callbackHandler struct {
	cfg      Config
	deps     Deps
	unrouted *sampler
	before   *commandSampler // before-callbacks, warned about once per command and interval
	buffers  *bodyBuffers
	replays  *bridge.ReplayCache // nil: the replay filter is off
	versions *bridge.Versioner
}

// serve handles one callback: verify the query, read the body, route, map, deliver,
// answer. An authenticated callback that cannot be mapped is quarantined (see
// quarantine) and answered OK. Every error goes to writeError through Echo's error
// handler. Once its body is read and verified, a callback is delivered whatever its
// client does meanwhile: Chat does not send an after-callback again, so one whose client
// went away (Chat waits 2 s) or whose answer can no longer be written is kept all the
// same (delivery runs on a context that the request's end does not cancel).
func (h *callbackHandler) serve(c echo.Context) error {
	req := c.Request()
	ctx := req.Context()
	// A deadline checked between the steps rather than a context with a timer: a timer
	// per callback costs more than the checks.
	var deadline time.Time
	if h.cfg.Timeout > 0 {
		deadline = time.Now().Add(h.cfg.Timeout)
	}
	if n := len(req.URL.RawQuery); n > h.cfg.MaxQueryBytes {
		return bridge.Errorf(bridge.KindURITooLong, "query string is %d bytes; at most %d are accepted", n, h.cfg.MaxQueryBytes)
	}
	// The log line names the command also when the query or the signature is refused
	// (a wrong token is then easier to tell from a wrong URL); at most 64 bytes of it.
	info := infoOf(c)
	q, err := bridge.ParseRawQuery(req.URL.RawQuery)
	if err != nil {
		if values, _ := url.ParseQuery(req.URL.RawQuery); values.Get(bridge.ParamCallbackCommand) != "" {
			info.command = truncateCommand(values.Get(bridge.ParamCallbackCommand))
		}
		return err
	}
	info.command = truncateCommand(q.CallbackCommand)
	// Metrics label: only commands of the routing table, so clients cannot add series.
	route, ok := h.deps.Routes.Lookup(q.CallbackCommand)
	before := bridge.BeforeCallback(q.CallbackCommand)
	switch {
	case bridge.KnownCommand(q.CallbackCommand): // switched on or off, routed or unrouted
		info.label = q.CallbackCommand
	case before:
		info.label = labelBefore
	}
	now := h.deps.Now()
	appID, err := h.deps.Verifier.Verify(q.SDKAppID, q.Sign, q.RequestTime, now)
	signed := err == nil && len(h.deps.Verifier.Tokens) > 0
	if signed {
		// Only a verified RequestTime says something about the clocks: anyone can send
		// an unsigned or a wrongly signed one.
		if rt, ok := bridge.ParseRequestTime(q.RequestTime); ok {
			h.deps.Observer.RequestTimeSkew(now.Sub(time.Unix(rt, 0)))
		}
	}
	if err != nil {
		if reason := bridge.ErrorReason(err); reason != "" {
			h.deps.Observer.SignatureFailure(reason)
		}
		return err
	}
	if before {
		if n := h.before.tick(q.CallbackCommand); n > 0 {
			h.deps.Log.Warn("a before-callback was answered OK, which Chat reads as allow: switch it off in Chat's console or give it another URL",
				zap.String("command", truncateCommand(q.CallbackCommand)), zap.Int64("count", n))
		}
	}
	// From here on the callback is authenticated: Chat never sends it again, so what
	// cannot be mapped is kept in quarantine (when on) rather than refused. Only a body
	// over the limit, or more bytes in flight than the budget, is refused unread.
	buf, err := h.buffers.read(req, h.roomDeadline(deadline))
	if err != nil {
		return err
	}
	defer h.buffers.put(buf)
	body := *buf
	cb := bridge.Callback{Query: q, AppID: appID, Body: body, ReceivedAt: now, MaxPairs: h.cfg.MaxPairs, MaxRecordBytes: h.cfg.MaxRecordBytes}
	if q.CallbackCommand == "" {
		return h.quarantine(c, cb, signed, bridge.Errorf(bridge.KindBadRequest, "CallbackCommand is missing from the query"))
	}
	if ce := req.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		return h.quarantine(c, cb, signed, bridge.Errorf(bridge.KindUnsupported, "Content-Encoding %.32q is not supported: send the body uncompressed", ce))
	}
	if ok && route.Command == "" && !bridge.CleanCommand(q.CallbackCommand) {
		// The unrouted route keys its record by the command.
		return h.quarantine(c, cb, signed, bridge.Errorf(bridge.KindBadRequest,
			"CallbackCommand %.80q is not a command name (1 to 64 of A-Z a-z 0-9 _ .)", q.CallbackCommand))
	}
	if !ok {
		info.outcome = "unrouted"
		if n := h.unrouted.tick(); n > 0 {
			h.deps.Log.Info("callbacks without a route answered OK, nothing published",
				zap.String("command", q.CallbackCommand), zap.Int64("count", n))
		}
		return writeOK(c)
	}
	var seed [32]byte
	if h.replays != nil && signed {
		if seed = bridge.CallbackSeed(cb); h.replays.Seen(seed, now) {
			info.outcome = "replayed"
			return writeOK(c)
		}
	}
	events, err := bridge.Map(cb, route)
	if err != nil {
		return h.quarantine(c, cb, signed, err)
	}
	info.events = len(events)
	h.versions.Assign(events, signed, cb.ReceivedAt)
	// The records count against the bytes in flight with the body, so that concurrent
	// callbacks cannot hold more than the budget; a callback waits for room (at most
	// recordWait, or Config.Timeout) rather than being refused at once, and one that
	// finds none is kept whole in quarantine rather than answered 503.
	records := bridge.RecordBytes(events)
	if h.deps.Tracer != nil {
		records += int64(len(events)) * traceHeaderBytes
	}
	if records > h.buffers.maxBytes {
		// It could never fit, however long it waited.
		return h.quarantine(c, cb, signed, bridge.Errorf(bridge.KindTooLarge,
			"the records of this callback (%d bytes) do not fit in IMBRIDGE_MAX_IN_FLIGHT_BYTES (%d)", records, h.buffers.maxBytes))
	}
	waitFrom := time.Now()
	if !h.buffers.reserve(records, h.roomDeadline(deadline)) {
		return h.keep(c, cb, signed, bridge.Errorf(bridge.KindUnavailable,
			"no room for the records of this callback (%d bytes) in IMBRIDGE_MAX_IN_FLIGHT_BYTES (%d) within %s; replay it from the quarantine topic",
			records, h.buffers.maxBytes, time.Since(waitFrom).Round(time.Millisecond)))
	}
	defer h.buffers.release(records)
	if err := h.accept(ctx, events); err != nil {
		if bridge.ErrorKind(err) == bridge.KindTooLarge { // a record over its topic's limit
			return h.quarantine(c, cb, signed, err)
		}
		return err
	}
	if h.replays != nil && signed {
		h.replays.Add(seed, now)
	}
	info.outcome = "ok"
	if route.Command == "" {
		// Kept whole on the unrouted topic: counted as a callback without a route, as
		// when that topic is off.
		info.outcome = "unrouted"
	}
	return writeOK(c)
}

// labelBefore is the metrics' command label of every before-callback (Chat's commands
// with "Before" in the name): imbridge answers them OK, which Chat reads as "allow".
const labelBefore = "before"

// accept hands events to the delivery, traced when a Tracer is set (its spans children
// of ctx's), on a context of its own that the request's end does not cancel: a callback
// read and verified is kept even when its client went away. The delivery reads nothing
// of the request's context, so it gets context.Background (context.WithoutCancel(ctx)
// would cost an allocation per callback).
func (h *callbackHandler) accept(ctx context.Context, events []bridge.Event) error {
	if h.deps.Tracer == nil {
		return h.deps.Delivery.Accept(context.Background(), events)
	}
	end := h.deps.Tracer.StartSend(ctx, events)
	err := h.deps.Delivery.Accept(context.Background(), events)
	end(err)
	return err
}

// truncateCommand keeps at most 64 bytes of a command for the log.
func truncateCommand(s string) string {
	if len(s) > 64 {
		return s[:64]
	}
	return s
}

// recordWait is the longest a verified callback waits for room in the byte budget for
// its body, and again for its records: below Chat's 2 s wait for the answer.
const recordWait = time.Second

// roomDeadline is how long a callback waits for room from now: recordWait, or until
// its deadline (Config.Timeout) when that comes first.
func (h *callbackHandler) roomDeadline(deadline time.Time) time.Time {
	wait := time.Now().Add(recordWait)
	if !deadline.IsZero() && deadline.Before(wait) {
		return deadline
	}
	return wait
}

// quarantine keeps an authenticated callback that cannot be mapped (reason): its body,
// as received, becomes one record on the quarantine topic, and Chat is answered OK.
// With the quarantine off, or for a reason that is not a mapping problem, reason is
// returned: the callback is refused as before.
func (h *callbackHandler) quarantine(c echo.Context, cb bridge.Callback, signed bool, reason error) error {
	if !bridge.Quarantinable(reason) {
		return reason
	}
	return h.keep(c, cb, signed, reason)
}

// keep puts an authenticated callback whole on the quarantine topic with reason, whatever
// its kind, and answers OK; with the quarantine off it returns reason. Its record is not
// counted in the bytes in flight: it is about the size of the body, which is.
func (h *callbackHandler) keep(c echo.Context, cb bridge.Callback, signed bool, reason error) error {
	if h.cfg.QuarantineTopic == "" {
		return reason
	}
	events := []bridge.Event{bridge.QuarantineEvent(cb, h.cfg.QuarantineTopic, c.Request().Header.Get("Content-Type"), reason)}
	h.versions.Assign(events, signed, cb.ReceivedAt)
	if err := h.accept(c.Request().Context(), events); err != nil {
		return err
	}
	kind := bridge.ErrorKind(reason).String()
	h.deps.Observer.Quarantined(kind)
	info := infoOf(c)
	info.outcome, info.reason, info.events = "quarantined", bridge.ErrorMessage(reason), 1
	return writeOK(c)
}

// commandSampler is a sampler per command, so that each command switched on by mistake
// is named within the interval, not only the first. It remembers at most
// maxSampledCommands commands (then starts afresh): only verified callbacks reach it.
type commandSampler struct {
	mu       sync.Mutex
	interval time.Duration
	commands map[string]*sampler
}

// maxSampledCommands bounds the commands a commandSampler remembers.
const maxSampledCommands = 64

func newCommandSampler(interval time.Duration) *commandSampler {
	return &commandSampler{interval: interval, commands: map[string]*sampler{}}
}

// tick counts one event of command and returns the count to report, or 0.
func (c *commandSampler) tick(command string) int64 {
	c.mu.Lock()
	s, ok := c.commands[command]
	if !ok {
		if len(c.commands) >= maxSampledCommands {
			clear(c.commands)
		}
		s = newSampler(c.interval)
		c.commands[command] = s
	}
	c.mu.Unlock()
	return s.tick()
}

// sampler lets one event through per interval and counts the ones in between, so that
// a flood of identical events makes one log line per interval.
type sampler struct {
	mu       sync.Mutex
	interval time.Duration
	last     time.Time
	count    int64
}

func newSampler(interval time.Duration) *sampler { return &sampler{interval: interval} }

// tick counts one event and returns the count to report, or 0 when this one is quiet.
func (s *sampler) tick() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count++
	now := time.Now()
	if s.last.IsZero() || now.Sub(s.last) >= s.interval {
		n := s.count
		s.count = 0
		s.last = now
		return n
	}
	return 0
}
