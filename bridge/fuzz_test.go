package bridge

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/imbridge/imbridge/schema"
	"github.com/imbridge/imbridge/schema/schematest"
)

// FuzzQuery feeds raw query strings through query parsing and signature verification:
// nothing panics, ParseRawQuery agrees with url.ParseQuery and ParseQuery, every
// refusal is a forbidden/unauthorized/bad-request *Error, and an accepted signed query
// really carries the right signature within the skew.
func FuzzQuery(f *testing.F) {
	f.Add("SdkAppid=1400187352&CallbackCommand=Sns.CallbackBlackListDelete&RequestTime=1669872112&Sign=17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061", int64(0))
	f.Add("SdkAppid=1400187352&SdkAppid=1&RequestTime=+1669872112&Sign=", int64(61))
	f.Add("SdkAppid=01400187352&RequestTime=16698721120000000000&Sign=%zz", int64(-61))
	v := &Verifier{AppID: 1400187352, Tokens: []Secret{"xxxxyyyy", "other"}, MaxSkew: time.Minute}
	f.Add("CallbackCommand=a&&=x&Sign&Sign;=1&ClientIP=::1", int64(0))
	f.Fuzz(func(t *testing.T, raw string, offset int64) {
		checkRawQuery(t, raw)
		values, err := url.ParseQuery(raw)
		if err != nil {
			return // the HTTP adapter answers 400 before this
		}
		q, err := ParseQuery(values)
		if err != nil {
			if ErrorKind(err) != KindBadRequest {
				t.Fatalf("ParseQuery error of kind %s: %v", ErrorKind(err), err)
			}
			return
		}
		now := time.Unix(1669872112, 0).Add(time.Duration(offset%1000) * time.Second)
		id, err := v.Verify(q.SDKAppID, q.Sign, q.RequestTime, now)
		if err != nil {
			if k := ErrorKind(err); k != KindForbidden && k != KindUnauthorized {
				t.Fatalf("Verify error of kind %s: %v", k, err)
			}
			if strings.Contains(err.Error(), "xxxxyyyy") {
				t.Fatal("an error reveals the token")
			}
			return
		}
		rt, ok := ParseRequestTime(q.RequestTime)
		if id != 1400187352 || !ok || (q.Sign != Sign("xxxxyyyy", q.RequestTime) && q.Sign != Sign("other", q.RequestTime)) {
			t.Fatalf("accepted %+v", q)
		}
		if d := now.Sub(time.Unix(rt, 0)); d > time.Minute || d < -time.Minute {
			t.Fatalf("accepted a RequestTime %s away", d)
		}
	})
}

// FuzzMap feeds bodies through decoding and mapping: nothing panics, refusals are
// bad-request or too-large *Errors, accepted bodies validate against the request body
// of schema/openapi.yaml, and give events that validate against the event schema,
// carry the accounts unchanged and have stable IDs.
func FuzzMap(f *testing.F) {
	f.Add([]byte(`{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[{"From_Account":"id","To_Account":"id1"},{"From_Account":"id","To_Account":"id2"}]}`))
	f.Add([]byte(`{"CallbackCommand":"Sns.CallbackBlackListDelete","EventTime":1669872112999,"PairList":[{"From_Account":"\ud83d\ude00","To_Account":"a\\\"b"}]}`))
	f.Add([]byte(`{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[{"From_Account":"a","To_Account":"b"}],"PairList":null}`))
	f.Add([]byte("\xef\xbb\xbf{}"))
	f.Add([]byte(`{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[{"From_Account":"\u0000","To_Account":1}]}`))
	f.Add([]byte(`{"CallbackCommand":"Sns.CallbackFriendAdd","ClientCmd":"friend_response","Admin_Account":"admin","ForceFlag":1,"PairList":[{"From_Account":"a","To_Account":"b","Initiator_Account":"b"}]}`))
	// Every route's event schema, by the naming convention (schema.EventSchema); each
	// route's sample bodies are seeds too (testdata/map/*.input.json).
	compiled := map[string]*jsonschema.Schema{}
	for _, r := range DefaultRoutes {
		compiled[r.Command] = schematest.Compile(f, schema.EventSchema(r.Type))
	}
	inputs, _ := filepath.Glob("testdata/map/*.input.json")
	for _, in := range inputs {
		var mi struct{ Body json.RawMessage }
		if b, err := os.ReadFile(in); err == nil && json.Unmarshal(b, &mi) == nil {
			f.Add([]byte(mi.Body))
		}
	}
	requestBody := schematest.CompileRequestBody(f, "/callback", "post")
	f.Fuzz(func(t *testing.T, body []byte) {
		// The body's own CallbackCommand picks the route, so every route is fuzzed.
		route := DefaultRoutes[len(body)%len(DefaultRoutes)]
		for _, r := range DefaultRoutes {
			if bytes.Contains(body, []byte(`"`+r.Command+`"`)) {
				route = r
			}
		}
		eventSchema := compiled[route.Command]
		cb := Callback{Query: Query{CallbackCommand: route.Command, RequestTime: "1669872112"}, AppID: 1400187352,
			Body: body, ReceivedAt: time.Unix(1669872112, 0), MaxPairs: 100}
		events, err := Map(cb, route)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || (e.Kind != KindBadRequest && e.Kind != KindTooLarge) {
				t.Fatalf("error %v (%T), want a bad_request or too_large *Error", err, err)
			}
			return
		}
		if len(events) == 0 || len(events) > 100 {
			t.Fatalf("%d events", len(events))
		}
		if err := schematest.Validate(requestBody, body); err != nil {
			t.Fatalf("Map accepts a body that the OpenAPI request body refuses: %v\n%s", err, body)
		}
		again, _ := Map(cb, route)
		for i, e := range events {
			if route.Topic == TopicBlocklist || route.Topic == TopicFriend || route.Topic == TopicFollow { // a relationship's pair
				var pair struct{ FromAccount, ToAccount string }
				if err := json.Unmarshal([]byte("{"+string(e.Subject.Fields)+"}"), &pair); err != nil {
					t.Fatal(err)
				}
				for _, acc := range []string{pair.FromAccount, pair.ToAccount} {
					if acc == "" || len(acc) > MaxAccountBytes || !utf8.ValidString(acc) || strings.ContainsRune(acc, 0) {
						t.Fatalf("event %d has account %q", i, acc)
					}
				}
			}
			if again[i].ID != e.ID {
				t.Fatalf("event %d: ID %s then %s", i, e.ID, again[i].ID)
			}
			v := e.AppendJSON(nil)
			if err := schematest.Validate(eventSchema, v); err != nil {
				t.Fatalf("event %s: %v", v, err)
			}
		}
	})
}
