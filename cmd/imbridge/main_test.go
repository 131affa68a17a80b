package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestMain removes the binaries the tests built (binary, raceBinary) once they ran, so
// that a test run leaves no folder behind.
func TestMain(m *testing.M) {
	code := m.Run()
	for _, bin := range []string{binPath, racePath} {
		if bin != "" {
			os.RemoveAll(filepath.Dir(bin))
		}
	}
	os.Exit(code)
}
