package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/imbridge/imbridge/bridge"
)

// ceilingHandler is the bare HTTP ceiling: read the body, verify the signature, decode
// the JSON, answer OK; deliver nothing. The same load against it shows what this
// machine can do at most, so imbridge is judged as a ratio.
func ceilingHandler(appID uint64, token string) http.Handler {
	v := &bridge.Verifier{AppID: appID, Tokens: []bridge.Secret{bridge.Secret(token)}}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
		var b struct {
			CallbackCommand string
			PairList        []struct{ From_Account, To_Account string }
		}
		if err := json.Unmarshal(body, &b); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(okBody)
	})
}

func newCeilingServer(appID uint64, token string) *http.Server {
	return &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: ceilingHandler(appID, token)}
}

// startCeiling starts the ceiling in this process (imbridge-bench run --ceiling).
func startCeiling(appID uint64, token string) (url string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := newCeilingServer(appID, token)
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String() + "/callback", func() { _ = srv.Close() }, nil
}

// ceilingProcess is the ceiling started as a child process (imbridge-bench ceiling),
// so that its CPU time is measured apart from the load generator's.
type ceilingProcess struct {
	cmd         *exec.Cmd
	exited      chan error // receives cmd.Wait's result
	callbackURL string
}

// startCeilingProcess runs this binary's ceiling command on a free loopback port and
// waits until it answers.
func startCeilingProcess(appID, token string, logTo io.Writer) (*ceilingProcess, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "ceiling", "--listen", addr, "--sdkappid", appID)
	cmd.Env = append(os.Environ(), "IMBRIDGE_CALLBACK_TOKEN="+token) // out of the process list
	cmd.Stdout, cmd.Stderr = logTo, logTo
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	p := &ceilingProcess{cmd: cmd, exited: exited, callbackURL: "http://" + addr + "/callback"}
	for start := time.Now(); ; {
		// Any answer will do: an unsigned GET gets a 401 once the server listens.
		if resp, err := http.Get(p.callbackURL); err == nil {
			resp.Body.Close()
			return p, nil
		}
		select {
		case err := <-exited:
			return nil, fmt.Errorf("ceiling exited during start-up: %v", err)
		case <-time.After(5 * time.Millisecond):
		}
		if time.Since(start) > 10*time.Second {
			_ = cmd.Process.Kill()
			<-exited
			return nil, errors.New("the ceiling did not answer within 10s")
		}
	}
}

func (p *ceilingProcess) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	<-p.exited
}

// ceilingCmd serves the ceiling on --listen until SIGTERM or SIGINT. The suite starts
// it; it is not listed in the usage.
func ceilingCmd(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("imbridge-bench ceiling", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on")
	appID := fs.String("sdkappid", "1400187352", "SdkAppid to accept")
	token := fs.String("token", "", "callback token to verify (default: the first of IMBRIDGE_CALLBACK_TOKEN, else bench-callback-token)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	id, err := strconv.ParseUint(*appID, 10, 64)
	if err != nil {
		fmt.Fprintf(stderr, "imbridge-bench ceiling: --sdkappid: %v\n", err)
		return 2
	}
	if *token == "" {
		*token = defaultToken()
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(stderr, "imbridge-bench ceiling: %v\n", err)
		return 1
	}
	srv := newCeilingServer(id, *token)
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	go func() { <-ctx.Done(); _ = srv.Close() }()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(stderr, "imbridge-bench ceiling: %v\n", err)
		return 1
	}
	return 0
}
