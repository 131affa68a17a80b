package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/imbridge/imbridge/bridge"
)

// imbridge --help lists exactly the routed callbacks, each with its default topic and
// event type, from the routing table.
func TestHelpListsRoutes(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"--help"}, env(), &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	help := stdout.String()
	var listed, want []string
	for _, m := range regexp.MustCompile(`(?m)^  ([A-Za-z0-9]+\.[A-Za-z0-9]+) +(imbridge\.\S+) +(imbridge\.\S+)$`).FindAllStringSubmatch(help, -1) {
		listed = append(listed, strings.Join(m[1:], " "))
	}
	for _, r := range bridge.DefaultRoutes {
		want = append(want, r.Command+" "+r.Topic+" "+r.Type)
	}
	if !slices.Equal(listed, want) {
		t.Fatalf("--help lists %q, want %q:\n%s", listed, want, help)
	}
	if n := len(regexp.MustCompile(`\b(Sns|C2C|Group|State|Profile|OfficialAccount|Bot|Alert|Follow|Call|Push|ContentCallback)\.\w+`).FindAllString(help, -1)); n != len(want) {
		t.Fatalf("--help names %d commands, want the %d routes:\n%s", n, len(want), help)
	}
}

// check --help prints check's usage; serve --help serve's.
func TestCommandHelp(t *testing.T) {
	for _, command := range []string{"serve", "check"} {
		var stdout, stderr bytes.Buffer
		if code := run([]string{command, "--help"}, env(), &stdout, &stderr); code != 0 {
			t.Fatalf("%s --help: exit %d: %s", command, code, stderr.String())
		}
		if want := "Usage: imbridge " + command + " [flags]\n"; !strings.HasPrefix(stdout.String(), want) {
			t.Errorf("%s --help begins %.60q, want %q", command, stdout.String(), want)
		}
		if !strings.Contains(stdout.String(), "--kafka-brokers HOST:PORT,...") {
			t.Errorf("%s --help does not list the settings", command)
		}
	}
}

// sign takes the token from the environment or a file, as the examples do, so that
// it need not be an argument that other users of the machine can read.
func TestSignTokenFromEnvironment(t *testing.T) {
	const u = "https://example.com/callback?SdkAppid=1&CallbackCommand=Sns.CallbackBlackListDelete"
	const want = "https://example.com/callback?CallbackCommand=Sns.CallbackBlackListDelete&RequestTime=1669872112&SdkAppid=1&Sign=17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061\n"
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte("xxxxyyyy\nold\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, lookup := range map[string]func(string) (string, bool){
		"variable": env("IMBRIDGE_CALLBACK_TOKEN", "xxxxyyyy,old"),
		"file":     env("IMBRIDGE_CALLBACK_TOKEN_FILE", file),
	} {
		var stdout, stderr bytes.Buffer
		if code := run([]string{"sign", "--time", "1669872112", u}, lookup, &stdout, &stderr); code != 0 || stdout.String() != want {
			t.Errorf("%s: exit %d, output %q, stderr %q", name, code, stdout.String(), stderr.String())
		}
	}
	if first, _, _ := strings.Cut(signUsage, "\n"); strings.Contains(first, "--token") {
		t.Errorf("sign's usage line puts the token in the arguments: %s", first)
	}
}
