package bridge

import (
	"bytes"
	"encoding/json"
	"iter"
	"math"
	"strconv"
	"strings"

	"github.com/imbridge/imbridge/bridge/internal/strictjson"
)

// Structure limits of a callback body. Chat's bodies nest three levels, and their
// objects have fewer than ten keys; the margins are for fields added over time. With
// them, reading a body takes time linear in its size whatever its shape.
const (
	// MaxJSONDepth is the deepest nesting of arrays and objects.
	MaxJSONDepth = 32
	// MaxJSONObjectKeys is the most keys one object may have.
	MaxJSONObjectKeys = 1000
	// MaxJSONArrayElements is the most elements one array may have (a callback's
	// list is also held to Callback.MaxPairs).
	MaxJSONArrayElements = 10000
	// MaxJSONValues is the most values (strings, numbers, objects...) a body may have:
	// its index takes at most about 3.5 MiB, and Chat's lists of 10,000 entries have
	// fewer than 70,000.
	MaxJSONValues = 1 << 17
)

// Body is a callback's body, parsed once (strict JSON: see ParseBody), as every route
// reads it: from Top, member by member. Reading keeps the first error (with the path of
// the field, such as MemberList[3].Member_Account) and gives zero values after it, so
// that a decoder reads on and checks Err once.
type Body struct {
	doc *strictjson.Doc
	err error
	// read marks the values a route has read (by their Index), so that Extra
	// returns the rest.
	read []uint64
}

// mark records that v was read.
func (b *Body) mark(v strictjson.Value) {
	i := v.Index()
	if i < 0 {
		return
	}
	if b.read == nil {
		b.read = make([]uint64, b.doc.Len()/64+1)
	}
	b.read[i/64] |= 1 << (i % 64)
}

func (b *Body) wasRead(v strictjson.Value) bool {
	i := v.Index()
	return b.read != nil && b.read[i/64]&(1<<(i%64)) != 0
}

// ParseBody parses raw as one JSON object that every reader reads alike: valid UTF-8,
// no key twice in an object, no escaped lone surrogate, within MaxJSONDepth,
// MaxJSONObjectKeys, MaxJSONArrayElements and MaxJSONValues. A body past a count limit
// is KindTooLarge; any other refusal KindBadRequest. It takes time linear in the
// body's length whatever its shape.
func ParseBody(raw []byte) (*Body, error) {
	if i := bytes.IndexFunc(raw, func(r rune) bool { return r != ' ' && r != '\t' && r != '\n' && r != '\r' }); i < 0 || raw[i] != '{' {
		return nil, Errorf(KindBadRequest, "body must be a JSON object")
	}
	doc, err := strictjson.Parse(raw, strictjson.Limits{MaxDepth: MaxJSONDepth, MaxObjectKeys: MaxJSONObjectKeys,
		MaxArrayElements: MaxJSONArrayElements, MaxValues: MaxJSONValues})
	if err != nil {
		e := err.(*strictjson.Error)
		kind := KindBadRequest
		if e.Limit {
			kind = KindTooLarge
		}
		return nil, Errorf(kind, "%s", e.Error())
	}
	if doc.Root().Kind() != strictjson.Object {
		return nil, Errorf(KindBadRequest, "body must be a JSON object")
	}
	return &Body{doc: doc}, nil
}

// CheckJSON checks that body is one JSON object as ParseBody reads it.
func CheckJSON(body []byte) error {
	_, err := ParseBody(body)
	return err
}

// Top returns the body's object.
func (b *Body) Top() Object { return Object{b: b, v: b.doc.Root()} }

// Err returns the first error of reading the body: a KindBadRequest *Error naming the
// field, or nil.
func (b *Body) Err() error { return b.err }

// Object is an object of a Body at a path ("" for the body itself). Members that are
// null are absent. Every method reads one member by its exact name (Chat's names are
// case-sensitive: encoding/json alone would also take "groupid" for GroupId); a member
// of the wrong kind sets the Body's error and reads as absent.
type Object struct {
	b    *Body
	v    strictjson.Value
	path string
}

// Fail sets the Body's error, when it has none, to the message about the member n:
// "<path>.n <format...>".
func (o Object) Fail(n, format string, args ...any) {
	if o.b.err == nil {
		o.b.err = Errorf(KindBadRequest, "%s %s", o.name(n), sprintf(format, args...))
	}
}

func sprintf(format string, args ...any) string {
	if len(args) == 0 {
		return format
	}
	return Errorf(KindBadRequest, format, args...).Message
}

// name is member n's name for messages: with the object's path.
func (o Object) name(n string) string {
	if o.path == "" {
		return n
	}
	return o.path + "." + n
}

// get returns member n, absent when null or when the body has an error already, and
// marks it read (see Extra).
func (o Object) get(n string) strictjson.Value {
	if o.b.err != nil {
		return strictjson.Value{}
	}
	v := o.v.Get(n)
	o.b.mark(v)
	if v.Kind() == strictjson.Null {
		return strictjson.Value{}
	}
	return v
}

// Extra returns the members of the object that no read has taken, as Chat sent them,
// in its order, as one JSON object; nil when there are none. The envelope's members
// (CallbackCommand, EventTime) are never extra. A route writes it into its events as
// "extra", so that a field Chat adds reaches consumers without a release.
func (o Object) Extra() json.RawMessage {
	if o.b.err != nil {
		return nil
	}
	var out []byte
	for name, v := range o.v.Members() {
		if o.b.wasRead(v) || name == "CallbackCommand" || name == "EventTime" {
			continue
		}
		if out == nil {
			out = append(out, '{')
		} else {
			out = append(out, ',')
		}
		out = append(append(append(out, v.RawKey()...), ':'), v.Raw()...)
	}
	if out == nil {
		return nil
	}
	return append(out, '}')
}

// Has reports whether member n is there and not null.
func (o Object) Has(n string) bool { return o.get(n).Kind() != strictjson.Absent }

// Bytes returns the object as the body has it.
func (o Object) Bytes() []byte { return o.v.Raw() }

// Str reads an optional string member ("" when absent).
func (o Object) Str(n string) string {
	v := o.get(n)
	switch v.Kind() {
	case strictjson.Absent:
		return ""
	case strictjson.String:
		return v.Str()
	}
	o.Fail(n, "must be a string")
	return ""
}

// peekStr returns member n when it is a string, else "", and neither sets an error
// nor marks it read.
func (o Object) peekStr(n string) string { return o.v.Get(n).Str() }

// Required reads a string member that must be there and not empty.
func (o Object) Required(n string) string {
	s := o.Str(n)
	if s == "" && o.b.err == nil {
		if o.Has(n) {
			o.Fail(n, "is empty")
		} else {
			o.Fail(n, "is missing")
		}
	}
	return s
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
	switch {
	case len(a) > MaxAccountBytes:
		o.Fail(n, "is %d bytes; at most %d are allowed", len(a), MaxAccountBytes)
		return ""
	case strings.IndexByte(a, 0) >= 0:
		o.Fail(n, "contains a NUL character")
		return ""
	}
	return a
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

// Int reads an optional integer member of int64's range, a number or its digits in a
// string ("305"); nil when absent, so that Fields leaves it out.
func (o Object) Int(n string) any {
	i, ok := o.int(n)
	if !ok {
		return nil
	}
	return i
}

func (o Object) int(n string) (int64, bool) {
	v := o.get(n)
	if v.Kind() == strictjson.Absent {
		return 0, false
	}
	if i, ok := exactInt64(integerToken(v)); ok {
		return i, true
	}
	o.Fail(n, "must be an integer")
	return 0, false
}

// integerToken returns what an integer field holds: a number's token, or the digits of
// a string that holds only an integer's digits (an optional '-' first), which Chat
// sends for some integers; nil for anything else.
func integerToken(v strictjson.Value) []byte {
	switch v.Kind() {
	case strictjson.Number:
		return v.Raw()
	case strictjson.String:
		s := v.Raw()
		s = s[1 : len(s)-1]
		digits := s
		if len(digits) > 0 && digits[0] == '-' {
			digits = digits[1:]
		}
		if len(digits) == 0 {
			return nil
		}
		for _, c := range digits {
			if c < '0' || c > '9' {
				return nil
			}
		}
		return s
	}
	return nil
}

// Uint reads an optional integer member from 0 to max, a number or its digits in a
// string; nil when absent.
func (o Object) Uint(n string, max uint64) any {
	u, ok := o.uint(n, max)
	if !ok {
		return nil
	}
	return u
}

// RequiredUint reads an integer member from 0 to max that must be there.
func (o Object) RequiredUint(n string, max uint64) uint64 {
	if !o.Has(n) {
		o.Fail(n, "is missing")
		return 0
	}
	u, _ := o.uint(n, max)
	return u
}

func (o Object) uint(n string, max uint64) (uint64, bool) {
	v := o.get(n)
	if v.Kind() == strictjson.Absent {
		return 0, false
	}
	if neg, mag, ok := exactInteger(integerToken(v)); ok && (!neg || mag == 0) && mag <= max {
		return mag, true
	}
	if max == math.MaxUint64 {
		o.Fail(n, "must be a non-negative integer")
	} else {
		o.Fail(n, "must be an integer from 0 to %d", max)
	}
	return 0, false
}

// EventTime reads EventTime, the Unix milliseconds of the change: an integer, or the
// same digits as a string (as several of Chat's group samples send it); 0 when absent.
func (o Object) EventTime() int64 {
	et, ok := eventTime(o.get("EventTime"))
	if !ok {
		o.Fail("EventTime", "must be a non-negative integer of Unix milliseconds, or those digits as a string")
	}
	return et
}

// eventTime reads v as EventTime: 0 and true when absent, 0 and false when not one.
func eventTime(v strictjson.Value) (int64, bool) {
	var tok []byte
	switch v.Kind() {
	case strictjson.Absent:
		return 0, true
	case strictjson.Number:
		tok = v.Raw()
	case strictjson.String:
		if s := v.Str(); s != "" && s[0] >= '0' && s[0] <= '9' {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				return n, true
			}
		}
	}
	if n, ok := exactInt64(tok); ok && n >= 0 {
		return n, true
	}
	return 0, false
}

// Object reads a member that must be an object; required refuses it absent. An absent
// one reads as an empty object.
func (o Object) Object(n string, required bool) Object {
	v := o.get(n)
	switch v.Kind() {
	case strictjson.Object:
		return Object{b: o.b, v: v, path: o.name(n)}
	case strictjson.Absent:
		if required {
			o.Fail(n, "is missing")
		}
	default:
		o.Fail(n, "must be an object")
	}
	return Object{b: o.b, path: o.name(n)}
}

// Elements yields the elements of an array member with their paths (such as
// MemberList[3]); required refuses it absent or empty. Each element is an Elem.
func (o Object) Elements(n string, required bool) iter.Seq2[int, Elem] {
	v := o.get(n)
	switch v.Kind() {
	case strictjson.Array:
		if required && v.Len() == 0 {
			o.Fail(n, "is empty")
		}
	case strictjson.Absent:
		if required {
			o.Fail(n, "is missing")
		}
	default:
		o.Fail(n, "must be an array")
	}
	name := o.name(n)
	return func(yield func(int, Elem) bool) {
		for i, e := range v.Elements() {
			if o.b.err != nil || !yield(i, Elem{b: o.b, v: e, path: name + "[" + strconv.Itoa(i) + "]"}) {
				return
			}
		}
	}
}

// Len returns the number of elements of an array member (0 when it is not one),
// without reading it (see Extra).
func (o Object) Len(n string) int {
	if v := o.v.Get(n); v.Kind() == strictjson.Array {
		return v.Len()
	}
	return 0
}

// Elem is one element of an array in a Body, at its path.
type Elem struct {
	b    *Body
	v    strictjson.Value
	path string
}

func (e Elem) fail(format string, args ...any) {
	if e.b.err == nil {
		e.b.err = Errorf(KindBadRequest, "%s %s", e.path, sprintf(format, args...))
	}
}

// Object reads the element as an object.
func (e Elem) Object() Object {
	if e.v.Kind() != strictjson.Object {
		e.fail("must be an object")
	}
	return Object(e)
}

// ID reads the element as a non-empty string without a NUL character.
func (e Elem) ID() string {
	var s string
	switch e.v.Kind() {
	case strictjson.String:
		s = e.v.Str()
	default:
		e.fail("must be a string")
		return ""
	}
	switch {
	case s == "":
		e.fail("is empty")
	case strings.IndexByte(s, 0) >= 0:
		e.fail("contains a NUL character")
	}
	return s
}

// Account reads the element as a UserID: 1 to MaxAccountBytes bytes without a NUL.
func (e Elem) Account() string {
	s := e.ID()
	if len(s) > MaxAccountBytes {
		e.fail("is %d bytes; at most %d are allowed", len(s), MaxAccountBytes)
		return ""
	}
	return s
}
