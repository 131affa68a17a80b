// Package strictjson parses a JSON text once into a Doc that every reader of it reads
// alike: valid UTF-8, no key twice in an object, no escaped lone surrogate, and within
// Limits, in time linear in the text's length whatever its shape. Errors carry the
// offset and the path of the value they are about.
package strictjson

import (
	"fmt"
	"strconv"
	"sync"
	"unicode/utf8"
)

// Limits bound the shape of a text. Parse refuses a text past any of them.
type Limits struct {
	// MaxDepth is the deepest nesting of arrays and objects.
	MaxDepth int
	// MaxObjectKeys is the most keys one object may have.
	MaxObjectKeys int
	// MaxArrayElements is the most elements one array may have.
	MaxArrayElements int
	// MaxValues is the most values (of any kind, at any depth) a text may have: the
	// Doc takes about 28 bytes per value.
	MaxValues int
}

// Error is a text that Parse refused: Msg says why, Offset is where in the text (a
// byte offset) and Path which value ("" for the root, else such as
// MemberList[3].Member_Account).
type Error struct {
	Msg    string
	Offset int
	Path   string
	// Limit says that the text is refused for a count of Limits (keys, elements,
	// values), not for its syntax or its depth.
	Limit bool
}

// Error returns Msg, with the path when there is one.
func (e *Error) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Msg + " (at " + e.Path + ")"
}

// Parse checks text as one JSON value within lim and records it (see Doc). The Doc
// refers to text, which must not change while the Doc is used.
func Parse(text []byte, lim Limits) (*Doc, error) {
	d := new(Doc)
	if err := d.Parse(text, lim); err != nil {
		return nil, err
	}
	return d, nil
}

// Parse is the function Parse into d, which it overwrites (d need not be new: a Doc
// can be part of a larger value); on an error d is empty.
func (d *Doc) Parse(text []byte, lim Limits) error {
	*d = Doc{}
	if !utf8.Valid(text) {
		return &Error{Msg: "body is not valid UTF-8"}
	}
	sc := scratches.Get().(*scratch)
	defer sc.put()
	*d = Doc{b: text, nodes: make([]node, 0, min(32+len(text)/512, lim.MaxValues))}
	p := parser{b: text, lim: lim, doc: d, keys: sc.keys[:0], path: sc.path[:0]}
	defer func() { sc.keys, sc.path = p.keys, p.path }()
	p.value(-1)
	if p.err == nil {
		p.ws()
		if p.i < len(p.b) {
			p.fail("invalid character %q after top-level value", p.b[p.i])
		}
	}
	if p.err != nil {
		*d = Doc{}
		return p.err
	}
	return nil
}

type parser struct {
	b   []byte
	i   int
	lim Limits
	doc *Doc
	err *Error
	// keys holds the keys of the objects being parsed, innermost last: each object
	// appends its own and cuts them off when it ends. One slice, reused, so that
	// checking keys allocates nothing.
	keys [][]byte
	// lone says that the last string parsed held an escaped lone surrogate.
	lone bool
	// path is the members and elements being parsed, outermost first, for errors.
	path []step
}

// scratch is a parser's memory that outlives it, reused by the next parse: the stacks
// of keys and of the path, which otherwise grow afresh in every parse.
type scratch struct {
	keys [][]byte
	path []step
}

// maxScratch is the largest stack put back for reuse: a body with larger objects or
// deeper nesting than Chat's grows its own.
const maxScratch = 256

var scratches = sync.Pool{New: func() any { return &scratch{keys: make([][]byte, 0, 32), path: make([]step, 0, 8)} }}

// put returns sc to scratches without the keys it refers to, which are a body's bytes.
func (sc *scratch) put() {
	if cap(sc.keys) > maxScratch || cap(sc.path) > maxScratch {
		return
	}
	clear(sc.keys[:cap(sc.keys)])
	clear(sc.path[:cap(sc.path)])
	sc.keys, sc.path = sc.keys[:0], sc.path[:0]
	scratches.Put(sc)
}

// step is one level of the path: an object's member (key) or an array's element.
type step struct {
	obj   bool
	key   []byte // the member being parsed; nil between members
	index int
}

// fewKeys is how many keys of one object are compared directly, each with every earlier
// one: enough for Chat's objects. Beyond it, the object's keys are sorted when it ends
// and neighbours compared, so that a 1 MiB object of 100,000 keys costs O(n log n)
// rather than O(n²); sorting measured faster than a map here and allocates nothing.
const fewKeys = 8

func (p *parser) pathString() string {
	var b []byte
	for _, s := range p.path {
		if s.obj {
			if s.key == nil {
				break
			}
			if len(b) > 0 {
				b = append(b, '.')
			}
			b = append(b, s.key...)
			continue
		}
		b = append(b, '[')
		b = strconv.AppendInt(b, int64(s.index), 10)
		b = append(b, ']')
	}
	return truncate(string(b), 128)
}

// refuse sets the error once: msg, at the current offset and path.
func (p *parser) refuse(msg string) {
	if p.err == nil {
		p.err = &Error{Msg: msg, Offset: p.i, Path: p.pathString()}
	}
}

// refuseLimit refuses a text past a count of Limits.
func (p *parser) refuseLimit(msg string) {
	if p.err == nil {
		p.refuse(msg)
		p.err.Limit = true
	}
}

// fail refuses a text that is not JSON, naming the offset.
func (p *parser) fail(format string, args ...any) {
	p.refuse("body is not valid JSON: " + fmt.Sprintf(format, args...) + " at offset " + strconv.Itoa(p.i))
}

func (p *parser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *parser) peek() byte {
	p.ws()
	if p.i >= len(p.b) {
		return 0
	}
	return p.b[p.i]
}

// record appends a node for the value starting at p.i (whitespace skipped) and
// returns its index, or -1 past MaxValues.
func (p *parser) record(key int32) int32 {
	if len(p.doc.nodes) >= p.lim.MaxValues {
		p.refuseLimit(fmt.Sprintf("body has more than %d values", p.lim.MaxValues))
		return -1
	}
	if len(p.doc.nodes) == cap(p.doc.nodes) {
		// Grown by hand to at most MaxValues: append would double past it.
		grown := make([]node, len(p.doc.nodes), min(2*cap(p.doc.nodes)+64, p.lim.MaxValues))
		copy(grown, p.doc.nodes)
		p.doc.nodes = grown
	}
	p.doc.nodes = append(p.doc.nodes, node{start: int32(p.i), key: key})
	return int32(len(p.doc.nodes) - 1)
}

// value parses and checks any JSON value; parent is the node of the container it is
// in (-1 for the root) and key the offset of its key's quote (-1 if none).
func (p *parser) value(parent int32) { p.valueAt(parent, -1) }

func (p *parser) valueAt(parent int32, key int32) {
	c := p.peek()
	n := int32(-1)
	if p.err == nil && c != 0 {
		if n = p.record(key); n < 0 {
			return
		}
	}
	var kind Kind
	var escaped bool
	switch {
	case c == '{':
		kind = Object
		if n >= 0 {
			p.doc.nodes[n].kind = Object
		}
		p.object(n)
	case c == '[':
		kind = Array
		if n >= 0 {
			p.doc.nodes[n].kind = Array
		}
		p.array(n)
	case c == '"':
		kind = String
		_, escaped = p.str(true)
	case c == '-' || (c >= '0' && c <= '9'):
		kind = Number
		p.number()
	case c == 't':
		kind = True
		p.literal("true")
	case c == 'f':
		kind = False
		p.literal("false")
	case c == 'n':
		kind = Null
		p.literal("null")
	case c == 0 && p.i >= len(p.b):
		p.fail("unexpected end of JSON input")
	default:
		p.fail("invalid character %q looking for beginning of value", c)
	}
	if n >= 0 && p.err == nil {
		nd := &p.doc.nodes[n]
		nd.kind, nd.end = kind, int32(p.i)
		if escaped {
			nd.flags |= flagEscaped
		}
		if kind == String && p.lone {
			nd.flags |= flagLone
		}
	}
}

func (p *parser) enter() bool {
	if len(p.path) >= p.lim.MaxDepth {
		p.refuse(fmt.Sprintf("body nests deeper than %d levels", p.lim.MaxDepth))
		return false
	}
	return true
}

// link makes child the next sibling of prev (or the first child of parent).
func (p *parser) link(parent, prev, child int32) {
	if child < 0 || parent < 0 {
		return
	}
	if prev < 0 {
		p.doc.nodes[parent].first = child
	} else {
		p.doc.nodes[prev].next = child
	}
	p.doc.nodes[parent].len++
}

// expect consumes c after whitespace.
func (p *parser) expect(c byte) bool {
	switch p.peek() {
	case c:
		p.i++
		return true
	case 0:
		p.fail("unexpected end of JSON input")
	default:
		p.fail("invalid character %q, expecting %q", p.b[p.i], c)
	}
	return false
}

// truncate cuts s to n bytes for a message, as the rest of imbridge's messages do.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
