// Objects and arrays: their keys (each once) and their limits.

package strictjson

import (
	"bytes"
	"fmt"
	"slices"
)

// object parses an object whose '{' is next, checking for duplicate keys and the key
// limit; n is its node (-1 when not recorded).
func (p *parser) object(n int32) {
	p.i++ // '{'
	if !p.enter() {
		return
	}
	base := len(p.keys)
	p.path = append(p.path, step{obj: true})
	defer func() { p.path = p.path[:len(p.path)-1]; p.keys = p.keys[:base] }()
	if p.peek() == '}' {
		p.i++
		return
	}
	prev := int32(-1)
	for p.err == nil {
		if p.peek() != '"' {
			p.expect('"')
			return
		}
		keyAt := int32(p.i)
		key, _ := p.str(false)
		if p.err != nil {
			return
		}
		p.path[len(p.path)-1].key = key
		if len(p.keys)-base >= p.lim.MaxObjectKeys {
			p.refuseLimit(fmt.Sprintf("body has an object with more than %d keys", p.lim.MaxObjectKeys))
			return
		}
		if p.addKey(base, key) {
			p.refuse(fmt.Sprintf("body has the key %q twice in one object", truncate(string(key), 64)))
			return
		}
		if !p.expect(':') {
			return
		}
		before := len(p.doc.nodes)
		p.valueAt(n, keyAt)
		if p.err != nil {
			return
		}
		if n >= 0 && len(p.doc.nodes) > before {
			child := int32(before)
			p.link(n, prev, child)
			prev = child
		}
		switch p.peek() {
		case ',':
			p.i++
		case '}':
			p.i++
			p.path[len(p.path)-1].key = nil
			if k := p.dupKey(base); k != nil {
				p.refuse(fmt.Sprintf("body has the key %q twice in one object", truncate(string(k), 64)))
			}
			return
		case 0:
			p.fail("unexpected end of JSON input")
			return
		default:
			p.fail("invalid character %q after object key:value pair", p.b[p.i])
			return
		}
	}
}

// array parses an array whose '[' is next, within the element limit; n is its node.
func (p *parser) array(n int32) {
	p.i++ // '['
	if !p.enter() {
		return
	}
	p.path = append(p.path, step{})
	defer func() { p.path = p.path[:len(p.path)-1] }()
	if p.peek() == ']' {
		p.i++
		return
	}
	prev := int32(-1)
	for count := 0; p.err == nil; count++ {
		p.path[len(p.path)-1].index = count
		if count >= p.lim.MaxArrayElements {
			p.refuseLimit(fmt.Sprintf("body has an array with more than %d elements", p.lim.MaxArrayElements))
			return
		}
		before := len(p.doc.nodes)
		p.value(n)
		if p.err != nil {
			return
		}
		if n >= 0 && len(p.doc.nodes) > before {
			child := int32(before)
			p.link(n, prev, child)
			prev = child
		}
		switch p.peek() {
		case ',':
			p.i++
		case ']':
			p.i++
			return
		case 0:
			p.fail("unexpected end of JSON input")
			return
		default:
			p.fail("invalid character %q after array element", p.b[p.i])
			return
		}
	}
}

// addKey records key as one of the current object's keys, which start at base, and
// reports whether it is there already. Past fewKeys keys it reports nothing: dupKey
// finds those when the object ends.
func (p *parser) addKey(base int, key []byte) (dup bool) {
	if len(p.keys)-base < fewKeys {
		for _, k := range p.keys[base:] {
			if bytes.Equal(k, key) {
				return true
			}
		}
	}
	p.keys = append(p.keys, key)
	return false
}

// dupKey returns a key that the object whose keys start at base holds twice, or nil.
func (p *parser) dupKey(base int) []byte {
	keys := p.keys[base:]
	if len(keys) <= fewKeys {
		return nil
	}
	slices.SortFunc(keys, bytes.Compare)
	for i := 1; i < len(keys); i++ {
		if bytes.Equal(keys[i-1], keys[i]) {
			return keys[i]
		}
	}
	return nil
}
