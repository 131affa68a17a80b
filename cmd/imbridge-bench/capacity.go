// The capacity row: the most callbacks per second imbridge, pinned to one core, takes
// under the mixed load with its p99.9 answer within a bound.

package main

import (
	"fmt"
	"math"
	"os/exec"
	"strconv"
)

// capacityP999 is the bound on the p99.9 answer, in ms, at the capacity row's rate.
const capacityP999 = 25.0

// fitsCapacity tells whether a fixed-rate run r kept up with its rate (at least 95%
// answered 200 per second of the requested, no other answer) with its p99.9 answer
// within capacityP999.
func fitsCapacity(r Report) bool {
	return r.Rate > 0 && r.OK == r.Callbacks && r.TransportErrs == 0 &&
		r.CallbacksPerS >= 0.95*r.Rate && r.P999 <= capacityP999
}

// searchCapacity bisects [0, hi] steps times for the highest rate at which fits holds,
// on rates rounded to a multiple of 10, and returns it with every rate tried; 0 if no
// rate tried fits. fits is assumed to hold below a rate and fail above it.
func searchCapacity(hi float64, steps int, fits func(rate float64) bool) (best float64, tried []float64) {
	lo := 0.0
	for i := 0; i < steps; i++ {
		mid := math.Round((lo+hi)/2/10) * 10
		if mid <= lo || mid >= hi {
			break
		}
		tried = append(tried, mid)
		if fits(mid) {
			lo, best = mid, mid
		} else {
			hi = mid
		}
	}
	return best, tried
}

// confirmCapacity measures rate for the row; while the run does not fit (a short
// search run's luck) and tries are left, it steps down by a tenth and measures again.
// It returns the last run.
func confirmCapacity(rate float64, tries int, measure func(rate float64) Report) Report {
	var r Report
	for i := 0; i < tries; i++ {
		r = measure(rate)
		if fitsCapacity(r) {
			break
		}
		rate = math.Round(rate*0.9/10) * 10
	}
	return r
}

// pinProcess sets the CPUs of every thread of pid (taskset -a -p -c cpus).
func pinProcess(pid int, cpus string) error {
	out, err := exec.Command("taskset", "-a", "-p", "-c", cpus, strconv.Itoa(pid)).CombinedOutput()
	if err != nil {
		return fmt.Errorf("taskset -a -p -c %s %d: %v: %s", cpus, pid, err, out)
	}
	return nil
}
