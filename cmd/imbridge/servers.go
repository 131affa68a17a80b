package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

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
