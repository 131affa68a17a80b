package bridge

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// MaxJSONDepth is the deepest nesting of arrays and objects a callback body may have.
// Chat's bodies nest three levels; the margin is for fields added over time.
const MaxJSONDepth = 32

// checkJSON refuses bodies that decoders read differently: duplicate keys in an object
// (encoding/json keeps the last, others the first), escaped lone surrogates (replaced
// by U+FFFD without a word), and nesting deeper than MaxJSONDepth. It also finds
// syntax errors, with their offset.
func checkJSON(body []byte) error {
	if hasLoneSurrogate(body) {
		return Errorf(KindBadRequest, "body contains an escaped lone UTF-16 surrogate, which is not a character")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	type frame struct {
		keys     map[string]struct{}
		isObject bool
		wantKey  bool
	}
	var stack []frame
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return &Error{Kind: KindBadRequest, Message: "body is not valid JSON: " + jsonErrorText(err)}
		}
		var top *frame
		if len(stack) > 0 {
			top = &stack[len(stack)-1]
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				if top != nil && top.isObject {
					top.wantKey = true
				}
				if len(stack) >= MaxJSONDepth {
					return Errorf(KindBadRequest, "body nests deeper than %d levels", MaxJSONDepth)
				}
				stack = append(stack, frame{isObject: t == '{', wantKey: t == '{'})
			default:
				stack = stack[:len(stack)-1]
				if len(stack) > 0 && stack[len(stack)-1].isObject {
					stack[len(stack)-1].wantKey = true
				}
			}
		case string:
			if top != nil && top.isObject && top.wantKey {
				if top.keys == nil {
					top.keys = make(map[string]struct{}, 4)
				}
				if _, dup := top.keys[t]; dup {
					return Errorf(KindBadRequest, "body has the key %q twice in one object", truncate(t, 64))
				}
				top.keys[t] = struct{}{}
				top.wantKey = false
				continue
			}
			if top != nil && top.isObject {
				top.wantKey = true
			}
		default:
			if top != nil && top.isObject {
				top.wantKey = true
			}
		}
	}
}

// hasLoneSurrogate reports whether a JSON string in b holds a \\uD800-\\uDFFF escape
// that is not a high surrogate followed by a low one.
func hasLoneSurrogate(b []byte) bool {
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !inString {
			if c == '"' {
				inString = true
			}
			continue
		}
		switch c {
		case '"':
			inString = false
		case '\\':
			if i+1 < len(b) && b[i+1] == 'u' {
				r, ok := hex4(b, i+2)
				if ok && r >= 0xD800 && r <= 0xDFFF {
					if r >= 0xDC00 {
						return true // low surrogate without a high one before it
					}
					lo, ok2 := rune(0), false
					if i+7 < len(b) && b[i+6] == '\\' && b[i+7] == 'u' {
						lo, ok2 = hex4(b, i+8)
					}
					if !ok2 || lo < 0xDC00 || lo > 0xDFFF {
						return true
					}
					i += 11
					continue
				}
				i += 5
				continue
			}
			i++ // skip the escaped character
		}
	}
	return false
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
