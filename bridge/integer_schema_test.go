package bridge

import (
	"encoding/json"
	"io/fs"
	"math"
	"math/big"
	"regexp"
	"strings"
	"testing"

	"github.com/imbridge/imbridge/bridge/internal/strictjson"
	"github.com/imbridge/imbridge/schema"
)

// The callback schemas state integers as a number or its digits in a string; the
// string's pattern takes exactly the strings the reader takes for that field's bounds
// (integerToken and exactInteger), so that neither a validator nor imbridge accepts a
// digit string the other refuses.
func TestIntegerPatternsMatchTheReader(t *testing.T) {
	files, _ := fs.Glob(schema.Files, "*-callback.schema.json")
	checked := 0
	for _, f := range files {
		raw, _ := schema.Files.ReadFile(f)
		var doc any
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		var walk func(node any)
		walk = func(node any) {
			switch n := node.(type) {
			case []any:
				for _, v := range n {
					walk(v)
				}
			case map[string]any:
				if alts, ok := n["oneOf"].([]any); ok {
					var num, str map[string]any
					for _, a := range alts {
						m, _ := a.(map[string]any)
						switch m["type"] {
						case "integer":
							num = m
						case "string":
							str = m
						}
					}
					if num != nil && str != nil {
						checkPattern(t, f, num, str["pattern"].(string))
						checked++
					}
				}
				for _, v := range n {
					walk(v)
				}
			}
		}
		walk(doc)
	}
	if checked < 50 {
		t.Fatalf("only %d integer fields found", checked)
	}
}

func checkPattern(t *testing.T, file string, num map[string]any, pattern string) {
	t.Helper()
	re := regexp.MustCompile(pattern)
	bound := func(key string, def *big.Int) *big.Int {
		if v, ok := num[key].(float64); ok {
			// Bounds are written exactly in the files; float64 only near 2^63 and 2^64.
			b, _ := new(big.Float).SetFloat64(v).Int(nil)
			switch {
			case v >= math.MaxUint64:
				b.SetUint64(math.MaxUint64)
			case v >= math.MaxInt64:
				b.SetInt64(math.MaxInt64)
			case v <= math.MinInt64:
				b.SetInt64(math.MinInt64)
			}
			return b
		}
		return def
	}
	lo := bound("minimum", big.NewInt(math.MinInt64))
	hi := bound("maximum", big.NewInt(math.MaxInt64))
	edges := []string{"0", "-0", "1", "-1", "00", "01", "+1", " 1", "1.0", "1e2", "",
		hi.String(), new(big.Int).Add(hi, big.NewInt(1)).String(), new(big.Int).Sub(hi, big.NewInt(1)).String(),
		lo.String(), new(big.Int).Sub(lo, big.NewInt(1)).String(), strings.Repeat("9", 25)}
	for _, s := range edges {
		want := false
		if neg, mag, ok := exactInteger(integerToken(stringValue(t, s))); ok {
			v := new(big.Int).SetUint64(mag)
			if neg {
				v.Neg(v)
			}
			want = v.Cmp(lo) >= 0 && v.Cmp(hi) <= 0
		}
		if got := re.MatchString(s); got != want {
			t.Errorf("%s: pattern %.60s... on %q: %v, the reader: %v (bounds %s..%s)", file, pattern, s, got, want, lo, hi)
		}
	}
}

// stringValue is s as a JSON string value of a parsed body.
func stringValue(t *testing.T, s string) strictjson.Value {
	t.Helper()
	b, err := ParseBody([]byte(`{"s":` + string(appendJSONString(nil, s)) + `}`))
	if err != nil {
		t.Fatal(err)
	}
	return b.Top().v.Get("s")
}
