package bridge

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// For every route whose key is a field of the body as sent (accounts, GroupId, ...):
// the sample callback with a control character in that field makes no events, and the
// error names the field (before: "u\r\n\x1b[2Jx" became a Kafka key). The conversation
// key of one-to-one messages is a JSON array, whose strings are escaped.
func TestNoControlCharacterInKeys(t *testing.T) {
	inputs, _ := filepath.Glob("testdata/map/*.input.json")
	tried := 0
	for _, in := range inputs {
		cb := readCallback(t, in)
		route, ok := NewRoutes(DefaultRoutes...).Lookup(cb.Query.CallbackCommand)
		if !ok || route.Command == "" {
			continue
		}
		events, err := Map(cb, route)
		if err != nil || len(events) == 0 {
			continue
		}
		key := events[0].key()
		quoted := strconv.Quote(key)
		if strings.HasPrefix(key, "[") || !strings.Contains(string(cb.Body), quoted) {
			continue // not a field as sent
		}
		for _, bad := range []string{`\r\n\u001b[2Jx`, `\u0000`, `\u007f`} {
			dirty := cb
			dirty.Body = []byte(strings.ReplaceAll(string(cb.Body), quoted, quoted[:len(quoted)-1]+bad+`"`))
			_, err := Map(dirty, route)
			msg := ErrorMessage(err)
			// A key from a list's entries (Events[].To_Account) is named with the
			// entry's index: the first one's was changed.
			named := strings.Contains(msg, route.Key) || strings.Contains(msg, strings.Replace(route.Key, "[]", "[0]", 1))
			if ErrorKind(err) != KindBadRequest || !(strings.Contains(msg, "control character") || strings.Contains(msg, "NUL character")) || !named {
				t.Errorf("%s with %s in its key %s: %v", filepath.Base(in), bad, route.Key, err)
			}
		}
		tried++
	}
	if tried < 20 {
		t.Fatalf("only %d routes tried", tried)
	}
}
