package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// replayFlags are the flags replay and dlq redrive share.
type replayFlags struct {
	fromTopic string // "": the command's own default topic
	start     replayStart
	count     int64 // 0: no limit
	group     string
	dryRun    bool
	every     time.Duration // --progress
	timeout   time.Duration
}

// parseReplayFlags reads the command line of command (replay, dlq redrive), with
// fromTopic and group as the defaults of --from-topic and --group. It returns
// flag.ErrHelp when --help is asked for; any other error says what is wrong with the
// command line, for the command to print with its short usage.
func parseReplayFlags(command string, args []string, fromTopic, group string) (replayFlags, error) {
	var f replayFlags
	fs := flag.NewFlagSet("imbridge "+command, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are worded below, help is the command's
	fs.StringVar(&f.fromTopic, "from-topic", fromTopic, "")
	offset := fs.String("offset", "committed", "")
	since := fs.String("since", "", "")
	fs.Int64Var(&f.count, "count", 0, "")
	fs.StringVar(&f.group, "group", group, "")
	fs.BoolVar(&f.dryRun, "dry-run", false, "")
	fs.DurationVar(&f.every, "progress", defaultReplayProgress, "")
	fs.DurationVar(&f.timeout, "timeout", defaultReplayTimeout, "")
	err := fs.Parse(args)
	switch {
	case err != nil:
		return f, err
	case fs.NArg() > 0:
		// The command's last word: "replay", "redrive".
		return f, fmt.Errorf("unexpected argument %q: %s takes flags only", fs.Arg(0), command[strings.LastIndexByte(command, ' ')+1:])
	case f.count < 0:
		return f, fmt.Errorf("--count=%d: expected a number of records, or 0 for all", f.count)
	case strings.TrimSpace(f.group) == "":
		return f, errors.New("--group: expected the name of a consumer group")
	case f.every <= 0:
		return f, fmt.Errorf("--progress=%s: expected a positive duration such as 5s", f.every)
	case f.timeout <= 0:
		return f, fmt.Errorf("--timeout=%s: expected a positive duration such as 1m", f.timeout)
	}
	f.start, err = readStart(fs, *offset, *since, time.Now())
	return f, err
}

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
