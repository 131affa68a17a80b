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

// replayStart is where replay starts in each partition.
type replayStart struct {
	// from is committed, earliest, offset or since.
	from   string
	offset int64
	since  time.Time
}

// parseSince reads --since: an RFC 3339 time, or a duration before now.
func parseSince(v string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, errors.New("expected an RFC 3339 time such as 2024-05-01T12:00:00Z, or a duration before now such as 36h")
}
