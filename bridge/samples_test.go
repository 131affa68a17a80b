package bridge

import (
	"bytes"
	"encoding/json"
	"testing"
)

// Every route has a documented sample, the body of its golden callback, whose
// CallbackCommand is the route's; the sample is that body with only its whitespace
// changed, and maps to at least one event.
func TestEveryRouteHasASample(t *testing.T) {
	for _, r := range DefaultRoutes {
		got, err := Sample(r)
		if err != nil {
			t.Errorf("%s: %v", r.Command, err)
			continue
		}
		cb := readCallback(t, SampleFile(r))
		var want, have bytes.Buffer
		if err := json.Compact(&want, cb.Body); err != nil {
			t.Fatal(err)
		}
		if err := json.Compact(&have, got); err != nil {
			t.Fatalf("%s: the sample is not JSON: %v", r.Command, err)
		}
		if want.String() != have.String() {
			t.Errorf("%s: sample %s, want the golden body %s", r.Command, have.String(), want.String())
		}
		cb.Body = got
		events, err := Map(cb, r)
		if err != nil || len(events) == 0 {
			t.Errorf("%s: the sample maps to %d events: %v", r.Command, len(events), err)
		}
	}
}
