package main

import (
	"fmt"
	"io"
)

// replayCommand runs `imbridge replay`.
func replayCommand(args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "imbridge replay: not implemented yet")
	return 2
}
