package main

import (
	"context"
	"net"
	"net/url"
	"sync"
	"time"
)

// maxOpenedAge is how long a connection opened ahead stays usable: an older one may
// have been closed by the server (its read-header timeout) and is dialed anew.
const maxOpenedAge = 2 * time.Second

// openedConns are connections opened before a load starts, handed to the HTTP
// transport as it asks for connections; once they are used up (or too old), the
// transport's dials go to dial.
type openedConns struct {
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
	now  func() time.Time
	addr string

	mu    sync.Mutex
	conns []net.Conn
	at    time.Time // when they were opened
}

// openConnections opens n connections to the host of rawURL with dial, stopping at the
// first that fails (the load's own dials then report the failure).
func openConnections(ctx context.Context, dial func(ctx context.Context, network, addr string) (net.Conn, error), rawURL string, n int, now func() time.Time) *openedConns {
	o := &openedConns{dial: dial, now: now, addr: hostPort(rawURL)}
	if o.addr == "" {
		return o
	}
	for range n {
		c, err := dial(ctx, "tcp", o.addr)
		if err != nil {
			break
		}
		o.conns = append(o.conns, c)
	}
	o.at = now()
	return o
}

// hostPort returns the host and port that rawURL's requests connect to, or "".
func hostPort(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return ""
	}
	if u.Port() != "" {
		return u.Host
	}
	port := "80"
	if u.Scheme == "https" {
		port = "443"
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// dialContext is the transport's DialContext: a connection opened ahead when one is
// left for addr, else a new one.
func (o *openedConns) dialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	o.mu.Lock()
	if len(o.conns) > 0 && addr == o.addr && network == "tcp" {
		if o.now().Sub(o.at) <= maxOpenedAge {
			c := o.conns[len(o.conns)-1]
			o.conns = o.conns[:len(o.conns)-1]
			o.mu.Unlock()
			return c, nil
		}
		o.closeLocked()
	}
	o.mu.Unlock()
	return o.dial(ctx, network, addr)
}

// close closes the connections the transport did not take.
func (o *openedConns) close() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.closeLocked()
}

func (o *openedConns) closeLocked() {
	for _, c := range o.conns {
		c.Close()
	}
	o.conns = nil
}
