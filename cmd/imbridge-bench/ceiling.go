package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/imbridge/imbridge/bridge"
)

// startCeiling starts the bare HTTP ceiling in this process: net/http, read the body,
// verify the signature, decode the JSON, answer OK; deliver nothing. The same load
// against it shows what this machine can do at most, so imbridge is judged as a ratio.
func startCeiling(appID uint64, token string) (url string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	v := &bridge.Verifier{AppID: appID, Tokens: []bridge.Secret{bridge.Secret(token)}}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if _, err := v.Verify(q.Get("SdkAppid"), q.Get("Sign"), q.Get("RequestTime"), time.Now()); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var b bridge.PairListBody
		if err := json.Unmarshal(body, &b); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(okBody)
	})}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String() + "/callback", func() { _ = srv.Close() }, nil
}
