package events_test

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/yaml"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/schema"
	"github.com/imbridge/imbridge/schema/schematest"
)

// Every routed event, as imbridge encodes it, matches what schema/asyncapi.yaml says
// of its topic: the payload validates against the schema the document names, and the
// headers against the document's header schema.
func TestProducedEventsMatchAsyncAPI(t *testing.T) {
	raw, err := schema.Files.ReadFile(schema.AsyncAPI)
	if err != nil {
		t.Fatal(err)
	}
	j, err := yaml.YAMLToJSON(raw)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		AsyncAPI string `json:"asyncapi"`
		Channels map[string]struct {
			Address  string `json:"address"`
			Messages map[string]struct {
				Ref string `json:"$ref"`
			} `json:"messages"`
		} `json:"channels"`
		Components struct {
			Schemas  map[string]json.RawMessage `json:"schemas"`
			Messages map[string]struct {
				Name    string `json:"name"`
				Headers struct {
					Ref string `json:"$ref"`
				} `json:"headers"`
				Payload struct {
					Schema struct {
						Ref string `json:"$ref"`
					} `json:"schema"`
				} `json:"payload"`
			} `json:"messages"`
		} `json:"components"`
	}
	if err := json.Unmarshal(j, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.AsyncAPI != "3.0.0" {
		t.Fatalf("asyncapi %q", doc.AsyncAPI)
	}
	for _, route := range bridge.DefaultRoutes {
		var found bool
		for _, ch := range doc.Channels {
			if ch.Address != route.Topic {
				continue
			}
			for _, m := range ch.Messages {
				msg := doc.Components.Messages[strings.TrimPrefix(m.Ref, "#/components/messages/")]
				if msg.Name != route.Type {
					continue // another route's message on a shared topic
				}
				found = true
				payload := schematest.Compile(t, strings.TrimPrefix(msg.Payload.Schema.Ref, "./"))
				c := jsonschema.NewCompiler()
				hs, _ := jsonschema.UnmarshalJSON(strings.NewReader(string(doc.Components.Schemas[strings.TrimPrefix(msg.Headers.Ref, "#/components/schemas/")])))
				if err := c.AddResource("headers.json", hs); err != nil {
					t.Fatal(err)
				}
				headerSchema, err := c.Compile("headers.json")
				if err != nil {
					t.Fatal(err)
				}
				e := goldenEvent(t, route)
				key, value, headers := record(t, e)
				if err := schematest.Validate(payload, value); err != nil {
					t.Fatalf("payload %s: %v", value, err)
				}
				hm := map[string]any{}
				for _, h := range headers {
					hm[h.Key] = string(h.Value)
				}
				if hm["ce_type"] != msg.Name {
					t.Fatalf("topic %s: ce_type %v, the document names %s", route.Topic, hm["ce_type"], msg.Name)
				}
				if err := headerSchema.Validate(hm); err != nil {
					t.Fatalf("headers %v: %v", hm, err)
				}
				if string(key) != string(e.Key()) {
					t.Fatalf("key %q", key)
				}
			}
		}
		if !found {
			t.Fatalf("asyncapi.yaml has no channel for topic %s with the message %s", route.Topic, route.Type)
		}
	}
}

// goldenEvent is the first event of a route's golden callback
// (bridge/testdata/map/<route name>.input.json), as bridge.Map makes it.
func goldenEvent(t *testing.T, route bridge.Route) bridge.Event {
	t.Helper()
	file := route.Name
	if route.Command == bridge.CommandBlackListDelete {
		file = "seed" // the specification's sample
	}
	name := filepath.Join("..", "testdata", "map", file+".input.json")
	raw, err := os.ReadFile(name)
	if err != nil {
		t.Fatalf("route %s: %v", route.Name, err)
	}
	var in struct {
		Query      string          `json:"query"`
		ReceivedAt time.Time       `json:"receivedAt"`
		Body       json.RawMessage `json:"body"`
	}
	if err := json.Unmarshal(raw, &in); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	v, err := url.ParseQuery(in.Query)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	q, err := bridge.ParseQuery(v)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	evs, err := bridge.Map(bridge.Callback{Query: q, AppID: 1400187352, Body: in.Body, ReceivedAt: in.ReceivedAt}, route)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return evs[0]
}

// The unrouted and quarantine channels name the default topics, and a quarantined
// callback's record, as imbridge makes it, has the message's ce_type and headers that
// validate against quarantineHeaders.
func TestQuarantineAndUnroutedMatchAsyncAPI(t *testing.T) {
	raw, err := schema.Files.ReadFile(schema.AsyncAPI)
	if err != nil {
		t.Fatal(err)
	}
	j, err := yaml.YAMLToJSON(raw)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Channels map[string]struct {
			Address string `json:"address"`
		} `json:"channels"`
		Components struct {
			Schemas  map[string]json.RawMessage `json:"schemas"`
			Messages map[string]struct {
				Name string `json:"name"`
			} `json:"messages"`
		} `json:"components"`
	}
	if err := json.Unmarshal(j, &doc); err != nil {
		t.Fatal(err)
	}
	if a := doc.Channels["unrouted"].Address; a != bridge.TopicUnrouted {
		t.Errorf("unrouted channel address %q, want %s", a, bridge.TopicUnrouted)
	}
	if a := doc.Channels["quarantine"].Address; a != bridge.TopicQuarantine {
		t.Errorf("quarantine channel address %q, want %s", a, bridge.TopicQuarantine)
	}
	if n := doc.Components.Messages["quarantined"].Name; n != bridge.TypeQuarantined {
		t.Errorf("quarantined message %q, want %s", n, bridge.TypeQuarantined)
	}
	c := jsonschema.NewCompiler()
	hs, err := jsonschema.UnmarshalJSON(strings.NewReader(string(doc.Components.Schemas["quarantineHeaders"])))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddResource("headers.json", hs); err != nil {
		t.Fatal(err)
	}
	headerSchema, err := c.Compile("headers.json")
	if err != nil {
		t.Fatal(err)
	}
	q, _ := url.ParseQuery("SdkAppid=1400187352&CallbackCommand=Evil%0D%0A&RequestTime=1669872112&ClientIP=1.2.3.4&OptPlatform=RESTAPI")
	query, err := bridge.ParseQuery(q)
	if err != nil {
		t.Fatal(err)
	}
	e := bridge.QuarantineEvent(bridge.Callback{Query: query, AppID: 1400187352, Body: []byte("\x00not json"), ReceivedAt: time.Now()},
		bridge.TopicQuarantine, "", bridge.Errorf(bridge.KindBadRequest, "body must be a JSON object"))
	key, value, headers := record(t, e)
	hm := map[string]any{}
	for _, h := range headers {
		hm[h.Key] = string(h.Value)
	}
	if err := headerSchema.Validate(hm); err != nil {
		t.Fatalf("headers %v: %v", hm, err)
	}
	if string(value) != "\x00not json" || len(key) != 0 || hm["imbridge_callback_command"] != `"Evil\r\n"` {
		t.Fatalf("key %q value %q headers %v", key, value, hm)
	}
}
