package bridge

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// Structure limits of a callback body. Chat's bodies nest three levels, and their
// objects have fewer than ten keys; the margins are for fields added over time. With
// them, and a duplicate-key check in constant time per key, decoding takes time linear
// in the body's size whatever its shape.
const (
	// MaxJSONDepth is the deepest nesting of arrays and objects.
	MaxJSONDepth = 32
	// MaxJSONObjectKeys is the most keys one object may have.
	MaxJSONObjectKeys = 1000
	// MaxJSONArrayElements is the most elements an array other than PairList may
	// have; PairList is held to the pair limit instead (KindTooLarge beyond it).
	MaxJSONArrayElements = 10000
)

// DecodePairList decodes and checks a PairList-shaped body of at most maxPairs
// entries (0: DefaultMaxPairs). Every error is a KindBadRequest *Error naming the
// offending field (and pair index), except too many pairs, which is KindTooLarge.
//
// Beyond JSON's grammar it refuses what would make two readers of the body disagree:
// invalid UTF-8, escaped lone surrogates (which decoders replace silently), a key
// twice in one object, nesting deeper than MaxJSONDepth, more keys in one object than
// MaxJSONObjectKeys or more elements in an array than MaxJSONArrayElements, and NUL in
// an account. Keys match exactly (encoding/json would also take "pairlist" for
// PairList).
//
// With friendAdd it also reads the fields of Sns.CallbackFriendAdd: ClientCmd and
// Admin_Account (strings), ForceFlag (a non-negative integer) and each pair's
// Initiator_Account (an account); without, they are unknown fields like any other.
//
// It reads the body in one pass without reflection, in time linear in its length: it
// is the hot path of every callback, and the body comes from whoever holds a signed
// URL. Pairs beyond maxPairs are counted, not kept. The differential fuzz test holds
// it to the encoding/json-based decoder it replaced.
func DecodePairList(body []byte, maxPairs int, friendAdd bool) (PairListBody, error) {
	if maxPairs <= 0 {
		maxPairs = DefaultMaxPairs
	}
	if !utf8.Valid(body) {
		return PairListBody{}, Errorf(KindBadRequest, "body is not valid UTF-8")
	}
	p := parser{b: body}
	p.ws()
	if p.i >= len(p.b) || p.b[p.i] != '{' {
		return PairListBody{}, Errorf(KindBadRequest, "body must be a JSON object")
	}
	d := doc{friendAdd: friendAdd, maxPairs: maxPairs}
	p.topLevel(&d)
	if p.err == nil {
		p.ws()
		if p.i < len(p.b) {
			p.fail("invalid character %q after top-level value", p.b[p.i])
		}
	}
	// Report in a fixed order: syntax first, then the fields from the outside in.
	switch {
	case p.err != nil:
		return PairListBody{}, p.err
	case d.commandNotString:
		return PairListBody{}, Errorf(KindBadRequest, "CallbackCommand must be a string")
	case d.badEventTime:
		return PairListBody{}, Errorf(KindBadRequest, "EventTime must be a non-negative integer (Unix milliseconds)")
	case d.friendErr != nil:
		return PairListBody{}, d.friendErr
	case !d.hasPairList:
		return PairListBody{}, Errorf(KindBadRequest, "PairList is missing")
	case !d.pairListIsArray:
		return PairListBody{}, Errorf(KindBadRequest, "PairList must be an array")
	case d.itemNotObject:
		return PairListBody{}, Errorf(KindBadRequest, "PairList entries must be objects with From_Account and To_Account strings")
	case d.pairs == 0:
		return PairListBody{}, Errorf(KindBadRequest, "PairList is empty")
	case d.pairs > maxPairs:
		return PairListBody{}, Errorf(KindTooLarge, "PairList has %d entries; at most %d are accepted", d.pairs, maxPairs)
	case d.accountErr != nil:
		return PairListBody{}, d.accountErr
	}
	return d.body, nil
}

// doc collects what the parser found; DecodePairList decides what to report.
type doc struct {
	body             PairListBody
	commandNotString bool
	badEventTime     bool
	hasPairList      bool
	pairListIsArray  bool
	itemNotObject    bool
	pairs            int // PairList entries; only the first maxPairs are kept
	maxPairs         int
	accountErr       error // the first, in PairList order, From_Account before To_Account
	friendAdd        bool  // read the fields of Sns.CallbackFriendAdd
	friendErr        error // the first wrong one of ClientCmd, Admin_Account, ForceFlag
}

type parser struct {
	b     []byte
	i     int
	depth int
	err   error
	// keys holds the keys of the objects being parsed, innermost last: each object
	// appends its own and cuts them off when it ends. One slice, reused, so that
	// checking keys allocates nothing.
	keys [][]byte
}

// fewKeys is how many keys of one object are compared directly, each with every earlier
// one: enough for Chat's objects. Beyond it, the object's keys are sorted when it ends
// and neighbours compared, so that a 1 MiB object of 100,000 keys costs
// O(n log n) rather than O(n²) (which took seconds); sorting measured faster than a
// map here and allocates nothing.
const fewKeys = 8

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

func (p *parser) fail(format string, args ...any) {
	if p.err == nil {
		p.err = &Error{Kind: KindBadRequest, Message: "body is not valid JSON: " + fmt.Sprintf(format, args...) + " at offset " + strconv.Itoa(p.i)}
	}
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

// expect consumes c after whitespace.
func (p *parser) expect(c byte) bool {
	p.ws()
	if p.i >= len(p.b) {
		p.fail("unexpected end of JSON input")
		return false
	}
	if p.b[p.i] != c {
		p.fail("invalid character %q, expecting %q", p.b[p.i], c)
		return false
	}
	p.i++
	return true
}

func (p *parser) enter() bool {
	if p.depth >= MaxJSONDepth {
		p.err = Errorf(KindBadRequest, "body nests deeper than %d levels", MaxJSONDepth)
		return false
	}
	p.depth++
	return true
}

// members parses an object whose '{' is next, checking for duplicate keys and the key
// limit, and calls member with each key after consuming the ':'; member must consume
// the value.
func (p *parser) members(member func(key []byte)) {
	if !p.expect('{') || !p.enter() {
		return
	}
	base := len(p.keys)
	defer func() { p.depth--; p.keys = p.keys[:base] }()
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		return
	}
	for p.err == nil {
		p.ws()
		if p.i >= len(p.b) || p.b[p.i] != '"' {
			p.expect('"')
			return
		}
		key := p.str()
		if p.err != nil {
			return
		}
		if len(p.keys)-base >= MaxJSONObjectKeys {
			p.err = Errorf(KindBadRequest, "body has an object with more than %d keys", MaxJSONObjectKeys)
			return
		}
		if p.addKey(base, key) {
			p.err = Errorf(KindBadRequest, "body has the key %q twice in one object", truncate(string(key), 64))
			return
		}
		if !p.expect(':') {
			return
		}
		member(key)
		if p.err != nil {
			return
		}
		p.ws()
		if p.i >= len(p.b) {
			p.fail("unexpected end of JSON input")
			return
		}
		switch p.b[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			if k := p.dupKey(base); k != nil {
				p.err = Errorf(KindBadRequest, "body has the key %q twice in one object", truncate(string(k), 64))
			}
			return
		default:
			p.fail("invalid character %q after object key:value pair", p.b[p.i])
			return
		}
	}
}

// elements parses an array whose '[' is next, calling element for each; element must
// consume the value. More than limit elements is an error; 0 means no limit.
func (p *parser) elements(limit int, element func()) {
	if !p.expect('[') || !p.enter() {
		return
	}
	defer func() { p.depth-- }()
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		return
	}
	for count := 1; p.err == nil; count++ {
		if limit > 0 && count > limit {
			p.err = Errorf(KindBadRequest, "body has an array with more than %d elements", limit)
			return
		}
		element()
		if p.err != nil {
			return
		}
		p.ws()
		if p.i >= len(p.b) {
			p.fail("unexpected end of JSON input")
			return
		}
		switch p.b[p.i] {
		case ',':
			p.i++
		case ']':
			p.i++
			return
		default:
			p.fail("invalid character %q after array element", p.b[p.i])
			return
		}
	}
}

// peek returns the first byte of the next value, or 0 at the end.
func (p *parser) peek() byte {
	p.ws()
	if p.i >= len(p.b) {
		return 0
	}
	return p.b[p.i]
}

// value parses and checks any JSON value.
func (p *parser) value() {
	switch c := p.peek(); {
	case c == '{':
		p.members(func([]byte) { p.value() })
	case c == '[':
		p.elements(MaxJSONArrayElements, p.value)
	case c == '"':
		p.str()
	case c == '-' || (c >= '0' && c <= '9'):
		p.number()
	case c == 't':
		p.literal("true")
	case c == 'f':
		p.literal("false")
	case c == 'n':
		p.literal("null")
	case c == 0 && p.i >= len(p.b):
		p.fail("unexpected end of JSON input")
	default:
		p.fail("invalid character %q looking for beginning of value", c)
	}
}

func (p *parser) literal(lit string) {
	if !bytes.HasPrefix(p.b[p.i:], []byte(lit)) {
		p.fail("invalid literal, expecting %s", lit)
		return
	}
	p.i += len(lit)
}

// isNull consumes null and reports whether it was there.
func (p *parser) isNull() bool {
	if p.peek() == 'n' {
		p.literal("null")
		return p.err == nil
	}
	return false
}

// number parses a JSON number and returns its literal.
func (p *parser) number() []byte {
	start := p.i
	if p.b[p.i] == '-' {
		p.i++
	}
	digits := func() int {
		n := 0
		for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	switch {
	case p.i < len(p.b) && p.b[p.i] == '0':
		p.i++
	case digits() == 0:
		p.fail("invalid number")
		return nil
	}
	if p.i < len(p.b) && p.b[p.i] == '.' {
		p.i++
		if digits() == 0 {
			p.fail("invalid number: digits must follow the decimal point")
			return nil
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		p.i++
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			p.fail("invalid number: digits must follow the exponent")
			return nil
		}
	}
	return p.b[start:p.i]
}

// str parses a string whose '"' is next and returns its content: a slice of the body
// when it has no escapes, else a decoded copy.
func (p *parser) str() []byte {
	p.i++ // the opening quote
	start := p.i
	for p.i < len(p.b) {
		switch c := p.b[p.i]; {
		case c == '"':
			s := p.b[start:p.i]
			p.i++
			return s
		case c == '\\':
			return p.strEscaped(start)
		case c < 0x20:
			p.fail("invalid character %q in string literal", c)
			return nil
		default:
			p.i++
		}
	}
	p.fail("unexpected end of JSON input")
	return nil
}

func (p *parser) strEscaped(start int) []byte {
	out := append([]byte(nil), p.b[start:p.i]...)
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return out
		case c < 0x20:
			p.fail("invalid character %q in string literal", c)
			return nil
		case c != '\\':
			out = append(out, c)
			p.i++
			continue
		}
		if p.i+1 >= len(p.b) {
			break
		}
		esc := p.b[p.i+1]
		p.i += 2
		switch esc {
		case '"', '\\', '/':
			out = append(out, esc)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(p.b, p.i)
			if !ok {
				p.fail("invalid escape sequence in string literal")
				return nil
			}
			p.i += 4
			if utf16.IsSurrogate(r) {
				lo, ok := rune(0), false
				if r < 0xDC00 && p.i+1 < len(p.b) && p.b[p.i] == '\\' && p.b[p.i+1] == 'u' {
					lo, ok = hex4(p.b, p.i+2)
				}
				if !ok || lo < 0xDC00 || lo > 0xDFFF {
					p.err = Errorf(KindBadRequest, "body contains an escaped lone UTF-16 surrogate, which is not a character")
					return nil
				}
				p.i += 6
				r = utf16.DecodeRune(r, lo)
			}
			out = utf8.AppendRune(out, r)
		default:
			p.i -= 1
			p.fail("invalid character %q in string escape code", esc)
			return nil
		}
	}
	p.fail("unexpected end of JSON input")
	return nil
}

func hex4(b []byte, at int) (rune, bool) {
	if at+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[at : at+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c-'a') + 10
		case c >= 'A' && c <= 'F':
			r |= rune(c-'A') + 10
		default:
			return 0, false
		}
	}
	return r, true
}

// topLevel parses the body object, picking out CallbackCommand, EventTime and PairList.
func (p *parser) topLevel(d *doc) {
	p.members(func(key []byte) {
		switch string(key) {
		case "CallbackCommand":
			switch c := p.peek(); {
			case c == '"':
				d.body.CallbackCommand = string(p.str())
			case p.isNull():
			default:
				d.commandNotString = true
				p.value()
			}
		case "EventTime":
			switch c := p.peek(); {
			case c == '-' || (c >= '0' && c <= '9'):
				n, ok := JSONInteger(p.number())
				if !ok || n < 0 {
					d.badEventTime = true
				}
				d.body.EventTime = n
			case p.isNull():
			default:
				d.badEventTime = true
				p.value()
			}
		case "PairList":
			d.pairList(p)
		case "ClientCmd", "Admin_Account", "ForceFlag":
			if !d.friendAdd {
				p.value()
				return
			}
			d.friendField(p, string(key))
		default:
			p.value()
		}
	})
}

// friendField reads a body field of Sns.CallbackFriendAdd.
func (d *doc) friendField(p *parser, key string) {
	var err error
	switch key {
	case "ForceFlag":
		switch c := p.peek(); {
		case c == '-' || (c >= '0' && c <= '9'):
			n, ok := JSONInteger(p.number())
			if !ok || n < 0 {
				err = Errorf(KindBadRequest, "ForceFlag must be a non-negative integer")
			}
			d.body.ForceFlag = n
		case p.isNull():
		default:
			err = Errorf(KindBadRequest, "ForceFlag must be a non-negative integer")
			p.value()
		}
	default:
		var f field
		f.read(p)
		switch {
		case f.notString:
			err = Errorf(KindBadRequest, "%s must be a string", key)
		case key == "Admin_Account" && len(f.value) > 0:
			var v string
			if v, err = f.account(-1, key); err == nil {
				d.body.AdminAccount = v
			}
		case key == "ClientCmd":
			d.body.ClientCmd = string(f.value)
		}
	}
	if d.friendErr == nil {
		d.friendErr = err
	}
}

func (d *doc) pairList(p *parser) {
	d.hasPairList, d.pairListIsArray, d.itemNotObject, d.accountErr, d.pairs = false, false, false, nil, 0
	d.body.PairList = d.body.PairList[:0]
	switch p.peek() {
	case '[':
	case 'n':
		p.isNull()
		return
	default:
		d.hasPairList = true
		p.value()
		return
	}
	d.hasPairList, d.pairListIsArray = true, true
	// No element limit: the pairs beyond maxPairs are counted, not kept, and refused.
	p.elements(0, func() {
		i := d.pairs
		d.pairs++
		var pair Pair
		var from, to, initiator field
		switch p.peek() {
		case '{':
			p.members(func(key []byte) {
				switch string(key) {
				case "From_Account":
					from.read(p)
				case "To_Account":
					to.read(p)
				case "Initiator_Account":
					if !d.friendAdd {
						p.value()
						return
					}
					initiator.read(p)
				default:
					p.value()
				}
			})
		case 'n':
			p.isNull()
		default:
			d.itemNotObject = true
			p.value()
		}
		if i >= d.maxPairs {
			return // refused as too many; only the count matters
		}
		if d.accountErr == nil {
			if pair.From, d.accountErr = from.account(i, "From_Account"); d.accountErr == nil {
				pair.To, d.accountErr = to.account(i, "To_Account")
			}
		}
		if d.accountErr == nil && initiator.present && !(len(initiator.value) == 0 && !initiator.notString) {
			pair.Initiator, d.accountErr = initiator.account(i, "Initiator_Account")
		}
		d.body.PairList = append(d.body.PairList, pair)
	})
}

// field is an account as found in a pair object.
type field struct {
	present, notString bool
	value              []byte
}

func (f *field) read(p *parser) {
	switch c := p.peek(); {
	case c == '"':
		f.present, f.value = true, p.str()
	case p.isNull():
	default:
		f.present, f.notString = true, true
		p.value()
	}
}

// account checks the field as an account: PairList[i].name, or the body's name when
// i < 0.
func (f *field) account(i int, name string) (string, error) {
	if f.present && !f.notString && len(f.value) > 0 && len(f.value) <= MaxAccountBytes && bytes.IndexByte(f.value, 0) < 0 {
		return string(f.value), nil
	}
	if i >= 0 {
		name = fmt.Sprintf("PairList[%d].%s", i, name)
	}
	switch {
	case !f.present:
		return "", Errorf(KindBadRequest, "%s is missing", name)
	case f.notString:
		return "", Errorf(KindBadRequest, "%s must be a string", name)
	case len(f.value) == 0:
		return "", Errorf(KindBadRequest, "%s is empty", name)
	case len(f.value) > MaxAccountBytes:
		return "", Errorf(KindBadRequest, "%s is %d bytes; at most %d are allowed", name, len(f.value), MaxAccountBytes)
	case bytes.IndexByte(f.value, 0) >= 0:
		return "", Errorf(KindBadRequest, "%s contains a NUL character", name)
	}
	return string(f.value), nil
}
