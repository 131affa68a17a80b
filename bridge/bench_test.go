package bridge

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func benchBody(pairs int) []byte {
	items := make([]string, pairs)
	for i := range items {
		items[i] = fmt.Sprintf(`{"From_Account":"user_%d","To_Account":"blocked_%06d"}`, i%7, i)
	}
	return []byte(`{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[` + strings.Join(items, ",") + `]}`)
}

// Hot-path micro benchmarks; make bench-micro runs them with -count for benchstat.
func BenchmarkVerify(b *testing.B) {
	v := &Verifier{AppID: 1400187352, Tokens: []Secret{"xxxxyyyy"}, MaxSkew: time.Minute}
	now := time.Unix(1669872112, 0)
	sign := Sign("xxxxyyyy", "1669872112")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify("1400187352", sign, "1669872112", now); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, pairs := range []int{3, 1000} {
		body := benchBody(pairs)
		b.Run(fmt.Sprintf("pairs=%d", pairs), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := decodePairListBody(body, 0, false); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkMap(b *testing.B) {
	for _, pairs := range []int{3, 1000} {
		cb := Callback{Query: Query{CallbackCommand: CommandBlackListDelete, RequestTime: "1669872112", ClientIP: "127.0.0.1", OptPlatform: "RESTAPI"},
			AppID: 1400187352, Body: benchBody(pairs), ReceivedAt: time.Unix(1669872112, 0)}
		b.Run(fmt.Sprintf("pairs=%d", pairs), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Map(cb, DefaultRoutes[0]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
