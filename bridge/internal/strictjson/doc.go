package strictjson

import (
	"bytes"
	"iter"
)

// Kind is a JSON value's type.
type Kind uint8

// The kinds of JSON values. The zero Kind is no value (an absent member).
const (
	Absent Kind = iota
	Null
	False
	True
	Number
	String
	Array
	Object
)

// Doc is a parsed text: every value with its raw bytes and its place, in one slice
// (no allocation per value). Read it from Root.
type Doc struct {
	b     []byte
	nodes []node
}

// Flags of a node.
const (
	flagEscaped = 1 << iota // a string value with escapes
	flagLone                // a string value with an escaped lone UTF-16 surrogate
)

type node struct {
	start, end int32 // the value's raw bytes
	key        int32 // offset of the member's key's opening quote, -1 for an element
	first      int32 // a container's first recorded child, 0 if none
	next       int32 // the next sibling, 0 if none (0 is the root, never a sibling)
	len        int32 // a container's recorded children
	kind       Kind
	flags      uint8
}

// Root returns the text's value.
func (d *Doc) Root() Value { return Value{d: d, i: 0} }

// Value is one value of a Doc, or no value (Kind Absent): reading a member that is not
// there gives one, and every method of it returns zero values.
type Value struct {
	d *Doc
	i int32
}

func (v Value) n() *node { return &v.d.nodes[v.i] }

// Kind returns the value's type; Absent for no value.
func (v Value) Kind() Kind {
	if v.d == nil {
		return Absent
	}
	return v.n().kind
}

// Raw returns the value's bytes as in the text (nil for no value).
func (v Value) Raw() []byte {
	if v.d == nil {
		return nil
	}
	n := v.n()
	return v.d.b[n.start:n.end]
}

// Lone reports whether a string value holds an escaped lone UTF-16 surrogate (valid
// JSON, but no character: Str reads it as U+FFFD, and readers differ).
func (v Value) Lone() bool { return v.Kind() == String && v.n().flags&flagLone != 0 }

// Str returns a string value's content, unescaped; "" for any other kind.
func (v Value) Str() string {
	if v.Kind() != String {
		return ""
	}
	raw := v.Raw()
	if v.n().flags&flagEscaped == 0 {
		return string(raw[1 : len(raw)-1])
	}
	s, _, _, _ := unescape(raw, 1)
	return string(s)
}

// Len returns the number of an array's elements or an object's members.
func (v Value) Len() int {
	if v.d == nil {
		return 0
	}
	return int(v.n().len)
}

// Get returns the member name of an object (matched exactly, after unescaping), or
// no value when there is none or v is not an object.
func (v Value) Get(name string) Value {
	if v.Kind() != Object {
		return Value{}
	}
	for i := v.n().first; i != 0; i = v.d.nodes[i].next {
		if v.d.keyIs(i, name) {
			return Value{d: v.d, i: i}
		}
	}
	return Value{}
}

// keyIs reports whether the key of node i is name.
func (d *Doc) keyIs(i int32, name string) bool {
	at := d.nodes[i].key + 1
	if int(at)+len(name) < len(d.b) && string(d.b[at:int(at)+len(name)]) == name && d.b[int(at)+len(name)] == '"' {
		return true
	}
	// A key with escapes can still be name.
	if bytes.IndexByte(d.b[at:d.nodes[i].start], '\\') < 0 {
		return false
	}
	k, _, _, _ := unescape(d.b, int(at))
	return string(k) == name
}

// Index is the value's place in its Doc, from 0 (the root) to the Doc's Len: a key
// for what a reader keeps about values. -1 for no value.
func (v Value) Index() int {
	if v.d == nil {
		return -1
	}
	return int(v.i)
}

// Len returns the number of values in the Doc.
func (d *Doc) Len() int { return len(d.nodes) }

// RawKey returns the key of an object's member as in the text, quotes included (nil
// for an element or no value).
func (v Value) RawKey() []byte {
	if v.d == nil || v.n().key < 0 {
		return nil
	}
	n := v.n()
	end := int(n.start) - 1
	for end > int(n.key) && v.d.b[end] != ':' {
		end--
	}
	end--
	for end > int(n.key) && v.d.b[end] != '"' {
		end-- // whitespace between the key and ':'
	}
	return v.d.b[n.key : end+1]
}

// Elements yields an array's elements with their indexes.
func (v Value) Elements() iter.Seq2[int, Value] {
	return func(yield func(int, Value) bool) {
		if v.Kind() != Array {
			return
		}
		n := 0
		for i := v.n().first; i != 0; i = v.d.nodes[i].next {
			if !yield(n, Value{d: v.d, i: i}) {
				return
			}
			n++
		}
	}
}

// Members yields an object's members in order, as values: RawKey and KeyIs tell
// their keys, without decoding them.
func (v Value) Members() iter.Seq[Value] {
	return func(yield func(Value) bool) {
		if v.Kind() != Object {
			return
		}
		for i := v.n().first; i != 0; i = v.d.nodes[i].next {
			if !yield(Value{d: v.d, i: i}) {
				return
			}
		}
	}
}

// KeyIs reports whether a member's key is name (matched exactly, after unescaping).
func (v Value) KeyIs(name string) bool { return v.d != nil && v.n().key >= 0 && v.d.keyIs(v.i, name) }
