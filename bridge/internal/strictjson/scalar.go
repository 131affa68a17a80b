// Literals and numbers (strings are in string.go).

package strictjson

import (
	"bytes"
)

func (p *parser) literal(lit string) {
	if !bytes.HasPrefix(p.b[p.i:], []byte(lit)) {
		p.fail("invalid literal, expecting %s", lit)
		return
	}
	p.i += len(lit)
}

// number parses a JSON number.
func (p *parser) number() {
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
		return
	}
	if p.i < len(p.b) && p.b[p.i] == '.' {
		p.i++
		if digits() == 0 {
			p.fail("invalid number: digits must follow the decimal point")
			return
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		p.i++
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			p.fail("invalid number: digits must follow the exponent")
		}
	}
}
