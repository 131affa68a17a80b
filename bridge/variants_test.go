package bridge

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/imbridge/imbridge/schema"
)

// variant is one change to a route's golden callback and what must come of it, over
// every route of DefaultRoutes (a route added to the table is covered as it is).
type variant struct {
	name string
	// change returns the changed callback and the one whose events it is judged
	// against (the golden callback, unless the change needs another reference), or a
	// reason the variant does not apply to the route.
	change func(t *testing.T, route Route, cb Callback, events []Event) (changed, reference Callback, skip string)
	// check judges Map's answer to the changed callback against the reference's
	// events.
	check func(t *testing.T, route Route, reference, got []Event, err error)
}

// The one reader's rule, over all routes: unambiguous variants are accepted with the
// same meaning (integers as digit strings, EventTime in either form, escaped lone
// surrogates where the value is carried as sent), and what cannot be used is refused
// with a kind the handler keeps on the quarantine topic (Quarantinable): a missing
// subject key, records over the budget, a control character in a key.
func TestVariantsOverAllRoutes(t *testing.T) {
	variants := []variant{
		{"integers in the other form", integersFlipped, sameIntegers},
		{"EventTime in either form", eventTimeForms, sameIntegers},
		{"lone surrogate carried as sent", loneSurrogateAsSent, carriesLoneSurrogate},
		{"subject key missing", keyMissing, quarantined("is missing")},
		{"records over the budget", overBudget, quarantinedKind(KindTooLarge, "IMBRIDGE_MAX_RECORD_BYTES")},
		{"escape character in the key", keyWith(`\u001b`), escapedInConversationElse("control character")},
		{"DEL in the key", keyWith(`\u007f`), quarantined("control character")},
	}
	applied := map[string]int{}
	for _, route := range DefaultRoutes {
		cb := readCallback(t, goldenFile(route))
		golden, err := Map(cb, route)
		if err != nil {
			t.Fatalf("route %s: golden callback: %v", route.Name, err)
		}
		for _, v := range variants {
			t.Run(route.Name+"/"+v.name, func(t *testing.T) {
				changed, reference, skip := v.change(t, route, cb, golden)
				if skip != "" {
					t.Logf("not applicable: %s", skip)
					return
				}
				applied[v.name]++
				want, err := Map(reference, route)
				if err != nil {
					t.Fatalf("reference: %v", err)
				}
				got, err := Map(changed, route)
				v.check(t, route, want, got, err)
			})
		}
	}
	// Every variant applies to every route, but the key ones to the routes whose key is
	// in the body (not those keyed by the query's SDKAppID), and the integers one to
	// those whose sample sends an integer (integersFlipped fails for a route that reads
	// one its sample does not send).
	keyed := 0
	for _, r := range DefaultRoutes {
		if r.Key != KeySDKAppID {
			keyed++
		}
	}
	for _, v := range variants {
		want := len(DefaultRoutes)
		switch v.name {
		case "subject key missing", "escape character in the key", "DEL in the key":
			want = keyed
		case "integers in the other form":
			continue
		}
		if applied[v.name] != want {
			t.Errorf("%s applied to %d routes, want %d", v.name, applied[v.name], want)
		}
	}
}

// tree is a callback body as maps and slices, numbers kept as their tokens.
func tree(t *testing.T, body []byte) map[string]any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func withBody(t *testing.T, cb Callback, m map[string]any) Callback {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	cb.Body = b
	return cb
}

// walk calls f for every member of every object in v, depth first; f returns the
// member's new value, or drop to delete it.
func walk(v any, f func(name string, v any) any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if n := f(k, walk(e, f)); n == drop {
				delete(x, k)
			} else {
				x[k] = n
			}
		}
	case []any:
		for i, e := range x {
			x[i] = walk(e, f)
		}
	}
	return v
}

var drop = new(int)

var plainInteger = regexp.MustCompile(`^-?(0|[1-9][0-9]*)$`)

// integersFlipped sends every integer of the body, at any depth, as a string of its
// digits ("MsgSeq":"123"), as Chat does in some samples, and every digit string of a
// member its event has as an integer as a number.
func integersFlipped(t *testing.T, route Route, cb Callback, _ []Event) (Callback, Callback, string) {
	m := tree(t, cb.Body)
	integers := integerMembers(t, route)
	n := 0
	walk(m, func(name string, v any) any {
		switch x := v.(type) {
		case json.Number:
			if plainInteger.MatchString(string(x)) {
				n++
				return string(x)
			}
		case string:
			if integers[camel(name)] && plainInteger.MatchString(x) {
				n++
				return json.Number(x)
			}
		}
		return v
	})
	if n == 0 {
		for name := range integers {
			if !envelopeIntegers[name] {
				t.Fatalf("the event has the integer %s, which the sample does not send: send it in the golden callback", name)
			}
		}
		return cb, cb, "the event has no integer from the body but EventTime (its own variant)"
	}
	return withBody(t, cb, m), cb, ""
}

// envelopeIntegers are the integer members every event has: the query's, the
// version's, and EventTime (which eventTimeForms varies).
var envelopeIntegers = map[string]bool{"sdkAppId": true, "requestTime": true, "eventTime": true, "version": true}

// camel is an event member's name for a body member's: From_Account is fromAccount.
func camel(name string) string {
	name = strings.ReplaceAll(name, "_", "")
	return strings.ToLower(name[:1]) + name[1:]
}

// eventTimeForms sends EventTime as a digit string when the sample sends a number,
// and as a number when it sends a string; to a sample without one it adds one in
// both forms, judged one against the other.
func eventTimeForms(t *testing.T, _ Route, cb Callback, _ []Event) (Callback, Callback, string) {
	m := tree(t, cb.Body)
	switch et := m["EventTime"].(type) {
	case json.Number:
		m["EventTime"] = string(et)
	case string:
		m["EventTime"] = json.Number(et)
	case nil:
		m["EventTime"] = json.Number("1670574414123")
		reference := withBody(t, cb, m)
		m["EventTime"] = "1670574414123"
		return withBody(t, cb, m), reference, ""
	default:
		t.Fatalf("EventTime %v", et)
	}
	return withBody(t, cb, m), cb, ""
}

// sameIntegers wants the golden events' keys and every member their schemas type as
// integer (eventTime and version included) unchanged.
func sameIntegers(t *testing.T, route Route, golden, got []Event, err error) {
	if err != nil {
		t.Fatalf("refused: %v", err)
	}
	if len(got) != len(golden) {
		t.Fatalf("%d events, want %d", len(got), len(golden))
	}
	integers := integerMembers(t, route)
	for i := range golden {
		want, have := members(t, golden[i]), members(t, got[i])
		if string(got[i].Key()) != string(golden[i].Key()) {
			t.Errorf("event %d: key %q, want %q", i, got[i].Key(), golden[i].Key())
		}
		compared := 0
		for name := range integers {
			if w, ok := want[name]; ok {
				compared++
				if string(have[name]) != string(w) {
					t.Errorf("event %d: %s is %s, want %s", i, name, have[name], w)
				}
			}
		}
		if compared < 2 { // at least version and an integer of the body
			t.Errorf("event %d: only %d integer members compared", i, compared)
		}
	}
}

// integerMembers are the members a route's event schema types as integer.
func integerMembers(t *testing.T, route Route) map[string]bool {
	t.Helper()
	file := strings.ReplaceAll(strings.TrimSuffix(strings.TrimPrefix(route.Type, "imbridge."), ".v1"), ".", "-") + "-event.schema.json"
	raw, err := schema.Files.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Properties map[string]struct {
			Type any `json:"type"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for name, p := range s.Properties {
		if p.Type == "integer" {
			out[name] = true
		}
	}
	return out
}

func members(t *testing.T, e Event) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(e.AppendJSON(nil), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// loneSurrogateAsSent adds a member no route reads holding an escaped lone surrogate
// (valid JSON, not a character), which arrives under extra as sent.
func loneSurrogateAsSent(_ *testing.T, _ Route, cb Callback, _ []Event) (Callback, Callback, string) {
	changed := cb
	body := bytes.TrimRight(cb.Body, " \n\t\r")
	changed.Body = append(append(body[:len(body)-1:len(body)-1], `,"ImbridgeProbe":"x\udc00y"`...), '}')
	return changed, cb, ""
}

func carriesLoneSurrogate(t *testing.T, _ Route, golden, got []Event, err error) {
	if err != nil {
		t.Fatalf("refused: %v", err)
	}
	for i, e := range got {
		if v := e.AppendJSON(nil); !bytes.Contains(v, []byte(`"ImbridgeProbe":"x\udc00y"`)) {
			t.Errorf("event %d does not carry the member as sent: %s", i, v)
		}
	}
	if len(got) != len(golden) {
		t.Errorf("%d events, want %d", len(got), len(golden))
	}
}

// keyValues are the strings of the body the first event's key is made from: the key
// itself, or the two accounts of a conversation key; none for a route keyed by the
// query's SDKAppID.
func keyValues(route Route, events []Event) []string {
	if route.Key == KeySDKAppID {
		return nil
	}
	key := string(events[0].Key())
	var pair [2]string
	if strings.HasPrefix(key, "[") && json.Unmarshal([]byte(key), &pair) == nil {
		return pair[:1]
	}
	return []string{key}
}

// keyMissing removes every member that holds the key's value.
func keyMissing(t *testing.T, route Route, cb Callback, events []Event) (Callback, Callback, string) {
	values := keyValues(route, events)
	if values == nil {
		return cb, cb, "keyed by the query's SDKAppID"
	}
	m := tree(t, cb.Body)
	walk(m, func(_ string, v any) any {
		if s, ok := v.(string); ok && s == values[0] {
			return drop
		}
		return v
	})
	return withBody(t, cb, m), cb, ""
}

// keyWith appends a character, as a JSON escape, to every member that holds the key's
// value.
func keyWith(escape string) func(t *testing.T, route Route, cb Callback, events []Event) (Callback, Callback, string) {
	return func(t *testing.T, route Route, cb Callback, events []Event) (Callback, Callback, string) {
		values := keyValues(route, events)
		if values == nil {
			return cb, cb, "keyed by the query's SDKAppID"
		}
		quoted, err := json.Marshal(values[0])
		if err != nil {
			t.Fatal(err)
		}
		compact := new(bytes.Buffer)
		if err := json.Compact(compact, cb.Body); err != nil {
			t.Fatal(err)
		}
		body := bytes.ReplaceAll(compact.Bytes(), quoted, append(append(quoted[:len(quoted)-1:len(quoted)-1], escape...), '"'))
		if bytes.Equal(body, compact.Bytes()) {
			t.Fatalf("the key %s is not in the body as %s", events[0].Key(), quoted)
		}
		changed := cb
		changed.Body = body
		return changed, cb, ""
	}
}

func overBudget(_ *testing.T, _ Route, cb Callback, _ []Event) (Callback, Callback, string) {
	changed := cb
	changed.MaxRecordBytes = 100 // less than any event's record
	return changed, cb, ""
}

// quarantined wants a refusal the handler quarantines, of KindBadRequest, whose
// message says want.
func quarantined(want string) func(t *testing.T, route Route, golden, got []Event, err error) {
	return quarantinedKind(KindBadRequest, want)
}

func quarantinedKind(kind Kind, want string) func(t *testing.T, route Route, golden, got []Event, err error) {
	return func(t *testing.T, _ Route, _, got []Event, err error) {
		if err == nil {
			t.Fatalf("accepted: %d events, key %q", len(got), got[0].Key())
		}
		if ErrorKind(err) != kind || !Quarantinable(err) || !strings.Contains(ErrorMessage(err), want) {
			t.Errorf("%v (kind %s, quarantinable %t), want %s saying %q, quarantined", err, ErrorKind(err), Quarantinable(err), kind, want)
		}
	}
}

// escapedInConversationElse wants a one-to-one conversation key to carry the
// character escaped (the accounts are JSON strings in it), and every other key
// quarantined with want.
func escapedInConversationElse(want string) func(t *testing.T, route Route, golden, got []Event, err error) {
	return func(t *testing.T, route Route, golden, got []Event, err error) {
		if !strings.HasPrefix(string(golden[0].Key()), "[") {
			quarantined(want)(t, route, golden, got, err)
			return
		}
		if err != nil {
			t.Fatalf("refused: %v", err)
		}
		if k := string(got[0].Key()); !strings.Contains(k, `\u001b`) {
			t.Errorf("key %q does not carry the escape", k)
		}
	}
}
