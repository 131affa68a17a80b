//go:build !long

package main

import "time"

// Short variants of the scale-out tests (failover, cross-replica order), run by make test.
const (
	failoverRounds      = 1
	failoverRoundLength = 20 * time.Second
	orderRandomOps      = 40
)
