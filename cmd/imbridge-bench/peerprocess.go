// The Watermill peer (watermill-peer/, a module of its own): built and started by the
// suite, so that imbridge is compared with a service built the common way on the same
// load, broker and topic.

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// buildPeer builds the peer's module in dir into out with the go command.
func buildPeer(dir, out string, logTo io.Writer) error {
	abs, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	cmd := exec.Command("go", "build", "-trimpath", "-o", abs, ".")
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logTo, logTo
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building the Watermill peer in %s: %w", dir, err)
	}
	return nil
}

// startPeer starts the peer binary against brokers and topic, accepting callbacks of
// appID signed with token, and waits until it is ready.
func startPeer(bin string, brokers, topic, appID, token string, logTo io.Writer) (*bridgeProcess, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--listen", addr, "--brokers", brokers, "--topic", topic, "--sdkappid", appID)
	cmd.Env = append(os.Environ(), "PEER_CALLBACK_TOKEN="+token) // out of the process list
	cmd.Stdout, cmd.Stderr = logTo, logTo
	return startAndWait(cmd, "http://"+addr+"/callback", "http://"+addr+"/readyz", "the Watermill peer")
}

// peerWarmup is the unmeasured load before the peer's row: its connections and
// Sarama's are open, the broker is warm from imbridge's rows.
const peerWarmup = 5 * time.Second

// runPeer starts the peer built at bin, warms it up and measures the max-rate row of
// base against it, checked like imbridge's rows; then stops it.
func runPeer(ctx context.Context, bin string, base Load, brokers []string, topic string, cpu cpuMeter, logTo, progress io.Writer) (Report, error) {
	p, err := startPeer(bin, strings.Join(brokers, ","), topic, base.AppID, base.Token, logTo)
	if err != nil {
		return Report{}, err
	}
	defer p.stop()
	w := base
	w.URL, w.Duration = p.callbackURL, peerWarmup
	fmt.Fprintf(progress, "Watermill peer: warming up for %s\n", peerWarmup)
	w.Run(ctx, newRunID(), io.Discard)
	return p.scenario(ctx, fmt.Sprintf("Watermill peer, %d pairs, %d conns, max", base.Pairs, base.Connections), base, brokers, topic, cpu, progress), nil
}
