// What the commands run by hand share: answering a bad command line, stopping at a
// signal.

package main

import (
	"context"
	"fmt"
	"io"
	"os/signal"
	"syscall"
)

// interruptContext is the context of a command run by hand (replay, dlq redrive, spool
// drain): it ends at the first SIGINT or SIGTERM, so that the command saves what it did
// and says where it stopped; from then on the next signal ends the process at once.
// stop releases the signals; call it before the command returns.
func interruptContext() (ctx context.Context, stop func()) {
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	sigDone := make(chan struct{})
	go func() {
		defer close(sigDone)
		<-ctx.Done()
		cancel() // after the first signal, the next one ends the process at once
	}()
	return ctx, func() { cancel(); <-sigDone }
}

// usageError is how command (replay, spool drain, ...) answers a bad command line: the
// message on stderr, then short, the command's short usage; exit status 2.
func usageError(stderr io.Writer, command, short string) func(format string, a ...any) int {
	return func(format string, a ...any) int {
		fmt.Fprintf(stderr, "imbridge "+command+": "+format+"\n\n%s", append(a, short)...)
		return 2
	}
}
