// Reading a Body's integer members and EventTime.

package bridge

import (
	"math"

	"github.com/imbridge/imbridge/bridge/internal/strictjson"
)

// Int reads an optional integer member of int64's range, a number or its digits in a
// string ("305"); nil when absent, so that Fields leaves it out.
func (o Object) Int(n string) any {
	i, ok := o.int(n)
	if !ok {
		return nil
	}
	return i
}

func (o Object) int(n string) (int64, bool) {
	v := o.get(n)
	if v.Kind() == strictjson.Absent {
		return 0, false
	}
	if i, ok := exactInt64(integerToken(v)); ok {
		return i, true
	}
	o.Fail(n, "must be an integer")
	return 0, false
}

// integerToken returns what an integer field holds: a number's token, or the digits of
// a string that holds only an integer's digits (an optional '-' first), which Chat
// sends for some integers; nil for anything else.
func integerToken(v strictjson.Value) []byte {
	switch v.Kind() {
	case strictjson.Number:
		return v.Raw()
	case strictjson.String:
		s := v.Raw()
		s = s[1 : len(s)-1]
		digits := s
		if len(digits) > 0 && digits[0] == '-' {
			digits = digits[1:]
		}
		if len(digits) == 0 || (len(digits) < len(s) && digits[0] == '0') {
			return nil // no digits, or "-0": a string holds an integer's usual digits only
		}
		for _, c := range digits {
			if c < '0' || c > '9' {
				return nil
			}
		}
		return s
	}
	return nil
}

// Uint reads an optional integer member from 0 to max, a number or its digits in a
// string; nil when absent.
func (o Object) Uint(n string, max uint64) any {
	u, ok := o.uint(n, max)
	if !ok {
		return nil
	}
	return u
}

// RequiredUint reads an integer member from 0 to max that must be there.
func (o Object) RequiredUint(n string, max uint64) uint64 {
	if !o.Has(n) {
		o.Fail(n, "is missing")
		return 0
	}
	u, _ := o.uint(n, max)
	return u
}

func (o Object) uint(n string, max uint64) (uint64, bool) {
	v := o.get(n)
	if v.Kind() == strictjson.Absent {
		return 0, false
	}
	if neg, mag, ok := exactInteger(integerToken(v)); ok && (!neg || mag == 0) && mag <= max {
		return mag, true
	}
	if max == math.MaxUint64 {
		o.Fail(n, "must be a non-negative integer")
	} else {
		o.Fail(n, "must be an integer from 0 to %d", max)
	}
	return 0, false
}

// EventTime reads EventTime, the Unix milliseconds of the change: an integer, or the
// same digits as a string (as several of Chat's group samples send it); 0 when absent.
// One sent as 0 (or null) is no time: the event has no eventTime, and it stays in
// Extra as sent.
func (o Object) EventTime() int64 {
	v := o.get("EventTime")
	et, ok := eventTime(v)
	if !ok {
		o.Fail("EventTime", "must be a non-negative integer of Unix milliseconds, or those digits as a string")
	}
	if et == 0 {
		o.b.unmark(v)
	}
	return et
}

// eventTime reads v as EventTime: 0 and true when absent, 0 and false when not one.
func eventTime(v strictjson.Value) (int64, bool) {
	var tok []byte
	switch v.Kind() {
	case strictjson.Absent:
		return 0, true
	case strictjson.Number:
		tok = v.Raw()
	case strictjson.String:
		// Plain digits, as an integer's digits are written (no sign, no leading zero).
		if tok = integerToken(v); len(tok) > 0 && tok[0] == '-' {
			tok = nil
		}
	}
	if n, ok := exactInt64(tok); ok && n >= 0 {
		return n, true
	}
	return 0, false
}
