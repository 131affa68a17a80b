package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.uber.org/zap"
	"sigs.k8s.io/yaml"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/schema"
)

// The handler and schema/openapi.yaml agree: for every documented status of POST
// /callback a request produces it, with a body valid against the documented schema;
// the handler answers no status the document lacks (see documented, used by the fuzz
// target); the admin endpoints answer as documented.
func TestOpenAPIAgreesWithHandler(t *testing.T) {
	raw, err := schema.Files.ReadFile(schema.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	j, err := yaml.YAMLToJSON(raw)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string `json:"openapi"`
		Paths   map[string]map[string]struct {
			Responses map[string]struct {
				Content map[string]struct {
					Schema json.RawMessage `json:"schema"`
				} `json:"content"`
			} `json:"responses"`
		} `json:"paths"`
		Components struct {
			Schemas map[string]json.RawMessage `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(j, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi %q", doc.OpenAPI)
	}
	compile := func(name string) *jsonschema.Schema {
		c := jsonschema.NewCompiler()
		s, err := jsonschema.UnmarshalJSON(strings.NewReader(string(doc.Components.Schemas[name])))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.AddResource(name+".json", s); err != nil {
			t.Fatal(err)
		}
		sch, err := c.Compile(name + ".json")
		if err != nil {
			t.Fatal(err)
		}
		return sch
	}
	schemas := map[string]*jsonschema.Schema{"OK": compile("OK"), "FAIL": compile("FAIL"), "Health": compile("Health")}
	schemaOf := func(path, method, status string) *jsonschema.Schema {
		r, ok := doc.Paths[path][method].Responses[status]
		if !ok {
			t.Fatalf("%s %s: status %s is not documented", method, path, status)
		}
		var ref struct {
			Ref string `json:"$ref"`
		}
		_ = json.Unmarshal(r.Content["application/json"].Schema, &ref)
		s := schemas[strings.TrimPrefix(ref.Ref, "#/components/schemas/")]
		if s == nil {
			t.Fatalf("%s %s %s: no schema", method, path, status)
		}
		return s
	}

	del := bridge.CommandBlackListDelete
	requests := map[int]func() *http.Request{
		200: func() *http.Request { return post("/callback?"+signedQuery(del), seedBody) },
		400: func() *http.Request { return post("/callback?"+signedQuery(del), `{"PairList":[]}`) },
		401: func() *http.Request { return post("/callback?SdkAppid="+testAppID+"&CallbackCommand="+del, seedBody) },
		403: func() *http.Request { return post("/callback?SdkAppid=1&CallbackCommand="+del, seedBody) },
		413: func() *http.Request {
			return post("/callback?"+signedQuery(del), `{"Pad":"`+strings.Repeat("x", 5000)+`"}`)
		},
		414: func() *http.Request {
			return post("/callback?"+signedQuery(del)+"&p="+strings.Repeat("x", 5000), seedBody)
		},
		415: func() *http.Request {
			r := post("/callback?"+signedQuery(del), seedBody)
			r.Header.Set("Content-Encoding", "br")
			return r
		},
		503: func() *http.Request { return post("/callback?"+signedQuery(del), seedBody) },
	}
	var statuses []int
	for code := range doc.Paths["/callback"]["post"].Responses {
		n, _ := strconv.Atoi(code)
		statuses = append(statuses, n)
	}
	slices.Sort(statuses)
	var fuzzed []int
	for code := range documented {
		if code != 404 && code != 405 { // other paths and methods: described in the document's text
			fuzzed = append(fuzzed, code)
		}
	}
	slices.Sort(fuzzed)
	if !slices.Equal(statuses, fuzzed) {
		t.Fatalf("openapi.yaml documents %v for POST /callback; the fuzz target allows %v", statuses, fuzzed)
	}
	for _, code := range statuses {
		mk, ok := requests[code]
		if !ok {
			t.Fatalf("no request produces the documented status %d", code)
		}
		rec := &recorder{}
		if code == 503 {
			rec.err = bridge.Errorf(bridge.KindUnavailable, "spool is full")
		}
		w := httptest.NewRecorder()
		newTestServer(t, rec, testToken).ServeHTTP(w, mk())
		if w.Code != code {
			t.Fatalf("request for %d answered %d %s", code, w.Code, w.Body.String())
		}
		if ct := w.Header().Get("Content-Type"); ct != "application/json" {
			t.Fatalf("%d: Content-Type %q", code, ct)
		}
		body, _ := jsonschema.UnmarshalJSON(strings.NewReader(w.Body.String()))
		if err := schemaOf("/callback", "post", strconv.Itoa(code)).Validate(body); err != nil {
			t.Fatalf("%d body %s: %v", code, w.Body.String(), err)
		}
	}

	for _, tc := range []struct {
		path     string
		delivery bridge.Delivery
		code     int
		want     string // in the body
	}{
		{"/healthz", &recorder{}, 200, `"ok"`},
		{"/readyz", &recorder{}, 200, `"ready"`},
		{"/readyz", &recorder{err: bridge.Errorf(bridge.KindUnavailable, "kafka down")}, 503, `"reason":"kafka down"`},
		{"/readyz", &unhealthy{err: errors.New("kafka has been failing for 5m0s")}, 200, `"delivery":"kafka has been failing for 5m0s"`},
	} {
		w := httptest.NewRecorder()
		NewAdminServer(tc.delivery, AdminConfig{}, zap.NewNop()).ServeHTTP(w, httptest.NewRequest(http.MethodGet, tc.path, nil))
		body, _ := jsonschema.UnmarshalJSON(strings.NewReader(w.Body.String()))
		if w.Code != tc.code || !strings.Contains(w.Body.String(), tc.want) {
			t.Fatalf("%s answered %d %s, want %d with %s", tc.path, w.Code, w.Body.String(), tc.code, tc.want)
		}
		if err := schemaOf(tc.path, "get", strconv.Itoa(tc.code)).Validate(body); err != nil {
			t.Fatalf("%s body %s: %v", tc.path, w.Body.String(), err)
		}
	}
}

// unhealthy is a delivery that takes callbacks while its events do not reach Kafka.
type unhealthy struct {
	recorder
	err error
}

func (u *unhealthy) Health() error { return u.err }

func post(target, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return r
}
