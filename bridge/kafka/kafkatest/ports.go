package kafkatest

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// PortBlock is how many consecutive ports FreePorts reserves: a broker takes PORT..PORT+3
// (plaintext, controller, SASL, TLS), a three-node cluster PORT..PORT+2 and
// PORT+10..PORT+12.
const PortBlock = 16

// Script returns the path of a script under deploy/kafka (kafka.sh, cluster.sh, ports.sh).
func Script(name string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "deploy", "kafka", name)
}

// FreePorts returns the first of PortBlock consecutive ports on 127.0.0.1 that no socket
// uses, picked by deploy/kafka/ports.sh (as make test's broker is) and reserved for this
// test process until t ends, so that no other pick on the machine, in this process or in
// another checkout's make test, hands them out meanwhile.
func FreePorts(t testing.TB) int {
	t.Helper()
	out, err := exec.Command(Script("ports.sh"), "pick", strconv.Itoa(os.Getpid())).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("ports.sh pick: %v %s", err, stderr)
	}
	port, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("ports.sh pick printed %q", out)
	}
	t.Cleanup(func() { _ = exec.Command(Script("ports.sh"), "release", strconv.Itoa(port)).Run() })
	return port
}
