package bridge

import "strconv"

// MaxNumberToken is the longest JSON number token read as an integer: a longer one (no
// field of Chat's needs more than 20 digits) is refused without being parsed, so that
// a body of one long number costs nothing.
const MaxNumberToken = 40

// exactInteger reads a JSON number token as an integer exactly, without rounding: as
// JSON Schema's "integer" takes it (305, 305.0, 3.05e2, -0), and not 1.0000000001 or
// 1e-999999999, whatever the number of digits. It returns the sign and the magnitude,
// and false for a token that is not an integer, does not fit 64 bits, is longer than
// MaxNumberToken or is not a JSON number.
func exactInteger(tok []byte) (neg bool, mag uint64, ok bool) {
	if len(tok) == 0 || len(tok) > MaxNumberToken {
		return false, 0, false
	}
	i := 0
	if tok[0] == '-' {
		neg, i = true, 1
	}
	start := i
	for i < len(tok) && tok[i] >= '0' && tok[i] <= '9' {
		i++
	}
	intPart := tok[start:i]
	if len(intPart) == 0 || (len(intPart) > 1 && intPart[0] == '0') {
		return false, 0, false
	}
	var frac []byte
	if i < len(tok) && tok[i] == '.' {
		i++
		s := i
		for i < len(tok) && tok[i] >= '0' && tok[i] <= '9' {
			i++
		}
		if frac = tok[s:i]; len(frac) == 0 {
			return false, 0, false
		}
	}
	exp := 0
	if i < len(tok) && (tok[i] == 'e' || tok[i] == 'E') {
		i++
		expNeg := false
		if i < len(tok) && (tok[i] == '+' || tok[i] == '-') {
			expNeg, i = tok[i] == '-', i+1
		}
		s := i
		for i < len(tok) && tok[i] >= '0' && tok[i] <= '9' {
			if exp = exp*10 + int(tok[i]-'0'); exp > 1000 {
				exp = 1000 // beyond any digits a 40-byte token holds; the sign decides
			}
			i++
		}
		if i == s {
			return false, 0, false
		}
		if expNeg {
			exp = -exp
		}
	}
	if i != len(tok) {
		return false, 0, false
	}
	// The value is digits × 10^(exp - len(frac)); trailing zeros of the digits move into
	// the exponent, so that a negative exponent is left only by a real fraction.
	digits := append(append(make([]byte, 0, len(intPart)+len(frac)), intPart...), frac...)
	exp -= len(frac)
	for len(digits) > 1 && digits[len(digits)-1] == '0' {
		digits, exp = digits[:len(digits)-1], exp+1
	}
	for len(digits) > 1 && digits[0] == '0' {
		digits = digits[1:]
	}
	if len(digits) == 1 && digits[0] == '0' {
		return neg, 0, true
	}
	if exp < 0 || len(digits)+exp > 20 {
		return false, 0, false
	}
	for range exp {
		digits = append(digits, '0')
	}
	mag, err := strconv.ParseUint(string(digits), 10, 64)
	return neg, mag, err == nil
}

// exactInt64 is exactInteger within int64's range.
func exactInt64(tok []byte) (int64, bool) {
	neg, mag, ok := exactInteger(tok)
	switch {
	case !ok:
		return 0, false
	case !neg && mag <= 1<<63-1:
		return int64(mag), true
	case neg && mag <= 1<<63:
		return -int64(mag-1) - 1, true
	}
	return 0, false
}
