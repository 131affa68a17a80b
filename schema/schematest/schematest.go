// Package schematest compiles the embedded schemas with a real JSON Schema 2020-12
// validator, for tests of any package that produces or consumes documents.
package schematest

import (
	"bytes"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/imbridge/imbridge/schema"
)

// Compile compiles the embedded schema document name, failing t on any error.
func Compile(t testing.TB, name string) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	entries, err := schema.Files.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var url string
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".schema.json") {
			continue
		}
		b, err := schema.Files.ReadFile(e.Name())
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		id := "https://imbridge.schema/" + e.Name()
		if err := c.AddResource(id, doc); err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		if e.Name() == name {
			url = id
		}
	}
	if url == "" {
		t.Fatalf("no schema named %s", name)
	}
	s, err := c.Compile(url)
	if err != nil {
		t.Fatalf("compile %s: %v", name, err)
	}
	return s
}

// Validate validates the JSON document doc against s.
func Validate(s *jsonschema.Schema, doc []byte) error {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return err
	}
	return s.Validate(v)
}
