package schematest

import (
	"bytes"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/yaml"

	"github.com/imbridge/imbridge/schema"
)

// CompileRequestBody compiles the application/json request body schema that the
// embedded schema/openapi.yaml gives to method (lower case, as in the document) on
// path, with its references to the JSON Schema files and to the document's own
// components resolved, failing t on any error.
func CompileRequestBody(t testing.TB, path, method string) *jsonschema.Schema {
	t.Helper()
	raw, err := schema.Files.ReadFile(schema.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	j, err := yaml.YAMLToJSON(raw)
	if err != nil {
		t.Fatalf("%s: %v", schema.OpenAPI, err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		t.Fatalf("%s: %v", schema.OpenAPI, err)
	}
	c := compiler(t)
	const base = "https://imbridge.schema/" + schema.OpenAPI
	if err := c.AddResource(base, doc); err != nil {
		t.Fatalf("%s: %v", schema.OpenAPI, err)
	}
	ptr := "#/paths/" + escapePointer(path) + "/" + method + "/requestBody/content/application~1json/schema"
	s, err := c.Compile(base + ptr)
	if err != nil {
		t.Fatalf("compile the request body of %s %s: %v", method, path, err)
	}
	return s
}

// escapePointer escapes one JSON Pointer token (RFC 6901).
func escapePointer(token string) string {
	return strings.ReplaceAll(strings.ReplaceAll(token, "~", "~0"), "/", "~1")
}
