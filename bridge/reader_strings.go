// Reading a Body's string members: strings, IDs, accounts, and JSON kept as sent.

package bridge

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/imbridge/imbridge/bridge/internal/strictjson"
)

// Str reads an optional string member: "" when absent, sent as "", or holding an
// escaped lone surrogate, the last two left in Extra as sent (an event leaves a ""
// member out, and carries text as characters).
func (o Object) Str(n string) string {
	s, v := o.str(n)
	if s == "" {
		o.b.unmark(v)
	}
	return s
}

// SubjectStr reads an optional string member that names the event's subject with
// others (TopicId: a topic's message apart from its group's; a moderated message's
// ContactItem.ToGroupId and To_Account): as Str, absent, null or "" read as "" (none,
// "" left in Extra as sent), but one holding an escaped lone surrogate is refused, as a
// key is: left out, the event would name another subject.
func (o Object) SubjectStr(n string) string {
	s, v := o.str(n)
	if s == "" && v.Lone() {
		o.Fail(n, "%s", errLone)
	}
	if s == "" {
		o.b.unmark(v)
	}
	return s
}

// str reads a string member: the string ("" when absent or lone) and its value.
func (o Object) str(n string) (string, strictjson.Value) {
	v := o.get(n)
	switch v.Kind() {
	case strictjson.Absent:
		return "", v
	case strictjson.String:
		if v.Lone() {
			return "", v
		}
		return v.Str(), v
	}
	o.Fail(n, "must be a string")
	return "", v
}

// errLone is the refusal of a string read as text (an ID, an account, a name) that
// holds an escaped lone UTF-16 surrogate: readers disagree on what it is. Carried as
// sent (Text, JSON, Extra), such a string is kept.
const errLone = "contains an escaped lone UTF-16 surrogate, which is not a character"

// peekStr returns member n when it is a string, else "", and neither sets an error
// nor marks it read.
func (o Object) peekStr(n string) string { return o.v.Get(n).Str() }

// Required reads a string member that must be there, not empty, and characters (no
// escaped lone surrogate).
func (o Object) Required(n string) string {
	s, v := o.str(n)
	if s == "" && o.b.err == nil {
		missing(o, n, v)
	}
	return s
}

// missing fails the member n of o, whose value is v, which the route needs: missing,
// empty, or not characters.
func missing(o Object, n string, v strictjson.Value) {
	switch {
	case v.Kind() == strictjson.Absent || v.Kind() == strictjson.Null:
		o.Fail(n, "is missing")
	case v.Lone():
		o.Fail(n, "%s", errLone)
	default:
		o.Fail(n, "is empty")
	}
}

// ID reads a required ID that becomes a message key or names a subject (GroupId,
// TopicId, Official_Account): not empty, without a NUL character.
func (o Object) ID(n string) string {
	s := o.Required(n)
	if strings.IndexByte(s, 0) >= 0 {
		o.Fail(n, "contains a NUL character")
		return ""
	}
	return s
}

// Account reads an optional UserID member: absent or "" reads as "", else 1 to
// MaxAccountBytes bytes without a NUL character.
func (o Object) Account(n string) string { return o.account(n, o.Str(n)) }

// RequiredAccount reads a UserID member that must be there and not empty.
func (o Object) RequiredAccount(n string) string { return o.account(n, o.Required(n)) }

func (o Object) account(n, a string) string {
	if fault := accountFault(a); fault != "" {
		o.Fail(n, "%s", fault)
		return ""
	}
	return a
}

// accountFault says what makes a (not "") no UserID: over MaxAccountBytes, or holding
// a NUL; "" when it is one.
func accountFault(a string) string {
	switch {
	case len(a) > MaxAccountBytes:
		return fmt.Sprintf("is %d bytes; at most %d are allowed", len(a), MaxAccountBytes)
	case strings.IndexByte(a, 0) >= 0:
		return "contains a NUL character"
	}
	return ""
}

// Text reads an optional string member as the JSON Chat sent (nil when absent), so
// that a value changed to "" is kept apart from one not sent.
func (o Object) Text(n string) json.RawMessage {
	v := o.get(n)
	switch v.Kind() {
	case strictjson.Absent:
		return nil
	case strictjson.String:
		return v.Raw()
	}
	o.Fail(n, "must be a string")
	return nil
}

// JSON reads an optional member of any JSON type as Chat sent it (nil when absent):
// message bodies, custom data.
func (o Object) JSON(n string) json.RawMessage { return o.get(n).Raw() }

// Array reads an optional member that must be an array, as Chat sent it.
func (o Object) Array(n string) json.RawMessage {
	v := o.get(n)
	switch v.Kind() {
	case strictjson.Absent:
		return nil
	case strictjson.Array:
		return v.Raw()
	}
	o.Fail(n, "must be an array")
	return nil
}
