package main

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

func loadCompose(t *testing.T) *types.Project {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{"../../docker-compose.yml"}, cli.WithName("imbridge"), cli.WithProfiles([]string{"tools"}))
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("load docker-compose.yml: %v", err)
	}
	return p
}

// Kafka's data directory under compose is on its named volume: the apache/kafka image
// writes to /tmp/kraft-combined-logs unless KAFKA_LOG_DIRS says otherwise, and a
// directory outside the volume loses every topic on docker compose down and up.
func TestComposeKafkaKeepsItsData(t *testing.T) {
	kafka := loadCompose(t).Services["kafka"]
	dirs := "/tmp/kraft-combined-logs" // the image's default (its configureDefaults script)
	if v := kafka.Environment["KAFKA_LOG_DIRS"]; v != nil {
		dirs = *v
	}
	for _, dir := range strings.Split(dirs, ",") {
		onVolume := slices.ContainsFunc(kafka.Volumes, func(v types.ServiceVolumeConfig) bool {
			return v.Type == types.VolumeTypeVolume && (dir == v.Target || strings.HasPrefix(dir, strings.TrimSuffix(v.Target, "/")+"/"))
		})
		if !onVolume {
			t.Errorf("kafka keeps its data in %s, which is on none of its named volumes %+v", dir, kafka.Volumes)
		}
	}
}

// Under compose, Kafka answers from the host at the address make dev uses
// (127.0.0.1:19092), so that the README's host-side commands (kcat, the Go consumer)
// work under both: a listener published on loopback and advertised as that address.
func TestComposeKafkaFromTheHost(t *testing.T) {
	kafka := loadCompose(t).Services["kafka"]
	env := func(k string) string {
		if v := kafka.Environment[k]; v != nil {
			return *v
		}
		return ""
	}
	var published []string
	for _, p := range kafka.Ports {
		published = append(published, p.HostIP+":"+p.Published+"->"+strconv.FormatUint(uint64(p.Target), 10))
	}
	if !slices.Equal(published, []string{"127.0.0.1:19092->19092"}) {
		t.Errorf("kafka publishes %v, want 127.0.0.1:19092 only (loopback)", published)
	}
	listeners := map[string]string{}
	for _, l := range strings.Split(env("KAFKA_ADVERTISED_LISTENERS"), ",") {
		name, addr, _ := strings.Cut(l, "://")
		listeners[name] = addr
	}
	if listeners["PLAINTEXT"] != "kafka:9092" || listeners["HOST"] != "127.0.0.1:19092" {
		t.Errorf("advertised listeners %v, want PLAINTEXT kafka:9092 for containers and HOST 127.0.0.1:19092 for the host", listeners)
	}
	if !strings.Contains(env("KAFKA_LISTENERS"), "HOST://:19092") || !strings.Contains(env("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"), "HOST:PLAINTEXT") ||
		env("KAFKA_INTER_BROKER_LISTENER_NAME") != "PLAINTEXT" {
		t.Errorf("listeners %q, protocol map %q, inter-broker %q", env("KAFKA_LISTENERS"), env("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"), env("KAFKA_INTER_BROKER_LISTENER_NAME"))
	}
}

// kcat under compose runs on any architecture: built from Alpine's package, not the
// amd64-only edenhill/kcat image.
func TestComposeKcatMultiArch(t *testing.T) {
	kcat := loadCompose(t).Services["kcat"]
	if kcat.Build == nil || !regexp.MustCompile(`(?m)^FROM alpine:[0-9.]+$`).MatchString(kcat.Build.DockerfileInline) ||
		!strings.Contains(kcat.Build.DockerfileInline, "apk add --no-cache kcat") {
		t.Fatalf("kcat is not built from Alpine's package: image %q build %+v", kcat.Image, kcat.Build)
	}
}

// The Dockerfile's Go is go.mod's: the golang images set GOTOOLCHAIN=local, so an
// older one refuses to build the module.
func TestDockerfileGoVersion(t *testing.T) {
	mod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	want := regexp.MustCompile(`(?m)^go ([0-9.]+)$`).FindSubmatch(mod)
	docker, err := os.ReadFile("../../deploy/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	got := regexp.MustCompile(`(?m)^ARG GO_VERSION=([0-9.]+)$`).FindSubmatch(docker)
	if want == nil || got == nil || string(got[1]) != string(want[1]) {
		t.Fatalf("deploy/Dockerfile builds with Go %q, go.mod says %q", got, want)
	}
	if !regexp.MustCompile(`(?m)^FROM golang:\$\{GO_VERSION\} AS build$`).Match(docker) {
		t.Fatal("deploy/Dockerfile does not build FROM golang:${GO_VERSION}")
	}
}

// .dockerignore keeps history and build outputs out of the build context, and no file
// the image's build needs: every file of the module but the ignored ones.
func TestDockerignore(t *testing.T) {
	raw, err := os.ReadFile("../../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for _, line := range strings.Split(string(raw), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			patterns = append(patterns, strings.Trim(line, "/"))
		}
	}
	ignored := func(path string) bool {
		parts := strings.Split(path, "/")
		for _, p := range patterns {
			for i := range parts {
				// A pattern matches the path or a directory above it; **/ any prefix.
				for j := range i + 1 {
					if ok, _ := filepath.Match(strings.TrimPrefix(p, "**/"), strings.Join(parts[j:i+1], "/")); ok && (j == 0 || strings.HasPrefix(p, "**/")) {
						return true
					}
				}
			}
		}
		return false
	}
	for _, p := range []string{".git/HEAD", "bin/imbridge", "cmd/imbridge/imbridge", "imbridge", "data/spool/x", "cmd/imbridge/imbridge.test",
		"schema/conformance/.schemathesis/x"} {
		if !ignored(p) {
			t.Errorf("%s goes into the build context", p)
		}
	}
	// What the build reads: go.mod, go.sum, Go files and what they embed.
	err = filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("../..", path)
		if d.IsDir() && (rel == ".git" || strings.HasPrefix(rel, ".git/")) {
			return filepath.SkipDir
		}
		needed := rel == "go.mod" || rel == "go.sum" || rel == "deploy/Dockerfile" ||
			(strings.HasSuffix(rel, ".go") && !strings.HasSuffix(rel, "_test.go")) || (strings.HasPrefix(rel, "schema/") && strings.Count(rel, "/") == 1)
		if !d.IsDir() && needed && ignored(filepath.ToSlash(rel)) {
			t.Errorf("%s is needed by the build but ignored", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
