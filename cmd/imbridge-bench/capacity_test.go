package main

import (
	"testing"
)

// The search finds the highest rate that fits within its resolution, never one above,
// with one measurement per step.
func TestSearchCapacity(t *testing.T) {
	for _, limit := range []float64{0, 5, 730, 3700, 9999, 20000} {
		calls := 0
		best, tried := searchCapacity(12000, 6, func(rate float64) bool { calls++; return rate <= limit })
		if calls != len(tried) || calls > 6 {
			t.Errorf("limit %.0f: %d measurements, %d rates noted, at most 6 steps", limit, calls, len(tried))
		}
		if best > limit {
			t.Errorf("limit %.0f: found %.0f, above it", limit, best)
		}
		// Six halvings of 12,000 leave a step of about 190.
		if want := min(limit, 12000) - 12000/64 - 10; best < want {
			t.Errorf("limit %.0f: found %.0f, want at least %.0f (tried %v)", limit, best, want, tried)
		}
	}
}

// The row's run is measured again a tenth lower while it does not fit, up to the
// tries given.
func TestConfirmCapacity(t *testing.T) {
	var rates []float64
	run := func(limit float64) func(float64) Report {
		return func(rate float64) Report {
			rates = append(rates, rate)
			p999 := 10.0
			if rate > limit {
				p999 = 40
			}
			return Report{Rate: rate, Callbacks: 100, OK: 100, CallbacksPerS: rate, P999: p999}
		}
	}
	r := confirmCapacity(1000, 3, run(2000))
	if r.Rate != 1000 || len(rates) != 1 {
		t.Errorf("fits at once: rate %.0f after %v", r.Rate, rates)
	}
	rates = nil
	r = confirmCapacity(1000, 3, run(850))
	if r.Rate != 810 || !fitsCapacity(r) || len(rates) != 3 {
		t.Errorf("fits at the third: rate %.0f after %v", r.Rate, rates)
	}
	rates = nil
	r = confirmCapacity(1000, 2, run(100))
	if fitsCapacity(r) || len(rates) != 2 {
		t.Errorf("never fits: %v, rates %v", fitsCapacity(r), rates)
	}
}

func TestFitsCapacity(t *testing.T) {
	ok := Report{Rate: 1000, Callbacks: 10000, OK: 10000, CallbacksPerS: 990, P999: 20}
	if !fitsCapacity(ok) {
		t.Error("a run that kept up within the bound does not fit")
	}
	for name, r := range map[string]Report{
		"slow p99.9":  {Rate: 1000, Callbacks: 10000, OK: 10000, CallbacksPerS: 990, P999: 26},
		"fell behind": {Rate: 1000, Callbacks: 9000, OK: 9000, CallbacksPerS: 900, P999: 20},
		"refusals":    {Rate: 1000, Callbacks: 10000, OK: 9990, CallbacksPerS: 990, P999: 20},
		"max rate":    {Rate: 0, Callbacks: 10000, OK: 10000, CallbacksPerS: 990, P999: 20},
	} {
		if fitsCapacity(r) {
			t.Errorf("%s fits", name)
		}
	}
}
