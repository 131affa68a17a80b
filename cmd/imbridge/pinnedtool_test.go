package main

import (
	"bufio"
	"bytes"
	"debug/buildinfo"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// pinnedTool returns the path of name in GOPATH/bin after checking that it was built
// from module at the version that the tools module goMod requires (`make target`
// builds it). A missing or other build fails the test: a check must not pass by not
// running.
func pinnedTool(t *testing.T, name, goMod, module, target string) string {
	t.Helper()
	want := pinnedVersion(t, goMod, module)
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err != nil {
		t.Fatalf("go env GOPATH: %v", err)
	}
	gopath := strings.TrimSpace(string(out))
	if i := strings.IndexRune(gopath, os.PathListSeparator); i >= 0 {
		gopath = gopath[:i]
	}
	path := filepath.Join(gopath, "bin", name)
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		t.Fatalf("%s: %v; `make %s` builds it from %s", path, err, target, filepath.Dir(goMod))
	}
	got := ""
	if info.Main.Path == module {
		got = info.Main.Version
	}
	for _, d := range info.Deps {
		if d.Path == module {
			got = d.Version
		}
	}
	if got != want {
		t.Fatalf("%s was built from %s %q, want %s (%s); `make %s` rebuilds it", path, module, got, want, goMod, target)
	}
	return path
}

// pinnedVersion is the version of module that the tools module goMod requires.
func pinnedVersion(t *testing.T, goMod, module string) string {
	t.Helper()
	b, err := os.ReadFile(goMod)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(sc.Text()), "require "))
		if len(f) >= 2 && f[0] == module {
			return f[1]
		}
	}
	t.Fatalf("%s requires no %s", goMod, module)
	return ""
}
