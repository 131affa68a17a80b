package events_test

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/events"
	"github.com/imbridge/imbridge/schema"
)

// Every event type imbridge publishes names the subject its version orders, in the
// same words in its event schema's version and in its AsyncAPI message; the subject's
// members are properties of the event and present in the route's golden event (topicId
// apart: absent outside community topics); and the record key is made from the
// subject's members, so that one subject's events share a partition and the version
// rule (never below the key's last version) holds per subject.
func TestEverySchemaNamesItsSubject(t *testing.T) {
	raw, err := schema.Files.ReadFile(schema.AsyncAPI)
	if err != nil {
		t.Fatal(err)
	}
	j, err := yaml.YAMLToJSON(raw)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct {
			Messages map[string]struct {
				Name        string `json:"name"`
				Description string `json:"description"`
			} `json:"messages"`
		} `json:"components"`
	}
	if err := json.Unmarshal(j, &doc); err != nil {
		t.Fatal(err)
	}
	messages := map[string]string{} // event type -> description
	for _, m := range doc.Components.Messages {
		messages[m.Name] = m.Description
	}

	for _, route := range append(bridge.DefaultRoutes[:len(bridge.DefaultRoutes):len(bridge.DefaultRoutes)], bridge.UnroutedRoute) {
		s, ok := events.SubjectOf(route.Type)
		if !ok {
			t.Errorf("route %s: events.SubjectOf(%s) names no subject", route.Name, route.Type)
			continue
		}
		file := strings.ReplaceAll(strings.TrimSuffix(strings.TrimPrefix(route.Type, "imbridge."), ".v1"), ".", "-") + "-event.schema.json"
		var ev struct {
			Properties map[string]struct {
				Description string `json:"description"`
			} `json:"properties"`
		}
		b, err := schema.Files.ReadFile(file)
		if err != nil {
			t.Fatalf("route %s: %v", route.Name, err)
		}
		if err := json.Unmarshal(b, &ev); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		version := ev.Properties["version"].Description
		for _, want := range []string{"Orders the events of one " + s.String() + " across", "A consumer compares versions per " + s.String() + ":"} {
			if !strings.Contains(version, want) {
				t.Errorf("%s: version's description does not say %q:\n%s", file, want, version)
			}
		}
		for _, wrong := range []string{"one group's events", "per key,", "one subject's events"} {
			if strings.Contains(version, wrong) {
				t.Errorf("%s: version's description still says %q", file, wrong)
			}
		}
		if d := messages[route.Type]; !strings.Contains(d, "compare version per "+s.String()+",") {
			t.Errorf("asyncapi.yaml: message %s does not name its subject %s: %q", route.Type, s, d)
		}
		for _, f := range s.Fields {
			if _, ok := ev.Properties[f]; !ok {
				t.Errorf("%s: subject member %s is not a property", file, f)
			}
		}
		if route.Command == "" {
			continue // no golden callback: the unrouted event's key is its callbackCommand
		}
		e := goldenEvent(t, route)
		key, value, _ := record(t, e)
		var payload map[string]any
		if err := json.Unmarshal(value, &payload); err != nil {
			t.Fatal(err)
		}
		var values []string
		for _, f := range s.Fields {
			switch v := payload[f].(type) {
			case string:
				values = append(values, v)
			case float64:
				values = append(values, strconv.FormatFloat(v, 'f', -1, 64))
			case nil:
				if f != "topicId" && !slices.Contains(s.Optional, f) {
					t.Errorf("route %s: golden event has no %s, a member of its subject %s: %s", route.Name, f, s, value)
				}
			default:
				t.Errorf("route %s: subject member %s is %T", route.Name, f, v)
			}
		}
		if !keyFromSubject(string(key), values) {
			t.Errorf("route %s: key %q is not made from its subject %s = %q", route.Name, key, s, values)
		}
	}
}

// keyFromSubject reports whether key is one of the subject's values, or the
// conversation of its first two (events.ConversationKey).
func keyFromSubject(key string, values []string) bool {
	for _, v := range values {
		if key == v {
			return true
		}
	}
	return len(values) >= 2 && key == events.ConversationKey(values[0], values[1])
}

// Moderation verdicts are keyed by what their scene names: in every scene the record
// key is made from the members of the subject that the event carries.
func TestModerationSubjectInEveryScene(t *testing.T) {
	s, _ := events.SubjectOf(events.TypeModerationResult)
	route, _ := bridge.NewRoutes(bridge.DefaultRoutes...).Lookup(bridge.CommandModerationResult)
	for _, tc := range []struct{ scene, contact string }{
		{"C2C", `"ContactItem":{"ContactType":1,"To_Account":"b"}`},
		{"C2CCustom", `"ContactItem":{"ContactType":1,"To_Account":"b"}`},
		{"Group", `"ContactItem":{"ContactType":2,"ToGroupId":"g"}`},
		{"GroupCustom", `"ContactItem":{"ContactType":2,"ToGroupId":"g"}`},
		{"GroupInfo", `"ContactItem":{"ContactType":2,"ToGroupId":"g"}`},
		{"GroupMemberInfo", `"ContactItem":{"ContactType":2,"ToGroupId":"g"}`},
		{"GroupInfo", `"ContactItem":{"ContactType":2}`},
		{"UserInfo", `"ContactItem":{"ContactType":1}`},
		{"RelationChain", `"ContactItem":{"ContactType":1,"To_Account":"b"}`},
	} {
		body := `{"Scene":"` + tc.scene + `","SdkAppId":1400187352,"From_Account":"a",` + tc.contact + `,"ContentType":"Text"}`
		evs, err := bridge.Map(bridge.Callback{Query: bridge.Query{CallbackCommand: bridge.CommandModerationResult}, AppID: 1400187352,
			Body: []byte(body), ReceivedAt: time.Unix(1669872112, 0)}, route)
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		key, value, _ := record(t, evs[0])
		var payload map[string]any
		if err := json.Unmarshal(value, &payload); err != nil {
			t.Fatal(err)
		}
		var values []string
		for _, f := range s.Fields {
			if v, ok := payload[f].(string); ok {
				values = append(values, v)
			} else if !slices.Contains(s.Optional, f) {
				t.Errorf("%s: no %s", body, f)
			}
		}
		if !keyFromSubject(string(key), values) {
			t.Errorf("%s: key %q is not made from its subject %s = %q", body, key, s, values)
		}
	}
}
