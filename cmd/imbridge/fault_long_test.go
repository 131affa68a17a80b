//go:build long

package main

// Long variants of the fault tests: make test-long.
const (
	crashKills   = 25
	crashWorkers = 16
)
