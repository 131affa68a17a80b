// What one kept callback gives when it is mapped again.

package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/imbridge/imbridge/bridge"
)

// replayOutcome is what one record gives.
type replayOutcome struct {
	command string
	// records are the events' records to publish; nil when the record is skipped.
	records []bridge.Record
	topics  []string
	// unmappable is why the record cannot be mapped; noRoute that its command has no
	// route.
	unmappable string
	noRoute    bool
	// newIDs: the events get eventIds other than the callback's on receipt (see
	// bridge.CallbackFromUnrouted).
	newIDs bool
	// says is the record's line after PARTITION/OFFSET; "": the command and describe.
	says string
	// fail ends the run before the record (Kafka did not answer a question about it):
	// it is neither published nor skipped.
	fail error
}

// describe is the outcome as the record lines say it.
func (o replayOutcome) describe() string {
	switch {
	case o.noRoute:
		return "no route"
	case o.records == nil:
		return "still unmappable: " + o.unmappable
	}
	s := fmt.Sprintf("events %d (%s)", len(o.records), strings.Join(o.topics, ", "))
	if o.newIDs {
		s += "; new eventIds: the body was not kept as Chat sent it"
	}
	return s
}

// outcome reads a record back into its callback and maps it, as serve maps a callback
// it receives now: the same checks in the same order, the current routes and limits.
func (r *replayer) outcome(m kafkago.Message) replayOutcome {
	headers := make([]bridge.Header, len(m.Headers))
	for i, h := range m.Headers {
		headers[i] = bridge.Header{Key: h.Key, Value: h.Value}
	}
	o := replayOutcome{command: string(m.Key)}
	kept, err := bridge.ReadKept(m.Value, headers)
	if err != nil {
		o.unmappable = "record: " + err.Error()
		return o
	}
	cb := kept.Callback
	cb.MaxPairs = r.cfg.MaxPairs
	o.command = cb.Query.CallbackCommand
	if o.command == "" {
		o.unmappable = "CallbackCommand is missing from the query"
		return o
	}
	route, ok := r.routes.Lookup(o.command)
	if !ok || (route.Command == "" && kept.Type == bridge.UnroutedRoute.Type) {
		// An unrouted record whose command still has no route would only go back
		// where it is.
		o.noRoute = true
		return o
	}
	if route.Command == "" && !bridge.CleanCommand(o.command) {
		o.unmappable = fmt.Sprintf("CallbackCommand %.80q is not a command name (1 to 64 of A-Z a-z 0-9 _ .)", o.command)
		return o
	}
	events, err := bridge.Map(cb, route)
	if err == nil {
		// The version it would have had: the rule of serve, with the clock of the
		// moment it was received (a replay's own clock would put old changes above
		// newer ones).
		bridge.NewVersioner(r.cfg.SignMaxSkew).Assign(events, cb.Query.RequestTime != "", cb.ReceivedAt)
		o.records, err = bridge.EncodeRecords(events, r.pub)
	}
	if err != nil {
		o.records, o.unmappable = nil, bridge.ErrorMessage(err)
		return o
	}
	for _, rec := range o.records {
		if !slices.Contains(o.topics, rec.Topic) {
			o.topics = append(o.topics, rec.Topic)
		}
	}
	o.newIDs = !kept.SameIdentity
	return o
}

// printable is a command for a record line: as it is when it is a command name, else
// Go-quoted (a command kept in quarantine may hold anything).
func printable(command string) string {
	if bridge.CleanCommand(command) {
		return command
	}
	return strconv.Quote(command)
}
