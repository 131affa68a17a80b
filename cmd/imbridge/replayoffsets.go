// Where a replay reads and commits: partitions, their offsets, the group's offsets.

package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// plan finds the topic's partitions and, in each, where replay starts and where the
// partition ends now; it prints what it will read on the progress writer.
func (r *replayer) plan(ctx context.Context) ([]span, error) {
	mctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	md, err := r.client.Metadata(mctx, &kafkago.MetadataRequest{Topics: []string{r.topic}})
	if err != nil {
		return nil, fmt.Errorf("kafka (%s): metadata of %s: %w", strings.Join(r.cfg.KafkaBrokers, ","), r.topic, err)
	}
	if len(md.Topics) != 1 || md.Topics[0].Error != nil {
		var terr error
		if len(md.Topics) == 1 {
			terr = md.Topics[0].Error
		}
		return nil, fmt.Errorf("topic %s: %v", r.topic, terr)
	}
	var partitions []int
	for _, p := range md.Topics[0].Partitions {
		partitions = append(partitions, p.ID)
	}
	slices.Sort(partitions)
	committed := map[int]int64{}
	if r.start.from == "committed" {
		if committed, err = r.committed(mctx, partitions); err != nil {
			return nil, err
		}
	}
	var (
		spans []span
		parts []string
	)
	for _, p := range partitions {
		first, end, at, err := r.offsets(mctx, p)
		if err != nil {
			return nil, err
		}
		from := first
		switch r.start.from {
		case "committed":
			if c, ok := committed[p]; ok && c >= 0 {
				from = c
			}
		case "offset":
			from = r.start.offset
		case "since":
			from = at
		}
		switch {
		case from < first:
			fmt.Fprintf(r.progress, "imbridge %s: %s partition %d starts at offset %d now (retention deleted the records before it); reading from there\n",
				r.name, r.topic, p, first)
			from = first
		case from > end:
			fmt.Fprintf(r.progress, "imbridge %s: %s partition %d ends at offset %d, before offset %d (was the topic created again? --offset earliest reads it all); nothing to read there\n",
				r.name, r.topic, p, end, from)
			from = end
		}
		spans = append(spans, span{partition: p, from: from, to: end})
		r.total += end - from
		parts = append(parts, fmt.Sprintf("partition %d from offset %d, %s", p, from, records(end-from)))
	}
	if r.count > 0 {
		r.total = min(r.total, r.count)
	}
	dry := ""
	if r.dryRun {
		dry = " (dry run: nothing is published or committed)"
	}
	fmt.Fprintf(r.progress, "imbridge %s: %s to read from %s (%s), group %s%s\n",
		r.name, records(r.total), r.topic, strings.Join(parts, "; "), r.group, dry)
	return spans, nil
}

// offsets returns partition's first offset, its end (the next offset to be written),
// and, for --since, the first offset written at or after the time (end if none), from
// the partition's leader.
func (r *replayer) offsets(ctx context.Context, partition int) (first, end, since int64, err error) {
	var conn *kafkago.Conn
	for _, b := range r.cfg.KafkaBrokers {
		if conn, err = r.dialer.DialLeader(ctx, "tcp", b, r.topic, partition); err == nil {
			break
		}
	}
	if err != nil {
		return 0, 0, 0, fmt.Errorf("kafka (%s): leader of %s partition %d: %w", strings.Join(r.cfg.KafkaBrokers, ","), r.topic, partition, err)
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	if first, end, err = conn.ReadOffsets(); err != nil {
		return 0, 0, 0, fmt.Errorf("offsets of %s partition %d: %w", r.topic, partition, err)
	}
	since = end
	if r.start.from == "since" {
		if since, err = conn.ReadOffset(r.start.since); err != nil {
			return 0, 0, 0, fmt.Errorf("offset of %s partition %d at %s: %w", r.topic, partition, r.start.since.Format(time.RFC3339), err)
		}
		if since < 0 { // no record at or after the time
			since = end
		}
	}
	return first, end, since, nil
}

// committed returns the group's committed offset of each partition that has one.
func (r *replayer) committed(ctx context.Context, partitions []int) (map[int]int64, error) {
	for {
		resp, err := r.client.OffsetFetch(ctx, &kafkago.OffsetFetchRequest{GroupID: r.group, Topics: map[string][]int{r.topic: partitions}})
		if err == nil {
			err = resp.Error
		}
		if err == nil {
			out := map[int]int64{}
			for _, p := range resp.Topics[r.topic] {
				if p.Error != nil {
					return nil, fmt.Errorf("committed offset of group %s in %s partition %d: %w", r.group, r.topic, p.Partition, p.Error)
				}
				out[p.Partition] = p.CommittedOffset
			}
			return out, nil
		}
		if !coordinatorBusy(err) || r.pause(ctx) != nil {
			return nil, fmt.Errorf("committed offsets of group %s: %w", r.group, err)
		}
	}
}

// commit commits offset (the next record to read) of partition in the group.
func (r *replayer) commit(ctx context.Context, partition int, offset int64) error {
	for {
		resp, err := r.client.OffsetCommit(ctx, &kafkago.OffsetCommitRequest{GroupID: r.group, GenerationID: -1,
			Topics: map[string][]kafkago.OffsetCommit{r.topic: {{Partition: partition, Offset: offset, Metadata: "imbridge " + r.name}}}})
		if err == nil {
			for _, p := range resp.Topics[r.topic] {
				err = errors.Join(err, p.Error)
			}
		}
		if err == nil {
			return nil
		}
		if errors.Is(err, kafkago.UnknownMemberId) || errors.Is(err, kafkago.IllegalGeneration) || errors.Is(err, kafkago.RebalanceInProgress) {
			return fmt.Errorf("commit offset %d of %s partition %d in group %s: %w (the group has members: a consumer uses it; name a group of %s's own with --group)",
				offset, r.topic, partition, r.group, err, r.name)
		}
		if !coordinatorBusy(err) || r.pause(ctx) != nil {
			return fmt.Errorf("commit offset %d of %s partition %d in group %s: %w", offset, r.topic, partition, r.group, err)
		}
	}
}

// coordinatorBusy reports whether err is the group coordinator's "ask again later":
// it is moving, or loading the group's offsets (a broker that has just started).
func coordinatorBusy(err error) bool {
	return errors.Is(err, kafkago.NotCoordinatorForGroup) || errors.Is(err, kafkago.GroupCoordinatorNotAvailable) ||
		errors.Is(err, kafkago.GroupLoadInProgress)
}

// pause waits a moment before a request is sent again, or returns ctx's error.
func (r *replayer) pause(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(200 * time.Millisecond):
		return nil
	}
}
