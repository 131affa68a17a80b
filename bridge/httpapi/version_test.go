package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/events"
	"github.com/imbridge/imbridge/schema"
	"github.com/imbridge/imbridge/schema/schematest"
)

// replica is one imbridge replica's callback endpoint with a clock of its own, and the
// state a consumer keeps from what it published (by events.Newer, per pair).
type replica struct {
	t     *testing.T
	srv   http.Handler
	rec   *recorder
	clock *clock
}

func newReplica(t *testing.T, now time.Time, tokens ...bridge.Secret) *replica {
	r := &replica{t: t, rec: &recorder{}, clock: &clock{now: now}}
	if tokens == nil {
		tokens = []bridge.Secret{testToken}
	}
	r.srv = NewCallbackServer(Config{}, Deps{
		Verifier: &bridge.Verifier{AppID: 1400187352, Tokens: tokens, MaxSkew: time.Minute},
		Routes:   bridge.NewRoutes(bridge.DefaultRoutes...), Delivery: r.rec, Log: zap.NewNop(), Now: r.clock.Now,
	})
	return r
}

// send posts a blocklist change of a/b, signed with RequestTime rt (0: unsigned) and
// carrying eventTime (0: none), and expects OK.
func (r *replica) send(command string, rt, eventTime int64) {
	r.t.Helper()
	q := "SdkAppid=" + testAppID + "&CallbackCommand=" + command
	if rt > 0 {
		s := strconv.FormatInt(rt, 10)
		q += "&RequestTime=" + s + "&Sign=" + bridge.Sign(testToken, s)
	}
	body := `{"CallbackCommand":"` + command + `","PairList":[{"From_Account":"a","To_Account":"b"}]`
	if eventTime > 0 {
		body += `,"EventTime":` + strconv.FormatInt(eventTime, 10)
	}
	body += "}"
	w := httptest.NewRecorder()
	r.srv.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/callback?"+q, strings.NewReader(body)))
	if w.Code != 200 || w.Body.String() != okJSON {
		r.t.Fatalf("%s answered %d %s", body, w.Code, w.Body.String())
	}
}

// blocked applies every record the replicas published, in the order given, as a
// consumer does (events.Decode, events.Newer), and says whether b is in a's blocklist.
func blocked(t *testing.T, published ...*replica) (bool, []int64) {
	t.Helper()
	var held int64 = -1
	state := false
	var versions []int64
	for _, r := range published {
		for _, rec := range bridge.Records(r.rec.events) {
			var hs []events.Header
			for _, h := range rec.Headers {
				hs = append(hs, events.Header{Key: h.Key, Value: h.Value})
			}
			ev, err := events.Decode(rec.Key, rec.Value, hs)
			if err != nil {
				t.Fatal(err)
			}
			var v int64
			var add bool
			switch e := ev.(type) {
			case *events.BlocklistAdded:
				v, add = e.Version, true
			case *events.BlocklistRemoved:
				v = e.Version
			default:
				t.Fatalf("%T", ev)
			}
			versions = append(versions, v)
			if events.Newer(v, held) {
				held, state = v, add
			}
		}
	}
	return state, versions
}

const (
	add    = bridge.CommandBlackListAdd
	remove = bridge.CommandBlackListDelete
)

// One EventTime far in the future (year 9999) does not freeze a pair: its version is
// clamped to the request's time, the event still carries EventTime as sent and says
// versionClamped, and genuine removals an hour later win (before: the add won for good).
func TestVersionFutureEventTimeIsClamped(t *testing.T) {
	start := time.Unix(1669872112, 0)
	r := newReplica(t, start)
	r.send(add, start.Unix(), 253402300799000)
	first := r.rec.events[0]
	if !first.VersionClamped || first.EventTime != 253402300799000 || first.Version() != start.UnixMilli() {
		t.Fatalf("clamped %v, eventTime %d, version %d", first.VersionClamped, first.EventTime, first.Version())
	}
	v := bridge.Records(r.rec.events)[0].Value
	if !strings.Contains(string(v), `"eventTime":253402300799000,"versionClamped":true,"version":1669872112000}`) {
		t.Fatalf("record value %s", v)
	}
	if err := schematest.Validate(schematest.Compile(t, schema.BlocklistAddedEvent), v); err != nil {
		t.Fatalf("the clamped event does not match its schema: %v", err)
	}
	for i := 1; i <= 3; i++ {
		r.clock.Add(time.Hour)
		r.send(remove, r.clock.Now().Unix(), r.clock.Now().UnixMilli())
	}
	if state, versions := blocked(t, r); state {
		t.Fatalf("the future add still wins over three later removals: versions %v", versions)
	}
}

// Mixed version sources through one replica: a removal with EventTime …112500, then an
// add in the same second without EventTime; the add was acknowledged later and wins
// (before: its version was the start of the second, below the removal's).
func TestVersionMixedSourcesKeepTheReplicasOrder(t *testing.T) {
	start := time.Unix(1669872112, 100_000_000) // Chat's clock 400 ms ahead of the replica's
	r := newReplica(t, start)
	r.send(remove, 1669872112, 1669872112500)
	r.clock.Add(50 * time.Millisecond)
	r.send(add, 1669872112, 0)
	if state, versions := blocked(t, r); !state || versions[1] < versions[0] {
		t.Fatalf("the later add lost: versions %v", versions)
	}
}

// A wall-clock step back on a replica: an unsigned change without EventTime made after
// the step still wins over the one before it (before: the clock was the version).
func TestVersionClockStepBack(t *testing.T) {
	start := time.Unix(1669872112, 0)
	r := newReplica(t, start, []bridge.Secret{}...) // unsigned callbacks
	r.send(add, 0, 0)
	r.clock.Add(-time.Hour) // NTP steps the clock back
	r.send(remove, 0, 0)
	if state, versions := blocked(t, r); state || versions[1] < versions[0] {
		t.Fatalf("the later removal lost after a clock step: versions %v", versions)
	}
}

// Across replicas, EventTime orders the changes as Chat made them, whatever order the
// replicas publish in: the removal Chat made last wins although it was published first.
func TestVersionEventTimeOrdersReplicas(t *testing.T) {
	start := time.Unix(1669872112, 0)
	a, b := newReplica(t, start), newReplica(t, start)
	a.send(add, 1669872112, 1669872112100)
	b.send(remove, 1669872112, 1669872112300)
	if state, versions := blocked(t, b, a); state {
		t.Fatalf("the add made first won: versions %v (b's, then a's)", versions)
	}
}

// Rule 3 keeps one subject's order, not one key's: a change of another pair of the same
// user keeps its EventTime (a delayed callback of pair a/c is not lifted above a/b's
// newer change), and a callback delivered twice repeats its version.
func TestVersionPerSubject(t *testing.T) {
	start := time.Unix(1669872112, 0)
	r := newReplica(t, start)
	send := func(to string, eventTime int64) {
		body := `{"CallbackCommand":"` + add + `","PairList":[{"From_Account":"a","To_Account":"` + to + `"}],"EventTime":` + strconv.FormatInt(eventTime, 10) + `}`
		w := httptest.NewRecorder()
		r.srv.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/callback?"+signedQuery(add), strings.NewReader(body)))
		if w.Code != 200 {
			t.Fatalf("answered %d %s", w.Code, w.Body.String())
		}
	}
	send("b", 1669872112900)
	send("c", 1669872112100) // made earlier, arrived later: another pair
	send("c", 1669872112100) // the same callback again
	got := []int64{r.rec.events[0].Version(), r.rec.events[1].Version(), r.rec.events[2].Version()}
	if got[0] != 1669872112900 || got[1] != 1669872112100 || got[2] != 1669872112100 {
		t.Fatalf("versions %v, want each its EventTime", got)
	}
}

// Between EventTimes alone Chat's order stands: a change Chat made earlier that
// reaches the replica later keeps its EventTime, and the change Chat made last wins
// (rule 3 lifts only where a clock set a version; lifting here would have let a
// group member's late exit win over the rejoin another replica published). An
// EventTime in seconds is not taken as milliseconds (1970): it is clamped.
func TestVersionEventTimesAloneKeepChatsOrder(t *testing.T) {
	start := time.Unix(1669872112, 0)
	r := newReplica(t, start)
	r.send(add, 1669872112, 1669872112900)
	r.send(remove, 1669872112, 1669872112100) // made earlier, arrived later
	if state, versions := blocked(t, r); !state || versions[1] != 1669872112100 {
		t.Fatalf("Chat's later change lost, or the late one was lifted: versions %v", versions)
	}
	s := newReplica(t, start)
	s.send(add, 1669872112, 1669872112) // seconds
	if e := s.rec.events[0]; !e.VersionClamped || e.Version() != 1669872112000 {
		t.Fatalf("an EventTime in seconds: clamped %v, version %d", e.VersionClamped, e.Version())
	}
}
