package main

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"time"
)

// readStart reads --offset and --since (offsetSet when --offset was given on fs) into
// where a run starts.
func readStart(fs *flag.FlagSet, offset, since string, now time.Time) (replayStart, error) {
	offsetSet := false
	fs.Visit(func(f *flag.Flag) { offsetSet = offsetSet || f.Name == "offset" })
	switch {
	case since != "" && offsetSet:
		return replayStart{}, errors.New("--since and --offset: give one of them")
	case since != "":
		t, err := parseSince(since, now)
		if err != nil {
			return replayStart{}, fmt.Errorf("--since=%q: %v", since, err)
		}
		return replayStart{from: "since", since: t}, nil
	case offset == "committed" || offset == "earliest":
		return replayStart{from: offset}, nil
	}
	n, err := strconv.ParseInt(offset, 10, 64)
	if err != nil || n < 0 {
		return replayStart{}, fmt.Errorf("--offset=%q: expected committed, earliest or an offset (a number, 0 or more)", offset)
	}
	return replayStart{from: "offset", offset: n}, nil
}
