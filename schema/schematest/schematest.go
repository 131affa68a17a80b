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
	if _, err := schema.Files.ReadFile(name); err != nil || !strings.HasSuffix(name, ".schema.json") {
		t.Fatalf("no schema named %s", name)
	}
	s, err := compiler(t).Compile("https://imbridge.schema/" + name)
	if err != nil {
		t.Fatalf("compile %s: %v", name, err)
	}
	return s
}

// compiler returns a JSON Schema 2020-12 compiler that knows every embedded
// *.schema.json file by the URL of its $id.
func compiler(t testing.TB) *jsonschema.Compiler {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	entries, err := schema.Files.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
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
		if err := c.AddResource("https://imbridge.schema/"+e.Name(), doc); err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
	}
	return c
}

// Validate validates the JSON document doc against s.
func Validate(s *jsonschema.Schema, doc []byte) error {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return err
	}
	return s.Validate(v)
}
