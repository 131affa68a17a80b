package bridge

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"net/url"
)

// sampleFiles are the routes' golden callbacks: each is Chat's documented sample body,
// wrapped with the query it was signed with and a receiving time. The map goldens
// (testdata/map/*.golden.json) are made from the same files, so the samples imbridge
// prints are the ones its tests map.
//
//go:embed testdata/map/*.input.json
var sampleFiles embed.FS

// SampleFile is the path, under this package's folder, of route's golden callback.
func SampleFile(route Route) string {
	if route.Command == CommandBlackListDelete {
		return "testdata/map/seed.input.json" // the specification's sample
	}
	return "testdata/map/" + route.Name + ".input.json"
}

// Sample returns the documented sample body of route's command, indented, as Chat's
// documentation gives it (its comments removed and its mistakes mended, as the golden
// file says). It fails only for a route without a golden callback, which a test
// prevents for DefaultRoutes.
func Sample(route Route) ([]byte, error) {
	raw, err := sampleFiles.ReadFile(SampleFile(route))
	if err != nil {
		return nil, fmt.Errorf("no sample for %s: %w", route.Command, err)
	}
	var in struct {
		Query string          `json:"query"`
		Body  json.RawMessage `json:"body"`
	}
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, fmt.Errorf("sample of %s: %w", route.Command, err)
	}
	if q, err := url.ParseQuery(in.Query); err != nil || q.Get(ParamCallbackCommand) != route.Command {
		return nil, fmt.Errorf("sample of %s: its query is for %q", route.Command, q.Get(ParamCallbackCommand))
	}
	var out bytes.Buffer
	if err := json.Indent(&out, in.Body, "", "  "); err != nil { // only the whitespace between tokens changes
		return nil, fmt.Errorf("sample of %s: %w", route.Command, err)
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}
