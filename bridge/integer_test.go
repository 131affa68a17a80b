package bridge

import (
	"strings"
	"testing"
	"time"
)

// Integer tokens, read exactly: JSON Schema's integers in every form, and nothing
// that only rounds to one.
func TestExactInteger(t *testing.T) {
	tests := []struct {
		give    string
		neg     bool
		mag     uint64
		ok      bool
		int64OK bool
	}{
		{"305", false, 305, true, true},
		{"305.0", false, 305, true, true},
		{"3.05e2", false, 305, true, true},
		{"30500E-2", false, 305, true, true},
		{"1e+2", false, 100, true, true},
		{"-0", true, 0, true, true},
		{"0.000", false, 0, true, true},
		{"0e1000", false, 0, true, true},
		{"50e-1", false, 5, true, true},
		{"9223372036854775807", false, 1<<63 - 1, true, true},
		{"-9223372036854775808", true, 1 << 63, true, true},
		{"9223372036854775808", false, 1 << 63, true, false},
		{"18446744073709551615", false, 1<<64 - 1, true, false},
		{"1e19", false, 10000000000000000000, true, false},
		{"18446744073709551616", false, 0, false, false},
		{"1e20", false, 0, false, false},
		{"1e-999999999", false, 0, false, false},
		{"1.0000000001", false, 0, false, false},
		{"5e-1", false, 0, false, false},
		{"1e1000", false, 0, false, false},
		{"9000000000000000000.00000000000000000001", false, 0, false, false}, // 41 bytes
		{"1" + strings.Repeat("0", 40), false, 0, false, false},              // over MaxNumberToken
		{"01", false, 0, false, false},
		{"1.", false, 0, false, false},
		{".5", false, 0, false, false},
		{"-", false, 0, false, false},
		{"12e", false, 0, false, false},
		{"+1", false, 0, false, false},
		{"1_000", false, 0, false, false},
	}
	for _, tc := range tests {
		neg, mag, ok := exactInteger([]byte(tc.give))
		if ok != tc.ok || (ok && (neg != tc.neg || mag != tc.mag)) {
			t.Errorf("exactInteger(%s) = %v %d %v, want %v %d %v", tc.give, neg, mag, ok, tc.neg, tc.mag, tc.ok)
		}
		if _, ok := JSONInteger([]byte(tc.give)); ok != tc.int64OK {
			t.Errorf("JSONInteger(%s) ok %v, want %v", tc.give, ok, tc.int64OK)
		}
	}
}

// Numbers that only round to integers no longer pass as integers through a callback
// (before: "EventTime": 1e-999999999 was published as 0), and a body of one number a
// megabyte long is decided at once (before: 1 M digits cost 1.45 s of CPU).
func TestNumbersThatAreNotIntegers(t *testing.T) {
	for _, et := range []string{"1e-999999999", "1669872112000.0000000001", strings.Repeat("9", 1<<20)} {
		body := `{"CallbackCommand":"` + CommandBlackListDelete + `","EventTime":` + et + `,"PairList":[{"From_Account":"a","To_Account":"b"}]}`
		cb := Callback{Query: Query{CallbackCommand: CommandBlackListDelete}, AppID: 1, Body: []byte(body), ReceivedAt: time.Unix(1669872112, 0)}
		start := time.Now()
		_, err := Map(cb, DefaultRoutes[0])
		if took := time.Since(start); took > time.Second {
			t.Errorf("EventTime of %d bytes decided in %s", len(et), took)
		}
		if ErrorKind(err) != KindBadRequest || !strings.Contains(ErrorMessage(err), "EventTime") {
			t.Errorf("EventTime %.40s: %v, want a bad request naming EventTime", et, err)
		}
	}
}

// BenchmarkLongNumberToken measures what one megabyte-long number costs to refuse.
func BenchmarkLongNumberToken(b *testing.B) {
	tok := []byte(strings.Repeat("9", 1<<20))
	for b.Loop() {
		if _, ok := JSONInteger(tok); ok {
			b.Fatal("accepted")
		}
	}
}

// Every integer field kind takes the same forms: an integer written exactly (with a
// zero fraction or an exponent, -0 included), or its plain digits in a string, within
// its kind's bound, and nothing else; the message names the field and its bound.
func TestIntegerFieldKinds(t *testing.T) {
	type kind struct {
		name string
		read func(o Object) any
		fail string // the message for a refused token
	}
	kinds := []kind{
		{"int64 (times, flags, counts)", func(o Object) any { return o.Int("N") }, "N must be an integer"},
		{"uint32 (Random)", func(o Object) any { return o.Uint("N", 1<<32-1) }, "N must be an integer from 0 to 4294967295"},
		{"uint64 (MsgSeq)", func(o Object) any { return o.Uint("N", MaxMsgSeq) }, "N must be a non-negative integer"},
	}
	tests := []struct {
		give string
		want [3]any // per kind; nil: refused
	}{
		{"305", [3]any{int64(305), uint64(305), uint64(305)}},
		{"305.0", [3]any{int64(305), uint64(305), uint64(305)}},
		{"3.05e2", [3]any{int64(305), uint64(305), uint64(305)}},
		{"-0", [3]any{int64(0), uint64(0), uint64(0)}},
		{"-1", [3]any{int64(-1), nil, nil}},
		{"4294967296", [3]any{int64(4294967296), nil, uint64(4294967296)}},
		{"9223372036854775808", [3]any{nil, nil, uint64(9223372036854775808)}},
		{"18446744073709551615", [3]any{nil, nil, uint64(18446744073709551615)}},
		{"18446744073709551616", [3]any{nil, nil, nil}},
		{"1.5", [3]any{nil, nil, nil}},
		{"1e-999999999", [3]any{nil, nil, nil}},
		{"1.0000000001", [3]any{nil, nil, nil}},
		{"9000000000000000000.00000000000000000001", [3]any{nil, nil, nil}},
		{strings.Repeat("1", 1000), [3]any{nil, nil, nil}},
		{`"305"`, [3]any{int64(305), uint64(305), uint64(305)}},
		{`"-7"`, [3]any{int64(-7), nil, nil}},
		{`"18446744073709551615"`, [3]any{nil, nil, uint64(18446744073709551615)}},
		{`"0305"`, [3]any{nil, nil, nil}},
		{`"3.05e2"`, [3]any{nil, nil, nil}},
		{`" 305"`, [3]any{nil, nil, nil}},
		{`""`, [3]any{nil, nil, nil}},
		{"true", [3]any{nil, nil, nil}},
	}
	for _, tc := range tests {
		for k, kd := range kinds {
			b, err := ParseBody([]byte(`{"N":` + tc.give + `}`))
			if err != nil {
				t.Fatal(err)
			}
			got := kd.read(b.Top())
			if tc.want[k] == nil {
				if b.Err() == nil || b.Err().Error() != kd.fail {
					t.Errorf("%s %.40s: %v, %v; want refused with %q", kd.name, tc.give, got, b.Err(), kd.fail)
				}
				continue
			}
			if b.Err() != nil || got != tc.want[k] {
				t.Errorf("%s %.40s: %v (%T), %v; want %v", kd.name, tc.give, got, got, b.Err(), tc.want[k])
			}
		}
	}
}

// A token over MaxNumberToken bytes is not read, even when it is an integer exactly
// (this one is 1): a number of a megabyte costs nothing, and the rule has no exception.
func TestLongTokenIsNotRead(t *testing.T) {
	for _, tok := range []string{"1" + strings.Repeat("0", 41) + "e-41", "1" + strings.Repeat("0", 999_999) + "e-999999"} {
		if neg, mag, ok := exactInteger([]byte(tok)); ok {
			t.Fatalf("a %d-byte token read as %v %d", len(tok), neg, mag)
		}
	}
}
