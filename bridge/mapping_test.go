package bridge

import (
	"encoding/json"
	"flag"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// mapInput is a test case file: a callback as Chat sends it.
type mapInput struct {
	Query      string          `json:"query"`
	ReceivedAt time.Time       `json:"receivedAt"`
	Body       json.RawMessage `json:"body"`
}

// goldenEvent shows every field of an Event, including the ones that become Kafka
// metadata rather than value; Value is the JSON value as published.
type goldenEvent struct {
	Topic   string          `json:"topic"`
	Key     string          `json:"key"`
	Type    string          `json:"type"`
	Source  string          `json:"source"`
	Time    time.Time       `json:"time"`
	Version int64           `json:"version"`
	Value   json.RawMessage `json:"value"`
}

func readCallback(t *testing.T, path string) Callback {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var in mapInput
	if err := json.Unmarshal(raw, &in); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	v, err := url.ParseQuery(in.Query)
	if err != nil {
		t.Fatal(err)
	}
	q, err := ParseQuery(v)
	if err != nil {
		t.Fatal(err)
	}
	return Callback{Query: q, AppID: 1400187352, Body: in.Body, ReceivedAt: in.ReceivedAt}
}

func TestMapGolden(t *testing.T) {
	inputs, _ := filepath.Glob("testdata/map/*.input.json")
	if len(inputs) == 0 {
		t.Fatal("no test cases under testdata/map")
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".input.json")
		t.Run(name, func(t *testing.T) {
			cb := readCallback(t, in)
			route, ok := NewRoutes(DefaultRoutes...).Lookup(cb.Query.CallbackCommand)
			if !ok {
				t.Fatalf("no route for %s", cb.Query.CallbackCommand)
			}
			events, err := Map(cb, route)
			if err != nil {
				t.Fatalf("Map: %v", err)
			}
			got := make([]goldenEvent, len(events))
			for i, e := range events {
				got[i] = goldenEvent{Topic: e.Topic, Key: string(e.Key()), Type: e.Type, Source: e.Source, Time: e.Time, Version: e.Version(), Value: e.AppendJSON(nil)}
			}
			gotJSON, _ := json.MarshalIndent(got, "", "  ")
			golden := strings.TrimSuffix(in, ".input.json") + ".golden.json"
			if *update {
				if err := os.WriteFile(golden, append(gotJSON, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if d := cmp.Diff(strings.TrimSpace(string(want)), string(gotJSON)); d != "" {
				t.Fatalf("events differ from %s (-want +got):\n%s", golden, d)
			}

			// Deterministic: mapping the same callback again, received later, gives
			// the same IDs.
			cb.ReceivedAt = cb.ReceivedAt.Add(time.Hour)
			again, err := Map(cb, route)
			if err != nil {
				t.Fatal(err)
			}
			for i := range events {
				if again[i].ID != events[i].ID {
					t.Fatalf("event %d: ID %s, then %s", i, events[i].ID, again[i].ID)
				}
			}
		})
	}
}

func TestEventIDsDiffer(t *testing.T) {
	cb := readCallback(t, "testdata/map/seed.input.json")
	base, err := Map(cb, DefaultRoutes[0])
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for i, e := range base {
		seen[e.ID] = "seed pair " + string(rune('0'+i))
	}
	variants := map[string]func(c *Callback){
		"other RequestTime": func(c *Callback) { c.Query.RequestTime = "1669872113" },
		"other app":         func(c *Callback) { c.AppID = 1400187353 },
		"other body bytes":  func(c *Callback) { c.Body = append([]byte(" "), c.Body...) },
	}
	for name, change := range variants {
		c := cb
		change(&c)
		events, err := Map(c, DefaultRoutes[0])
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, e := range events {
			if prev, ok := seen[e.ID]; ok {
				t.Fatalf("%s: ID %s already used by %s", name, e.ID, prev)
			}
			seen[e.ID] = name
		}
	}
}

func TestMapAcceptsEscapes(t *testing.T) {
	// A surrogate pair is one character, and an escaped backslash before "u" is no escape.
	body := `{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[{"From_Account":"\ud83d\ude00","To_Account":"\\ud800"}]}`
	events, err := Map(Callback{Query: Query{CallbackCommand: CommandBlackListDelete}, AppID: 1, Body: []byte(body)}, DefaultRoutes[0])
	if err != nil || events[0].Subject.Key != "😀" || string(events[0].Subject.Fields) != `"fromAccount":"😀","toAccount":"\\ud800"` {
		t.Fatalf("Map = %+v, %v", events, err)
	}
}

func TestMapFriendAddFields(t *testing.T) {
	route, _ := NewRoutes(DefaultRoutes...).Lookup(CommandFriendAdd)
	tests := []struct{ body, want string }{
		{`{"CallbackCommand":"Sns.CallbackFriendAdd","ClientCmd":1,"PairList":[{"From_Account":"a","To_Account":"b"}]}`, "ClientCmd must be a string"},
		{`{"CallbackCommand":"Sns.CallbackFriendAdd","Admin_Account":"` + strings.Repeat("a", 33) + `","PairList":[{"From_Account":"a","To_Account":"b"}]}`, "Admin_Account is 33 bytes; at most 32 are allowed"},
		{`{"CallbackCommand":"Sns.CallbackFriendAdd","ForceFlag":"1.5","PairList":[{"From_Account":"a","To_Account":"b"}]}`, "ForceFlag must be an integer from 0 to 9223372036854775807"},
		{`{"CallbackCommand":"Sns.CallbackFriendAdd","PairList":[{"From_Account":"a","To_Account":"b","Initiator_Account":["a"]}]}`, "PairList[0].Initiator_Account must be a string"},
	}
	for _, tt := range tests {
		cb := Callback{Query: Query{CallbackCommand: CommandFriendAdd}, AppID: 1, Body: []byte(tt.body)}
		if _, err := Map(cb, route); ErrorKind(err) != KindBadRequest || err.Error() != tt.want {
			t.Errorf("%s: %v, want %q", tt.body, err, tt.want)
		}
	}
	// For the other commands these are unknown fields: ignored, whatever their type.
	body := `{"CallbackCommand":"Sns.CallbackBlackListAdd","ClientCmd":1,"ForceFlag":"x","PairList":[{"From_Account":"a","To_Account":"b","Initiator_Account":[]}]}`
	add, _ := NewRoutes(DefaultRoutes...).Lookup(CommandBlackListAdd)
	events, err := Map(Callback{Query: Query{CallbackCommand: CommandBlackListAdd}, AppID: 1, Body: []byte(body)}, add)
	if err != nil || len(events[0].Subject.Trailer) != 0 {
		t.Fatalf("blocklist add with friend-add fields: %+v, %v", events, err)
	}
}

func TestMapMaxPairs(t *testing.T) {
	pairs := strings.Repeat(`{"From_Account":"a","To_Account":"b"},`, 5)
	body := `{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[` + strings.TrimSuffix(pairs, ",") + `]}`
	cb := Callback{Query: Query{CallbackCommand: CommandBlackListDelete}, AppID: 1, Body: []byte(body), MaxPairs: 4}
	if _, err := Map(cb, DefaultRoutes[0]); ErrorKind(err) != KindTooLarge || err.Error() != "PairList has 5 entries; at most 4 are accepted" {
		t.Fatalf("Map = %v", err)
	}
	cb.MaxPairs = 5
	if events, err := Map(cb, DefaultRoutes[0]); err != nil || len(events) != 5 {
		t.Fatalf("Map = %d events, %v", len(events), err)
	}
}

func TestMapRejects(t *testing.T) {
	long := strings.Repeat("a", 33)
	tests := []struct {
		name    string
		give    string
		wantMsg string
	}{
		{"not an object", `[1,2]`, "body must be a JSON object"},
		{"empty body", ``, "body must be a JSON object"},
		{"truncated", `{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[`, "body is not valid JSON: unexpected end of JSON input at offset 61 (at PairList[0])"},
		{"invalid UTF-8", "{\"CallbackCommand\":\"Sns.CallbackBlackListDelete\",\"PairList\":[{\"From_Account\":\"\xff\",\"To_Account\":\"b\"}]}", "body is not valid UTF-8"},
		{"PairList missing", `{"CallbackCommand":"Sns.CallbackBlackListDelete"}`, "PairList is missing"},
		{"PairList null", `{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":null}`, "PairList is missing"},
		{"PairList empty", `{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[]}`, "PairList is empty"},
		{"PairList object", `{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":{"From_Account":"a"}}`, "PairList must be an array"},
		{"PairList of strings", `{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":["a"]}`, "PairList[0] must be an object"},
		{"From missing", `{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[{"To_Account":"b"}]}`, "PairList[0].From_Account is missing"},
		{"To null", `{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[{"From_Account":"a","To_Account":"b"},{"From_Account":"a","To_Account":null}]}`, "PairList[1].To_Account is missing"},
		{"account empty", `{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[{"From_Account":"","To_Account":"b"}]}`, "PairList[0].From_Account is empty"},
		{"account a number", `{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[{"From_Account":12,"To_Account":"b"}]}`, "PairList[0].From_Account must be a string"},
		{"account too long", `{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[{"From_Account":"a","To_Account":"` + long + `"}]}`, "PairList[0].To_Account is 33 bytes; at most 32 are allowed"},
		{"account 11 Chinese characters", `{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[{"From_Account":"a","To_Account":"` + strings.Repeat("张", 11) + `"}]}`, "PairList[0].To_Account is 33 bytes; at most 32 are allowed"},
		{"command missing in body", `{"PairList":[{"From_Account":"a","To_Account":"b"}]}`, "CallbackCommand is missing from the body"},
		{"command differs", `{"CallbackCommand":"Sns.CallbackBlackListAdd","PairList":[{"From_Account":"a","To_Account":"b"}]}`, `CallbackCommand in the body ("Sns.CallbackBlackListAdd") differs from the query's ("Sns.CallbackBlackListDelete")`},
		{"duplicate PairList", `{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[{"From_Account":"a","To_Account":"b"}],"PairList":[{"From_Account":"c","To_Account":"d"}]}`, `body has the key "PairList" twice in one object (at PairList)`},
		{"duplicate account key", `{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[{"From_Account":"a","To_Account":"b","To_Account":"c"}]}`, `body has the key "To_Account" twice in one object (at PairList[0].To_Account)`},
		{"nested 10,000 deep", `{"CallbackCommand":"Sns.CallbackBlackListDelete","X":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `,"PairList":[{"From_Account":"a","To_Account":"b"}]}`, "body nests deeper than 32 levels (at X[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0])"},
		{"NUL in an account", `{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[{"From_Account":"a\u0000b","To_Account":"b"}]}`, "PairList[0].From_Account contains a NUL character"},
		{"lone high surrogate", `{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[{"From_Account":"a\ud800","To_Account":"b"}]}`, "PairList[0].From_Account contains an escaped lone UTF-16 surrogate, which is not a character"},
		{"lone low surrogate", `{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[{"From_Account":"\udc00","To_Account":"b"}]}`, "PairList[0].From_Account contains an escaped lone UTF-16 surrogate, which is not a character"},
		{"UTF-8 BOM", "\ufeff" + `{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[{"From_Account":"a","To_Account":"b"}]}`, "body must be a JSON object"},
		{"two documents", `{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[{"From_Account":"a","To_Account":"b"}]} {}`, "body is not valid JSON: invalid character '{' after top-level value at offset 101"},
		{"EventTime fractional", `{"CallbackCommand":"Sns.CallbackBlackListDelete","EventTime":1.5,"PairList":[{"From_Account":"a","To_Account":"b"}]}`, "EventTime must be a non-negative integer of Unix milliseconds, or those digits as a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cb := Callback{Query: Query{SDKAppID: "1", CallbackCommand: CommandBlackListDelete}, AppID: 1, Body: []byte(tt.give)}
			events, err := Map(cb, DefaultRoutes[0])
			if err == nil {
				t.Fatalf("Map accepted %d events", len(events))
			}
			if ErrorKind(err) != KindBadRequest || err.Error() != tt.wantMsg {
				t.Fatalf("error = %s %q; want bad_request %q", ErrorKind(err), err.Error(), tt.wantMsg)
			}
		})
	}
}
