package httpapi

import (
	"errors"
	"io"
	"math/bits"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/imbridge/imbridge/bridge"
)

// DefaultMaxInFlightBytes bounds the bytes of callback bodies held at once when
// Config.MaxInFlightBytes is 0: 32 bodies at the default 1 MiB limit, thousands of
// Chat's usual few hundred bytes.
const DefaultMaxInFlightBytes = 32 << 20

// minBuffer is the smallest body buffer: Chat's bodies fit.
const minBuffer = 4 << 10

// maxFirstBuffer caps the first reservation for a body, whatever its declared
// Content-Length: a larger body reserves more only as its bytes arrive, so that a slow
// sender cannot hold budget for bytes it has not sent.
const maxFirstBuffer = 64 << 10

// bodyBuffers hands out buffers for request bodies, sized from Content-Length and
// reused, and holds the total size of the buffers handed out to a limit: a flood of
// large bodies is refused (503) instead of growing the heap. Sizes are powers of two
// from minBuffer up to the body limit, each size with its own pool.
type bodyBuffers struct {
	limit    int64 // largest body
	maxBytes int64 // most bytes of buffers handed out at once, and apart, of records
	pools    []sync.Pool

	mu      sync.Mutex
	inUse   int64 // bytes of the buffers handed out
	records int64 // bytes of the records reserved (reserve)
}

func newBodyBuffers(limit, maxBytes int64) *bodyBuffers {
	b := &bodyBuffers{limit: limit}
	b.pools = make([]sync.Pool, b.class(limit+1)+1)
	// At least one body of the limit as it grows: its largest buffer and the one it
	// grows from are reserved together while it is copied.
	last := len(b.pools) - 1
	b.maxBytes = max(maxBytes, b.size(last)+b.size(max(0, last-1)))
	return b
}

// class returns the index of the smallest size that holds n bytes.
func (b *bodyBuffers) class(n int64) int {
	if n <= minBuffer {
		return 0
	}
	return bits.Len64(uint64(n-1)) - bits.Len64(minBuffer-1)
}

// size returns the capacity of buffers of class c: the power of two, capped at the
// body limit (plus one byte, to notice a body longer than the limit).
func (b *bodyBuffers) size(c int) int64 {
	return min(int64(minBuffer)<<c, max(b.limit+1, minBuffer))
}

// get reserves and returns a buffer of length 0 and capacity at least n (at most the
// body limit plus one), or nil when that would take the bytes in flight over maxBytes.
func (b *bodyBuffers) get(n int64) *[]byte {
	c := min(b.class(n), len(b.pools)-1)
	size := b.size(c)
	b.mu.Lock()
	if b.inUse+size > b.maxBytes {
		b.mu.Unlock()
		return nil
	}
	b.inUse += size
	b.mu.Unlock()
	if p, ok := b.pools[c].Get().(*[]byte); ok {
		*p = (*p)[:0]
		return p
	}
	buf := make([]byte, 0, size)
	return &buf
}

// put returns a buffer from get; it must not be used after.
func (b *bodyBuffers) put(p *[]byte) {
	size := int64(cap(*p))
	b.mu.Lock()
	b.inUse -= size
	b.mu.Unlock()
	b.pools[b.class(size)].Put(p)
}

// reserve counts n more bytes of records in flight (the records a callback's body
// became) if they fit beside the other records, waiting for room until deadline; it
// reports whether they were counted. release gives them back. Records have a budget of
// their own, apart from the bodies', so that the records of callbacks already read
// never leave a verified callback's body without room.
func (b *bodyBuffers) reserve(n int64, deadline time.Time) bool {
	for {
		b.mu.Lock()
		if b.records+n <= b.maxBytes {
			b.records += n
			b.mu.Unlock()
			return true
		}
		b.mu.Unlock()
		if !time.Now().Before(deadline) {
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (b *bodyBuffers) release(n int64) {
	b.mu.Lock()
	b.records -= n
	b.mu.Unlock()
}

// getWithin is get, waiting for room until deadline.
func (b *bodyBuffers) getWithin(n int64, deadline time.Time) *[]byte {
	for {
		if p := b.get(n); p != nil || !time.Now().Before(deadline) {
			return p
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// InUse returns the bytes of the buffers handed out now.
func (b *bodyBuffers) InUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.inUse
}

// read reads the request body, of at most limit bytes, into a buffer from get; the
// caller puts it back. A body starts in a buffer for its Content-Length, at most
// maxFirstBuffer (a body of unknown length, chunked, in the smallest), and moves to
// larger ones as its bytes arrive, each reserved before it is used: the budget holds
// what was received, not what was declared. Without room for a buffer it waits until
// deadline (the callback is verified: Chat does not send it again), then refuses.
func (b *bodyBuffers) read(req *http.Request, deadline time.Time) (*[]byte, error) {
	if req.ContentLength > b.limit {
		return nil, bridge.Errorf(bridge.KindTooLarge, "body is %d bytes; at most %d are accepted", req.ContentLength, b.limit)
	}
	want := int64(minBuffer)
	if req.ContentLength >= 0 {
		// One byte more than declared, so that a body longer than its Content-Length
		// (which net/http does not let through) would be noticed all the same; at most
		// maxFirstBuffer until more has arrived.
		want = min(req.ContentLength+1, maxFirstBuffer)
	}
	buf := b.getWithin(want, deadline)
	if buf == nil {
		return nil, b.busy()
	}
	for {
		n, err := req.Body.Read((*buf)[len(*buf):cap(*buf)])
		*buf = (*buf)[:len(*buf)+n]
		if int64(len(*buf)) > b.limit {
			b.put(buf)
			return nil, bridge.Errorf(bridge.KindTooLarge, "body exceeds %d bytes", b.limit)
		}
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			b.put(buf)
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, bridge.Errorf(bridge.KindTooLarge, "body exceeds %d bytes", b.limit)
			}
			return nil, &bridge.Error{Kind: bridge.KindBadRequest, Message: "body could not be read completely", Err: err}
		}
		if len(*buf) == cap(*buf) {
			bigger := b.getWithin(int64(cap(*buf))+1, deadline)
			if bigger == nil {
				b.put(buf)
				return nil, b.busy()
			}
			*bigger = append(*bigger, *buf...)
			b.put(buf)
			buf = bigger
		}
	}
}

func (b *bodyBuffers) busy() error {
	return bridge.Errorf(bridge.KindUnavailable, "too many body bytes in flight (at most %d); try again later", b.maxBytes)
}

// drainRefused reads and discards what is left of a refused request's body, up to
// limit bytes, before the refusal is written. A sender still sending its body then
// reads the answer (503, 401, 413, ...) on a connection that stays open, instead of a
// reset: net/http closes a connection whose unread body is longer than 256 KiB, and a
// sender still writing to it sees the close as a broken pipe, the answer unread. A body
// declared longer than limit is not drained (its connection is closed after the
// answer); the server's read timeout bounds every drain. Draining holds no buffer from
// the in-flight byte budget.
func drainRefused(limit int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			err := next(c)
			if req := c.Request(); err != nil && req.ContentLength <= limit {
				_, _ = io.CopyN(io.Discard, req.Body, limit+1)
			}
			return err
		}
	}
}
