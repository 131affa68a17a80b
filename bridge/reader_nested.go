// Reading a Body's nested objects and arrays, element by element.

package bridge

import (
	"fmt"
	"iter"
	"strings"

	"github.com/imbridge/imbridge/bridge/internal/strictjson"
)

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
			if o.b.err != nil || !yield(i, Elem{b: o.b, v: e, path: name, elem: i + 1}) {
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
	path string // the array's
	elem int    // 1 + the element's index
}

func (e Elem) fail(format string, args ...any) {
	if e.b.err == nil {
		e.b.err = Errorf(KindBadRequest, "%s %s", Object(e).where(), fmt.Sprintf(format, args...))
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
		if e.v.Lone() {
			e.fail("%s", errLone)
			return ""
		}
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
	if fault := accountFault(s); fault != "" {
		e.fail("%s", fault)
		return ""
	}
	return s
}

// Accounts reads an optional list of UserIDs for an event's flattened copy of it: the
// elements as accounts or, with member set, each element's member of that name (a
// list of {"Member_Account": ...} objects). It reports nil, and leaves the list
// unread (in Extra as sent), when the list is absent or empty or when any element is
// not a usable account (a string of 1 to MaxAccountBytes bytes, without a NUL or an
// escaped lone surrogate): a copy is never a reason to refuse a callback, and the list
// reaches the consumer as sent either way.
func (o Object) Accounts(n, member string) []string {
	if o.b.err != nil {
		return nil
	}
	list := o.v.Get(n)
	if list.Kind() != strictjson.Array || list.Len() == 0 {
		return nil
	}
	accounts := make([]string, 0, list.Len())
	for _, e := range list.Elements() {
		if member != "" {
			e = e.Get(member)
		}
		s := e.Str()
		if e.Kind() != strictjson.String || e.Lone() || s == "" || accountFault(s) != "" {
			return nil
		}
		accounts = append(accounts, s)
	}
	o.b.mark(list)
	return accounts
}

// keep leaves member n in Extra as sent, although read: its value is one the event
// leaves out.
func (o Object) keep(n string) { o.b.unmark(o.v.Get(n)) }
