package bridge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

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
	doc strictjson.Doc
	err error
	// read marks the values a route has read (by their Index), so that Extra
	// returns the rest; in readBits while they fit.
	read     []uint64
	readBits [4]uint64
}

// mark records that v was read.
func (b *Body) mark(v strictjson.Value) {
	i := v.Index()
	if i < 0 {
		return
	}
	if b.read == nil {
		if n := b.doc.Len()/64 + 1; n <= len(b.readBits) {
			b.read = b.readBits[:n]
		} else {
			b.read = make([]uint64, n)
		}
	}
	b.read[i/64] |= 1 << (i % 64)
}

// unmark takes back the mark of v: a member sent in a form its route does not
// publish ("" or an empty list where the event leaves the member out, an escaped lone
// surrogate in a string the event types as text) goes to Extra as sent.
func (b *Body) unmark(v strictjson.Value) {
	if i := v.Index(); i >= 0 && b.read != nil {
		b.read[i/64] &^= 1 << (i % 64)
	}
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
	body := new(Body)
	err := body.doc.Parse(raw, strictjson.Limits{MaxDepth: MaxJSONDepth, MaxObjectKeys: MaxJSONObjectKeys,
		MaxArrayElements: MaxJSONArrayElements, MaxValues: MaxJSONValues})
	if err != nil {
		e := err.(*strictjson.Error)
		kind := KindBadRequest
		if e.Limit {
			kind = KindTooLarge
		}
		return nil, Errorf(kind, "%s", e.Error())
	}
	if body.doc.Root().Kind() != strictjson.Object {
		return nil, Errorf(KindBadRequest, "body must be a JSON object")
	}
	return body, nil
}

// Top returns the body's object.
func (b *Body) Top() Object { return Object{b: b, v: b.doc.Root()} }

// Err returns the first error of reading the body: a KindBadRequest *Error naming the
// field, or nil.
func (b *Body) Err() error { return b.err }

// Object is an object of a Body at a path ("" for the body itself). Members that are
// null read as absent, and stay in Extra as sent. Every method reads one member by its exact name (Chat's names are
// case-sensitive: encoding/json alone would also take "groupid" for GroupId); a member
// of the wrong kind sets the Body's error and reads as absent.
type Object struct {
	b    *Body
	v    strictjson.Value
	path string
	// elem is 1 + the index of the array element at path that this is (the path is
	// then path[index], written only for a message), or 0.
	elem int
}

// where is the object's path for messages, such as MemberList[3].
func (o Object) where() string {
	if o.elem == 0 {
		return o.path
	}
	return o.path + "[" + strconv.Itoa(o.elem-1) + "]"
}

// Fail sets the Body's error, when it has none, to the message about the member n:
// "<path>.n <format...>".
func (o Object) Fail(n, format string, args ...any) {
	if o.b.err == nil {
		o.b.err = Errorf(KindBadRequest, "%s %s", o.name(n), fmt.Sprintf(format, args...))
	}
}

// name is member n's name for messages: with the object's path.
func (o Object) name(n string) string {
	if o.path == "" && o.elem == 0 {
		return n
	}
	return o.where() + "." + n
}

// get returns member n, absent when null or when the body has an error already, and
// marks it read unless null (see Extra).
func (o Object) get(n string) strictjson.Value {
	if o.b.err != nil {
		return strictjson.Value{}
	}
	v := o.v.Get(n)
	if v.Kind() == strictjson.Null {
		return strictjson.Value{}
	}
	o.b.mark(v)
	return v
}

// Extra returns the members of the object that no read has taken, as Chat sent them,
// in its order, as one JSON object; nil when there are none. A member read but sent
// in a form its event leaves out (null; "" or [] where optional; an optional string
// with an escaped lone surrogate) is not taken: nothing Chat sent is dropped. The
// envelope's members are taken as every body's are: CallbackCommand by the command
// check, EventTime by the decoder (Object.EventTime, which leaves 0 untaken); sent as
// null they stay. A route writes it into its events as "extra", so that a field Chat
// adds reaches consumers without a release.
func (o Object) Extra() json.RawMessage {
	if o.b.err != nil {
		return nil
	}
	var out []byte
	for v := range o.v.Members() {
		if o.b.wasRead(v) {
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
