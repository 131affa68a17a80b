package main

import (
	"fmt"
	"io"
)

// spoolCommand runs `imbridge spool SUBCOMMAND`.
func spoolCommand(args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "imbridge spool: not implemented yet")
	return 2
}
