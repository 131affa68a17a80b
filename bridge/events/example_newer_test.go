package events_test

import (
	"fmt"

	"github.com/imbridge/imbridge/bridge/events"
)

// A consumer keeps, per relationship, the version it applied, a removal included, and
// applies an event only when Newer says so: two replicas' records in any order end in
// the state of the greatest version.
func ExampleNewer() {
	type change struct {
		blocked bool
		version int64
	}
	held := map[string]change{} // "from/to" → last change applied
	apply := func(p events.Pair, blocked bool) {
		k := p.FromAccount + "/" + p.ToAccount
		if h, ok := held[k]; ok && !events.Newer(p.Version, h.version) {
			fmt.Printf("ignored %v at %d: older than %d\n", blocked, p.Version, h.version)
			return
		}
		held[k] = change{blocked, p.Version}
	}
	// Replica 2 published the removal (EventTime ...200) before replica 1 published the
	// earlier addition (EventTime ...100).
	apply(events.Pair{FromAccount: "id", ToAccount: "id1", Version: 1669872112200}, false)
	apply(events.Pair{FromAccount: "id", ToAccount: "id1", Version: 1669872112100}, true)
	fmt.Println("blocked:", held["id/id1"].blocked)
	// Output:
	// ignored true at 1669872112100: older than 1669872112200
	// blocked: false
}
