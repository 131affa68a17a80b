//go:build !long

package main

// Short variants of the fault tests, run by make test.
const (
	crashKills   = 3
	crashWorkers = 4
)
