package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A fixed-rate load opens all its connections before its first callback: the server
// sees the first request only after every dial.
func TestLoadOpensConnectionsFirst(t *testing.T) {
	var dials atomic.Int64
	dialsAtFirst := int64(-1)
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { dialsAtFirst = dials.Load() })
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = w.Write(okBody)
	}))
	defer srv.Close()
	d := &net.Dialer{}
	l := Load{URL: srv.URL + "/callback", AppID: "1400187352", Token: "bench-callback-token", Connections: 8, Rate: 40, Pairs: 1,
		Duration: 500 * time.Millisecond, dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return d.DialContext(ctx, network, addr)
		}}
	res := l.Run(context.Background(), newRunID(), io.Discard)
	if res.OK == 0 || res.OK != res.Sent {
		t.Fatalf("%d of %d callbacks answered OK", res.OK, res.Sent)
	}
	if dialsAtFirst != 8 {
		t.Errorf("%d connections open when the first callback arrived, want 8", dialsAtFirst)
	}
	if n := dials.Load(); n != 8 {
		t.Errorf("%d dials in all, want 8", n)
	}
}

// A connection opened ahead is handed out only while it is fresh: an older one may
// have been closed by the server, so it is closed and a new one dialed.
func TestOpenedConnectionsExpire(t *testing.T) {
	var opened []net.Conn
	dial := func(context.Context, string, string) (net.Conn, error) {
		c, peer := net.Pipe()
		peer.Close()
		opened = append(opened, c)
		return c, nil
	}
	now := time.Unix(1669872112, 0)
	o := openConnections(context.Background(), dial, "http://127.0.0.1:1/callback", 2, func() time.Time { return now })
	c, _ := o.dialContext(context.Background(), "tcp", "127.0.0.1:1")
	if len(opened) != 2 || c != opened[1] {
		t.Fatalf("got %v of %d opened, want the last of 2", c, len(opened))
	}
	now = now.Add(maxOpenedAge + time.Millisecond)
	c, _ = o.dialContext(context.Background(), "tcp", "127.0.0.1:1")
	if len(opened) != 3 || c != opened[2] {
		t.Fatalf("got a connection opened ahead %s later, want a new one", maxOpenedAge)
	}
	if _, err := opened[0].Write([]byte("x")); err != io.ErrClosedPipe {
		t.Errorf("the expired connection is not closed: write error %v", err)
	}
}

func TestHostPort(t *testing.T) {
	for give, want := range map[string]string{
		"http://127.0.0.1:8080/callback": "127.0.0.1:8080",
		"http://localhost/callback":      "localhost:80",
		"https://[::1]/callback":         "[::1]:443",
		"not a url":                      "",
	} {
		if got := hostPort(give); got != want {
			t.Errorf("hostPort(%q) = %q, want %q", give, got, want)
		}
	}
}
