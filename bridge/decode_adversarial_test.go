package bridge

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// adversarialSize is the size of every adversarial body: the default body limit.
const adversarialSize = 1 << 20

// fill repeats unit, numbered by i, until the body would exceed adversarialSize with
// prefix and suffix around it; sep goes between units.
func fill(prefix, sep, suffix string, unit func(i int) string) []byte {
	var b strings.Builder
	b.Grow(adversarialSize)
	b.WriteString(prefix)
	for i := 0; ; i++ {
		u := unit(i)
		if i > 0 {
			u = sep + u
		}
		if b.Len()+len(u)+len(suffix) > adversarialSize {
			break
		}
		b.WriteString(u)
	}
	b.WriteString(suffix)
	return []byte(b.String())
}

const validHead = `{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[{"From_Account":"a","To_Account":"b"}],`

// adversarialShapes are 1 MiB bodies built to make a decoder work hard: many keys in
// one object or spread over many, deep nesting repeated, long strings, many escapes,
// many pairs, long arrays. Each is a body a signed request can carry.
func adversarialShapes() []struct {
	name string
	body []byte
} {
	key := func(i int) string { return `"k` + strconv.Itoa(i) + `":0` }
	obj := func(keys int) string {
		parts := make([]string, keys)
		for i := range parts {
			parts[i] = key(i)
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	deep := strings.Repeat("[", MaxJSONDepth-4) + strings.Repeat("]", MaxJSONDepth-4)
	return []struct {
		name string
		body []byte
	}{
		// The shape of the review's finding: one nested object of ~100,000 keys.
		{"keys in one object", fill(validHead+`"X":{`, ",", "}}", key)},
		{"keys with a long shared prefix", fill(validHead+`"X":{`, ",", "}}", func(i int) string {
			return `"` + strings.Repeat("p", 200) + strconv.Itoa(i) + `":0`
		})},
		{"objects of MaxJSONObjectKeys keys", fill(validHead+`"X":[`, ",", "]}", func(int) string { return obj(MaxJSONObjectKeys) })},
		{"objects of 9 keys", fill(validHead+`"X":[`, ",", "]}", func(int) string {
			return "[" + strings.TrimSuffix(strings.Repeat(obj(9)+",", 1000), ",") + "]"
		})},
		{"objects of 17 keys", fill(validHead+`"X":[`, ",", "]}", func(int) string { return obj(17) })},
		{"pairs with MaxJSONObjectKeys keys each", fill(`{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[`, ",", "]}", func(int) string {
			return `{"From_Account":"a","To_Account":"b",` + obj(MaxJSONObjectKeys - 2)[1:]
		})},
		{"nesting 29 deep, repeated", fill(validHead+`"X":[`, ",", "]}", func(int) string {
			return "[" + strings.TrimSuffix(strings.Repeat(deep+",", 100), ",") + "]"
		})},
		{"nested objects, repeated", fill(validHead+`"X":[`, ",", "]}", func(int) string {
			return strings.Repeat(`{"a":`, MaxJSONDepth-3) + "0" + strings.Repeat("}", MaxJSONDepth-3)
		})},
		{"one long string", fill(validHead+`"X":"`, "", `"}`, func(int) string { return "a" })},
		{"one long key", fill(validHead+`"`, "", `":0}`, func(int) string { return "a" })},
		{"escapes \\u00e9", fill(validHead+`"X":"`, "", `"}`, func(int) string { return `\u00e9` })},
		{"escapes \\\"", fill(validHead+`"X":"`, "", `"}`, func(int) string { return `\"` })},
		{"surrogate pairs", fill(validHead+`"X":"`, "", `"}`, func(int) string { return `\ud83d\ude00` })},
		{"escaped keys", fill(validHead+`"X":{`, ",", "}}", func(i int) string { return `"\u006b` + strconv.Itoa(i) + `":0` })},
		{"many pairs", fill(`{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[`, ",", "]}", func(i int) string {
			return `{"From_Account":"a` + strconv.Itoa(i%10) + `","To_Account":"b` + strconv.Itoa(i) + `"}`
		})},
		{"many escaped pairs", fill(`{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[`, ",", "]}", func(i int) string {
			return `{"From_Account":"\u0061","To_Account":"\u0062` + strconv.Itoa(i) + `"}`
		})},
		{"arrays of MaxJSONArrayElements numbers", fill(validHead+`"X":[`, ",", "]}", func(int) string {
			return "[" + strings.TrimSuffix(strings.Repeat("1,", MaxJSONArrayElements), ",") + "]"
		})},
		{"long array of numbers", fill(validHead+`"X":[`, ",", "]}", func(int) string { return "1" })},
		{"long array of empty objects", fill(validHead+`"X":[`, ",", "]}", func(int) string { return "{}" })},
		{"long numbers", fill(validHead+`"X":[`, ",", "]}", func(int) string { return "-1." + strings.Repeat("9", 1000) + "e+99" })},
		{"one number of a megabyte", fill(validHead+`"X":`, "", `}`, func(int) string { return "9" })},
		{"one EventTime of a megabyte", fill(validHead+`"EventTime":1`, "", `}`, func(int) string { return "0" })},
		{"whitespace", fill(validHead+`"X":`, "", `0}`, func(int) string { return " " })},
		{"multi-byte UTF-8", fill(validHead+`"X":"`, "", `"}`, func(int) string { return "张" })},
	}
}

// decodeBound is the most one 1 MiB body may take to decode here. The target is 50 ms
// of CPU (BenchmarkDecodeAdversarial measures it); the bound leaves room for the race
// detector and a loaded machine while still failing on a superlinear decoder (the
// quadratic key check took 17 s on the first shape).
const decodeBound = 2 * time.Second

// Every adversarial 1 MiB shape is decided well within decodeBound: accepted or
// refused, never worked on for long.
func TestDecodeAdversarialShapesInBoundedTime(t *testing.T) {
	for _, s := range adversarialShapes() {
		t.Run(s.name, func(t *testing.T) {
			if len(s.body) > adversarialSize || len(s.body) < adversarialSize-16<<10 {
				t.Fatalf("body is %d bytes, want about %d", len(s.body), adversarialSize)
			}
			best := time.Duration(1<<63 - 1)
			var err error
			for range 3 {
				start := time.Now()
				_, err = decodePairListBody(s.body, 0, false)
				best = min(best, time.Since(start))
			}
			t.Logf("%s: %s (%v)", s.name, best.Round(10*time.Microsecond), err)
			if best > decodeBound {
				t.Fatalf("decoding took %s, bound %s", best, decodeBound)
			}
		})
	}
}

// BenchmarkDecodeAdversarial measures each adversarial 1 MiB shape; the slowest is the
// number the 50 ms target is held to.
func BenchmarkDecodeAdversarial(b *testing.B) {
	for _, s := range adversarialShapes() {
		b.Run(s.name, func(b *testing.B) {
			b.SetBytes(int64(len(s.body)))
			b.ReportAllocs()
			for b.Loop() {
				_, _ = decodePairListBody(s.body, 0, false)
			}
		})
	}
}

// The structure limits hold at their edges, and a duplicate key is found wherever it
// sits in an object of any size.
func TestDecodeStructureLimits(t *testing.T) {
	keys := func(n int, dupOf, dupAt int) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = `"k` + strconv.Itoa(i) + `":0`
			if i == dupAt {
				parts[i] = `"k` + strconv.Itoa(dupOf) + `":0`
			}
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	array := func(n int, elem string) string {
		return "[" + strings.TrimSuffix(strings.Repeat(elem+",", n), ",") + "]"
	}
	pairs := func(n int) string { return array(n, `{"From_Account":"a","To_Account":"b"}`) }
	body := func(x string) string { return validHead + `"X":` + x + "}" }
	tests := []struct {
		name string
		give string
		want string // empty: accepted
	}{
		{"MaxJSONObjectKeys keys", body(keys(MaxJSONObjectKeys, -1, -1)), ""},
		{"one key more", body(keys(MaxJSONObjectKeys+1, -1, -1)), "too_large: body has an object with more than 1000 keys (at X.k1000)"},
		{"MaxJSONArrayElements elements", body(array(MaxJSONArrayElements, "0")), ""},
		{"one element more", body(array(MaxJSONArrayElements+1, "0")), "too_large: body has an array with more than 10000 elements (at X[10000])"},
		{"nested arrays count apart", body(array(2, array(MaxJSONArrayElements, "[]"))), ""},
		{"PairList is held to the pair limit instead", `{"PairList":` + pairs(DefaultMaxPairs+1) + `}`, "too_large: body has an array with more than 10000 elements (at PairList[10000])"},
		{"PairList at the pair limit", `{"PairList":` + pairs(DefaultMaxPairs) + `}`, ""},
		{"an array named PairList deeper down is an array", body(`{"PairList":` + array(MaxJSONArrayElements+1, "0") + `}`), "too_large: body has an array with more than 10000 elements (at X.PairList[10000])"},
		{"duplicate among the first keys", body(keys(5, 1, 3)), `bad_request: body has the key "k1" twice in one object (at X.k1)`},
		{"duplicate of a first key, late", body(keys(500, 0, 499)), `bad_request: body has the key "k0" twice in one object (at X)`},
		{"duplicate of a late key, later", body(keys(900, 600, 899)), `bad_request: body has the key "k600" twice in one object (at X)`},
		{"duplicate right after the first keys", body(keys(9, 7, 8)), `bad_request: body has the key "k7" twice in one object (at X)`},
		{"same keys in sibling objects", body(array(3, keys(50, -1, -1))), ""},
		{"same keys in nested objects", body(`{"k0":` + keys(20, -1, -1) + `,"k1":` + keys(20, -1, -1) + `}`), ""},
		{"a key of the outer object repeated after an inner one", body(`{"a":0,"b":` + keys(20, -1, -1) + `,"c":0,"d":0,"e":0,"f":0,"g":0,"h":0,"i":0,"a":1}`), `bad_request: body has the key "a" twice in one object (at X)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodePairListBody([]byte(tt.give), 0, false)
			got := ""
			if err != nil {
				got = ErrorKind(err).String() + ": " + err.Error()
			}
			if got != tt.want {
				t.Fatalf("DecodePairList = %q, want %q", got, tt.want)
			}
			// The reference decoder of the differential fuzz test agrees.
			_, refErr := referenceDecodePairList([]byte(tt.give), 0, false)
			if (refErr == nil) != (err == nil) || ErrorKind(refErr) != ErrorKind(err) {
				t.Fatalf("reference decoder: %v", refErr)
			}
		})
	}
}

func ExampleParseBody() {
	_, err := ParseBody([]byte(`{"PairList":[{"From_Account":"a","To_Account":"b"}],"X":` +
		"{" + strings.TrimSuffix(strings.Repeat(`"k":0,`, 2), ",") + "}}"))
	fmt.Println(err)
	// Output: body has the key "k" twice in one object (at X.k)
}

// A body of more values than MaxJSONValues is refused as too large, whatever its
// nesting: the index of one body is bounded.
func TestValueLimit(t *testing.T) {
	arrays := make([]string, MaxJSONValues/MaxJSONArrayElements+1)
	for i := range arrays {
		arrays[i] = "[" + strings.TrimSuffix(strings.Repeat("0,", MaxJSONArrayElements), ",") + "]"
	}
	_, err := ParseBody([]byte(validHead + `"X":[` + strings.Join(arrays, ",") + `]}`))
	if ErrorKind(err) != KindTooLarge || !strings.Contains(err.Error(), "more than 131072 values") {
		t.Fatalf("a body of %d values: %v", len(arrays)*MaxJSONArrayElements, err)
	}
	if _, err := ParseBody([]byte(validHead + `"X":[` + strings.Join(arrays[:len(arrays)-1], ",") + `]}`)); err != nil {
		t.Fatalf("a body of %d values: %v", (len(arrays)-1)*MaxJSONArrayElements, err)
	}
}
