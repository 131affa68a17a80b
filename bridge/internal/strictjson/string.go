package strictjson

import (
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// str parses a string whose '"' is next and returns its content (a slice of the text
// when it has no escapes, else a decoded copy) and whether it had escapes. A key
// (lenient false) is refused with an escaped lone UTF-16 surrogate, which decoders
// read differently; a value takes it (see Value.Lone).
func (p *parser) str(lenient bool) ([]byte, bool) {
	p.i++ // the opening quote
	p.lone = false
	start := p.i
	for p.i < len(p.b) {
		switch c := p.b[p.i]; {
		case c == '"':
			s := p.b[start:p.i]
			p.i++
			return s, false
		case c == '\\':
			return p.strEscaped(start, lenient), true
		case c < 0x20:
			p.fail("invalid character %q in string literal", c)
			return nil, false
		default:
			p.i++
		}
	}
	p.fail("unexpected end of JSON input")
	return nil, false
}

func (p *parser) strEscaped(start int, lenient bool) []byte {
	out, end, msg, lone := unescape(p.b, start)
	if lone && !lenient && msg == "" {
		msg = errSurrogate
	}
	p.lone = lone
	if msg != "" {
		p.i = end
		if msg == errSurrogate {
			p.refuse(msg)
		} else {
			p.fail("%s", msg)
		}
		return nil
	}
	p.i = end
	return out
}

const errSurrogate = "body contains an escaped lone UTF-16 surrogate, which is not a character"

// unescape decodes the string whose content starts at b[start] up to its closing
// quote: the content (an escaped lone UTF-16 surrogate as U+FFFD), the offset after
// the quote, why it is not a JSON string ("" when it is), and whether it holds an
// escaped lone surrogate.
func unescape(b []byte, start int) (out []byte, end int, msg string, lone bool) {
	i := start
	for i < len(b) && b[i] != '\\' && b[i] != '"' {
		i++
	}
	out = append([]byte(nil), b[start:i]...)
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			return out, i + 1, "", lone
		case c < 0x20:
			return nil, i, fmt.Sprintf("invalid character %q in string literal", c), false
		case c != '\\':
			out = append(out, c)
			i++
			continue
		}
		if i+1 >= len(b) {
			break
		}
		esc := b[i+1]
		i += 2
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
			r, ok := hex4(b, i)
			if !ok {
				return nil, i, "invalid escape sequence in string literal", false
			}
			i += 4
			if utf16.IsSurrogate(r) {
				lo, ok := rune(0), false
				if r < 0xDC00 && i+1 < len(b) && b[i] == '\\' && b[i+1] == 'u' {
					lo, ok = hex4(b, i+2)
				}
				if !ok || lo < 0xDC00 || lo > 0xDFFF {
					lone = true
					out = utf8.AppendRune(out, utf8.RuneError)
					continue
				}
				i += 6
				r = utf16.DecodeRune(r, lo)
			}
			out = utf8.AppendRune(out, r)
		default:
			return nil, i - 1, fmt.Sprintf("invalid character %q in string escape code", esc), false
		}
	}
	return nil, len(b), "unexpected end of JSON input", false
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
