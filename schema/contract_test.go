package schema_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/schema"
)

// Every route of bridge.DefaultRoutes is stated in each contract document: a request
// body schema for its command in schema/openapi.yaml, a JSON Schema of its event,
// and an AsyncAPI channel at its default topic carrying its event type with that
// schema; and the OpenAPI body of "other" commands excludes exactly the routed ones.
func TestRoutesHaveContracts(t *testing.T) {
	var openapi struct {
		Paths map[string]map[string]struct {
			RequestBody struct {
				Content map[string]struct {
					Schema struct {
						OneOf []struct {
							Ref string `json:"$ref"`
						} `json:"oneOf"`
					} `json:"schema"`
				} `json:"content"`
			} `json:"requestBody"`
		} `json:"paths"`
		Components struct {
			Schemas map[string]struct {
				Properties struct {
					CallbackCommand struct {
						Not struct {
							Enum []string `json:"enum"`
						} `json:"not"`
					} `json:"CallbackCommand"`
				} `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	readYAML(t, schema.OpenAPI, &openapi)
	bodies := map[string]string{} // command -> schema file
	others := 0
	for _, b := range openapi.Paths["/callback"]["post"].RequestBody.Content["application/json"].Schema.OneOf {
		if name, ok := strings.CutPrefix(b.Ref, "#/components/schemas/"); ok {
			others++
			var routed []string
			for _, r := range bridge.DefaultRoutes {
				routed = append(routed, r.Command)
			}
			got := slices.Sorted(slices.Values(openapi.Components.Schemas[name].Properties.CallbackCommand.Not.Enum))
			if slices.Sort(routed); !slices.Equal(got, routed) {
				t.Errorf("openapi.yaml: %s excludes the commands %v, want the routed %v", name, got, routed)
			}
			continue
		}
		file := strings.TrimPrefix(b.Ref, "./")
		var s struct {
			Properties struct {
				CallbackCommand struct {
					Const string `json:"const"`
				} `json:"CallbackCommand"`
			} `json:"properties"`
		}
		readJSON(t, file, &s)
		bodies[s.Properties.CallbackCommand.Const] = file
	}
	if others != 1 {
		t.Errorf("openapi.yaml: the request body has %d schemas for other commands, want 1", others)
	}

	var asyncapi struct {
		Channels map[string]struct {
			Address  string `json:"address"`
			Messages map[string]struct {
				Ref string `json:"$ref"`
			} `json:"messages"`
		} `json:"channels"`
		Components struct {
			Messages map[string]struct {
				Name    string `json:"name"`
				Payload struct {
					Schema struct {
						Ref string `json:"$ref"`
					} `json:"schema"`
				} `json:"payload"`
			} `json:"messages"`
		} `json:"components"`
	}
	readYAML(t, schema.AsyncAPI, &asyncapi)

	for _, r := range bridge.DefaultRoutes {
		if _, ok := bodies[r.Command]; !ok {
			t.Errorf("route %s: openapi.yaml has no request body schema for %s", r.Name, r.Command)
		}
		// The event schema: named after the type, its title and command the route's.
		file := strings.ReplaceAll(strings.TrimSuffix(strings.TrimPrefix(r.Type, "imbridge."), ".v1"), ".", "-") + "-event.schema.json"
		var ev struct {
			Title      string `json:"title"`
			Properties struct {
				CallbackCommand struct {
					Const string `json:"const"`
				} `json:"callbackCommand"`
			} `json:"properties"`
		}
		if _, err := schema.Files.ReadFile(file); err != nil {
			t.Errorf("route %s: no event schema %s", r.Name, file)
			continue
		}
		readJSON(t, file, &ev)
		if !strings.HasPrefix(ev.Title, r.Type+" ") || ev.Properties.CallbackCommand.Const != r.Command {
			t.Errorf("route %s: %s has title %q and callbackCommand %q, want %s and %s", r.Name, file, ev.Title,
				ev.Properties.CallbackCommand.Const, r.Type, r.Command)
		}
		var found bool
		for name, ch := range asyncapi.Channels {
			if ch.Address != r.Topic {
				continue
			}
			for _, m := range ch.Messages {
				msg := asyncapi.Components.Messages[strings.TrimPrefix(m.Ref, "#/components/messages/")]
				if msg.Name != r.Type {
					continue
				}
				found = true
				if got := strings.TrimPrefix(msg.Payload.Schema.Ref, "./"); got != file {
					t.Errorf("route %s: asyncapi.yaml channel %s gives %s the payload %s, want %s", r.Name, name, r.Type, got, file)
				}
			}
		}
		if !found {
			t.Errorf("route %s: asyncapi.yaml has no channel at %s with a message %s", r.Name, r.Topic, r.Type)
		}
	}
}

func readYAML(t *testing.T, name string, v any) {
	t.Helper()
	raw, err := schema.Files.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	j, err := yaml.YAMLToJSON(raw)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if err := json.Unmarshal(j, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func readJSON(t *testing.T, name string, v any) {
	t.Helper()
	raw, err := schema.Files.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}
