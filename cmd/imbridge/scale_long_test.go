//go:build long

package main

import "time"

// Long variants of the scale-out tests: make test-long.
const (
	failoverRounds      = 3
	failoverRoundLength = 20 * time.Second
	orderRandomOps      = 400
)
