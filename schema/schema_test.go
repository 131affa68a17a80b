package schema_test

import (
	"strings"
	"testing"

	"github.com/imbridge/imbridge/schema"
	"github.com/imbridge/imbridge/schema/schematest"
)

// The seed request of Chat's documentation must validate; bodies that the handler
// rejects must not.
func TestCallbackSchema(t *testing.T) {
	tests := []struct {
		name string
		give string
		ok   bool
	}{
		{"seed example", `{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[{"From_Account":"id","To_Account":"id1"},{"From_Account":"id","To_Account":"id2"},{"From_Account":"id","To_Account":"id3"}]}`, true},
		{"extra fields allowed", `{"CallbackCommand":"Sns.CallbackBlackListDelete","EventTime":1669872112000,"New":1,"PairList":[{"From_Account":"a","To_Account":"b"}]}`, true},
		{"empty PairList", `{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[]}`, false},
		{"missing To_Account", `{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[{"From_Account":"a"}]}`, false},
		{"other command", `{"CallbackCommand":"Sns.CallbackFriendDelete","PairList":[{"From_Account":"a","To_Account":"b"}]}`, false},
		{"account too long", `{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[{"From_Account":"` + strings.Repeat("a", 33) + `","To_Account":"b"}]}`, false},
	}
	s := schematest.Compile(t, schema.BlocklistDeleteCallback)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := schematest.Validate(s, []byte(tt.give))
			if (err == nil) != tt.ok {
				t.Fatalf("valid = %v, want %v (err: %v)", err == nil, tt.ok, err)
			}
		})
	}
}
