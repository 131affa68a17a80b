package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/schema"
	"github.com/imbridge/imbridge/schema/schematest"
)

// documented is every status the callback endpoint may answer (schema/openapi.yaml).
var documented = map[int]bool{200: true, 400: true, 401: true, 403: true, 404: true, 405: true, 413: true, 414: true, 415: true, 503: true}

// FuzzHandler sends arbitrary requests to the whole handler: the answer is always a
// documented status with Chat's JSON body (OK exactly for 200), a refused request never
// reaches delivery, and a 200 for the routed command delivered events that validate
// against the event schema.
func FuzzHandler(f *testing.F) {
	good := signedQuery(bridge.CommandBlackListDelete)
	f.Add("POST", "/callback", good, "", seedBody)
	f.Add("POST", "/callback", good, "gzip", seedBody)
	f.Add("GET", "/callback", good, "", "")
	f.Add("POST", "/callback", good+"&SdkAppid=2", "", seedBody)
	f.Add("POST", "/callback", signedQuery("Other.Command"), "", "{}")
	f.Add("POST", "/x", "a=%zz", "", "\xff")
	f.Add("POST", "/callback", good, "", `{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[{"From_Account":"a","To_Account":"b","To_Account":"c"}]}`)
	eventSchema := schematest.Compile(f, schema.BlocklistRemovedEvent)
	f.Fuzz(func(t *testing.T, method, path, query, encoding, body string) {
		if !validMethod(method) || !strings.HasPrefix(path, "/") || strings.ContainsAny(path+query, " \r\n\t#?") {
			return // not a request an HTTP server would parse
		}
		if _, err := url.ParseRequestURI(path + "?" + query); err != nil {
			return // nor this
		}
		rec := &recorder{}
		srv := newTestServer(t, rec, testToken)
		req := httptest.NewRequest(method, path+"?"+query, strings.NewReader(body))
		if encoding != "" && !strings.ContainsAny(encoding, "\r\n") {
			req.Header.Set("Content-Encoding", encoding)
		}
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		if !documented[w.Code] {
			t.Fatalf("undocumented status %d: %s", w.Code, w.Body.String())
		}
		if method == http.MethodHead {
			return
		}
		var a Answer
		dec := json.NewDecoder(strings.NewReader(w.Body.String()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&a); err != nil {
			t.Fatalf("answer %q is not Chat's JSON: %v", w.Body.String(), err)
		}
		ok := a.ActionStatus == "OK" && a.ErrorCode == 0 && a.ErrorInfo == ""
		fail := a.ActionStatus == "FAIL" && a.ErrorCode == 1 && a.ErrorInfo != ""
		if (w.Code == 200 && !ok) || (w.Code != 200 && !fail) {
			t.Fatalf("status %d with answer %+v", w.Code, a)
		}
		if w.Code != 200 && rec.calls != 0 {
			t.Fatalf("refused with %d after delivering %d events", w.Code, len(rec.events))
		}
		for _, e := range rec.events {
			v := e.AppendJSON(nil) // the value as published, version included
			if err := schematest.Validate(eventSchema, v); err != nil {
				t.Fatalf("delivered event %s: %v", v, err)
			}
		}
	})
}

func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for _, c := range m {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}
