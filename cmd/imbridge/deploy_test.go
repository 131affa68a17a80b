package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	corev1 "k8s.io/api/core/v1"
)

// knownEnv reports whether name is a setting of imbridge serve, or GOMEMLIMIT, the Go
// runtime's memory limit that deployments set from the container's.
func knownEnv(name string) bool {
	if name == "GOMEMLIMIT" {
		return true
	}
	for _, s := range settings {
		if s.env == name {
			return true
		}
	}
	return false
}

func settingDefault(t *testing.T, env string) string {
	t.Helper()
	for _, s := range settings {
		if s.env == env {
			return s.def
		}
	}
	t.Fatalf("no setting %s", env)
	return ""
}

// graceMargin is what a grace period leaves beyond the shutdown delay, the wait for
// in-flight callbacks and the drain: the admin listener's own shutdown (at most 5s)
// and closing the producer.
const graceMargin = 10 * time.Second

// checkGrace returns nil when grace (before the SIGKILL) covers SIGTERM's whole course
// under the settings in env, defaults for those it lacks: IMBRIDGE_SHUTDOWN_DELAY +
// IMBRIDGE_SHUTDOWN_TIMEOUT + IMBRIDGE_DRAIN_TIMEOUT + graceMargin. Otherwise the
// error says what it needs.
func checkGrace(t *testing.T, grace time.Duration, env map[string]string) error {
	t.Helper()
	need := graceMargin
	var terms []string
	for _, name := range []string{"IMBRIDGE_SHUTDOWN_DELAY", "IMBRIDGE_SHUTDOWN_TIMEOUT", "IMBRIDGE_DRAIN_TIMEOUT"} {
		v := env[name]
		if v == "" {
			v = settingDefault(t, name)
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("%s=%q: %v", name, v, err)
		}
		need += d
		terms = append(terms, fmt.Sprintf("%s %s", strings.TrimPrefix(name, "IMBRIDGE_"), d))
	}
	if grace < need {
		return fmt.Errorf("%s is below %s: %s + margin %s", grace, need, strings.Join(terms, " + "), graceMargin)
	}
	return nil
}

// A grace period fits when it covers the shutdown delay, the shutdown timeout, the
// drain timeout and the margin, with the defaults where a setting is not given.
func TestCheckGrace(t *testing.T) {
	manifest := map[string]string{"IMBRIDGE_SHUTDOWN_DELAY": "10s", "IMBRIDGE_SHUTDOWN_TIMEOUT": "10s", "IMBRIDGE_DRAIN_TIMEOUT": "20s"}
	tests := []struct {
		name      string
		giveGrace time.Duration
		giveEnv   map[string]string
		want      string
	}{
		{name: "the manifest", giveGrace: 50 * time.Second, giveEnv: manifest},
		{name: "the grace period before the delay existed", giveGrace: 45 * time.Second, giveEnv: manifest,
			want: "45s is below 50s: SHUTDOWN_DELAY 10s + SHUTDOWN_TIMEOUT 10s + DRAIN_TIMEOUT 20s + margin 10s"},
		{name: "defaults", giveGrace: 49 * time.Second, giveEnv: nil,
			want: "49s is below 50s: SHUTDOWN_DELAY 10s + SHUTDOWN_TIMEOUT 10s + DRAIN_TIMEOUT 20s + margin 10s"},
		{name: "no delay", giveGrace: 40 * time.Second, giveEnv: map[string]string{"IMBRIDGE_SHUTDOWN_DELAY": "0"}},
		{name: "a longer drain", giveGrace: time.Minute, giveEnv: map[string]string{"IMBRIDGE_SHUTDOWN_DELAY": "5s", "IMBRIDGE_DRAIN_TIMEOUT": "1m"},
			want: "1m0s is below 1m25s: SHUTDOWN_DELAY 5s + SHUTDOWN_TIMEOUT 10s + DRAIN_TIMEOUT 1m0s + margin 10s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ""
			if err := checkGrace(t, tt.giveGrace, tt.giveEnv); err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("checkGrace(%s) = %q, want %q", tt.giveGrace, got, tt.want)
			}
		})
	}
}

// The compose file, loaded as docker compose loads it, has the services, ports,
// volumes, healthchecks and environment that the README promises.
func TestComposeFile(t *testing.T) {
	opts, err := cli.NewProjectOptions([]string{"../../docker-compose.yml"}, cli.WithName("imbridge"), cli.WithProfiles([]string{"tools"}))
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("load docker-compose.yml: %v", err)
	}
	var names []string
	for n := range p.Services {
		names = append(names, n)
	}
	slices.Sort(names)
	if want := []string{"imbridge", "kafka", "kcat", "topics"}; !slices.Equal(names, want) {
		t.Fatalf("services %v, want %v", names, want)
	}

	im := p.Services["imbridge"]
	if im.Build == nil || im.Build.Dockerfile != "deploy/Dockerfile" {
		t.Fatalf("imbridge is not built from deploy/Dockerfile: %+v", im.Build)
	}
	var ports []string
	for _, pc := range im.Ports {
		ports = append(ports, fmt.Sprintf("%s:%s:%d", pc.HostIP, pc.Published, pc.Target))
	}
	// Loopback only: the compose file runs a placeholder token (dev mode).
	if !slices.Equal(ports, []string{"127.0.0.1:8080:8080", "127.0.0.1:9090:9090"}) {
		t.Fatalf("imbridge ports %v, want both on 127.0.0.1 only", ports)
	}
	if len(im.Volumes) != 1 || im.Volumes[0].Type != types.VolumeTypeVolume || im.Volumes[0].Source != "spool" || im.Volumes[0].Target != "/var/lib/imbridge" {
		t.Fatalf("imbridge volumes %+v, want the named volume spool at /var/lib/imbridge", im.Volumes)
	}
	if _, ok := p.Volumes["spool"]; !ok {
		t.Fatal("volume spool is not declared")
	}
	env := map[string]string{}
	for k, v := range im.Environment {
		if !knownEnv(k) {
			t.Errorf("imbridge environment sets %s, which is no setting", k)
		}
		if v != nil {
			env[k] = *v
		}
	}
	wantEnv := map[string]string{
		"IMBRIDGE_SDKAPPID": "1400000000", "IMBRIDGE_CALLBACK_TOKEN": "dev-token", "IMBRIDGE_KAFKA_BROKERS": "kafka:9092",
		"IMBRIDGE_TOPIC_BLOCKLIST_DELETE": "imbridge.blocklist", "IMBRIDGE_TOPIC_BLOCKLIST_ADD": "imbridge.blocklist",
		"IMBRIDGE_TOPIC_FRIEND_ADD": "imbridge.friend", "IMBRIDGE_TOPIC_FRIEND_DELETE": "imbridge.friend",
		"IMBRIDGE_SPOOL_DIR": "/var/lib/imbridge/spool", "IMBRIDGE_DEV_MODE": "true", "IMBRIDGE_ADMIN_LISTEN": ":9090",
		"GOMEMLIMIT": "230MiB", "IMBRIDGE_SHUTDOWN_DELAY": "0",
	}
	for k, v := range wantEnv {
		if env[k] != v {
			t.Errorf("imbridge %s = %q, want %q", k, env[k], v)
		}
	}
	if im.StopGracePeriod == nil {
		t.Error("imbridge has no stop_grace_period: Docker kills it 10s after SIGTERM, before the spool is drained")
	} else if err := checkGrace(t, time.Duration(*im.StopGracePeriod), env); err != nil {
		t.Errorf("imbridge stop_grace_period: %v", err)
	}
	if im.MemLimit != 256<<20 {
		t.Errorf("imbridge mem_limit %d, want 256m, above GOMEMLIMIT", im.MemLimit)
	}
	if hc := im.HealthCheck; hc == nil || !slices.Equal([]string(hc.Test), []string{"CMD", "/usr/local/bin/imbridge", "probe", "http://127.0.0.1:9090/readyz"}) {
		t.Fatalf("imbridge healthcheck %+v", im.HealthCheck)
	}
	if d, ok := im.DependsOn["topics"]; !ok || d.Condition != types.ServiceConditionCompletedSuccessfully {
		t.Fatalf("imbridge must wait for the topics to be created: %+v", im.DependsOn)
	}

	kafka := p.Services["kafka"]
	if kafka.HealthCheck == nil || len(kafka.HealthCheck.Test) == 0 {
		t.Fatal("kafka has no healthcheck")
	}
	if kafka.Environment["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == nil || *kafka.Environment["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] != "false" {
		t.Fatal("kafka must not create topics by itself")
	}
	topics := p.Services["topics"]
	if d, ok := topics.DependsOn["kafka"]; !ok || d.Condition != types.ServiceConditionHealthy || len(topics.Command) != 1 ||
		!strings.Contains(topics.Command[0], "for t in "+strings.Join(defaultTopics(), " ")+";") {
		t.Fatalf("topics service: %+v %v", topics.DependsOn, topics.Command)
	}
	kcat := p.Services["kcat"]
	if !slices.Equal(kcat.Profiles, []string{"tools"}) || !slices.Equal([]string(kcat.Entrypoint), []string{"kcat", "-b", "kafka:9092"}) {
		t.Fatalf("kcat service: profiles %v entrypoint %v", kcat.Profiles, kcat.Entrypoint)
	}
}

// decodeStrict decodes one YAML document into v strictly (unmarshalStrict: no unknown
// field, no field in another case, no duplicate key).
func decodeStrict(t *testing.T, doc []byte, v any) {
	t.Helper()
	if err := unmarshalStrict(doc, v); err != nil {
		t.Fatalf("%T: %v", v, err)
	}
}

// The Kubernetes manifests, the base and every overlay as kustomize builds them, decode
// strictly into the API types, and their wiring holds: ports, probes, volumes,
// environment names, grace period, security context.
func TestKubernetesManifests(t *testing.T) {
	for _, dir := range append([]string{k8sBase}, overlays(t)...) {
		t.Run(strings.TrimPrefix(dir, k8sDir+"/"), func(t *testing.T) { checkKubernetes(t, renderKustomization(t, dir)) })
	}
}

// The example overlay sets what each deployment must: an image from a registry, the
// app's SDKAppID and the brokers.
func TestKubernetesOverlayExample(t *testing.T) {
	base := renderKustomization(t, k8sBase).sts.Spec.Template.Spec.Containers[0]
	over := renderKustomization(t, k8sDir+"/overlays/example").sts.Spec.Template.Spec.Containers[0]
	if !strings.Contains(over.Image, "/") || over.Image == base.Image {
		t.Errorf("overlay image %s, want one from a registry instead of the base's %s", over.Image, base.Image)
	}
	value := func(c corev1.Container, name string) string {
		for _, e := range c.Env {
			if e.Name == name {
				return e.Value
			}
		}
		return ""
	}
	for _, name := range []string{"IMBRIDGE_SDKAPPID", "IMBRIDGE_KAFKA_BROKERS"} {
		if value(over, name) == "" || value(over, name) == value(base, name) {
			t.Errorf("overlay %s = %q, want its own value (the base has %q)", name, value(over, name), value(base, name))
		}
	}
	if len(over.Env) != len(base.Env) {
		t.Errorf("overlay has %d env entries, the base %d: a patched name does not match", len(over.Env), len(base.Env))
	}
}

func checkKubernetes(t *testing.T, m manifests) {
	sts, services, pdb, netpol := m.sts, m.services, m.pdb, m.netpol
	if sts == nil || pdb == nil || len(services) != 2 {
		t.Fatalf("want a StatefulSet, a PodDisruptionBudget and 2 Services")
	}
	pod := sts.Spec.Template
	c := pod.Spec.Containers[0]
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if ports["callback"] != 8080 || ports["admin"] != 9090 {
		t.Fatalf("container ports %v", ports)
	}
	probes := map[string]*corev1.Probe{"startup": c.StartupProbe, "liveness": c.LivenessProbe, "readiness": c.ReadinessProbe}
	wantPath := map[string]string{"startup": "/healthz", "liveness": "/healthz", "readiness": "/readyz"}
	for name, p := range probes {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != wantPath[name] || p.HTTPGet.Port.String() != "admin" {
			t.Fatalf("%s probe %+v, want GET %s on port admin", name, p, wantPath[name])
		}
	}
	env := map[string]string{}
	for _, e := range c.Env {
		if !knownEnv(e.Name) {
			t.Errorf("env %s is no setting of imbridge serve", e.Name)
		}
		env[e.Name] = e.Value
	}
	volumes := map[string]bool{}
	for _, v := range pod.Spec.Volumes {
		volumes[v.Name] = true
	}
	for _, v := range sts.Spec.VolumeClaimTemplates {
		volumes[v.Name] = true
	}
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		if !volumes[m.Name] {
			t.Errorf("volume mount %s has no volume", m.Name)
		}
		mounts[m.Name] = m.MountPath
	}
	if !strings.HasPrefix(env["IMBRIDGE_SPOOL_DIR"], mounts["spool"]+"/") {
		t.Errorf("IMBRIDGE_SPOOL_DIR %s is not on the spool volume at %s", env["IMBRIDGE_SPOOL_DIR"], mounts["spool"])
	}
	if !strings.HasPrefix(env["IMBRIDGE_CALLBACK_TOKEN_FILE"], mounts["secrets"]+"/") {
		t.Errorf("IMBRIDGE_CALLBACK_TOKEN_FILE %s is not on the secrets volume", env["IMBRIDGE_CALLBACK_TOKEN_FILE"])
	}
	// The delay is what keeps a rolling update from refusing callbacks: it is set
	// where a reader of the manifest sees it, and it is not 0.
	if d, err := time.ParseDuration(env["IMBRIDGE_SHUTDOWN_DELAY"]); err != nil || d <= 0 {
		t.Errorf("IMBRIDGE_SHUTDOWN_DELAY %q: want it set, above 0, so that callbacks are served until the endpoint removal has spread", env["IMBRIDGE_SHUTDOWN_DELAY"])
	}
	if c.Lifecycle != nil && c.Lifecycle.PreStop != nil {
		t.Error("a preStop hook: the process waits itself (IMBRIDGE_SHUTDOWN_DELAY), failing /readyz meanwhile; a hook would hold SIGTERM back with /readyz still 200, and its time would have to join the grace period")
	}
	if pod.Spec.TerminationGracePeriodSeconds == nil {
		t.Error("no terminationGracePeriodSeconds: the default 30s kills the pod before the spool is drained")
	} else if err := checkGrace(t, time.Duration(*pod.Spec.TerminationGracePeriodSeconds)*time.Second, env); err != nil {
		t.Errorf("terminationGracePeriodSeconds: %v", err)
	}
	sc, psc := c.SecurityContext, pod.Spec.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("security context: pod %+v container %+v", psc, sc)
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() {
		t.Error("resource requests missing")
	}
	if pod.Annotations["prometheus.io/scrape"] != "true" || pod.Annotations["prometheus.io/port"] != "9090" {
		t.Errorf("scrape annotations %v", pod.Annotations)
	}
	labels := pod.Labels
	matches := func(sel map[string]string) bool {
		for k, v := range sel {
			if labels[k] != v {
				return false
			}
		}
		return len(sel) > 0
	}
	if !matches(sts.Spec.Selector.MatchLabels) || !matches(pdb.Spec.Selector.MatchLabels) {
		t.Error("a selector does not match the pod's labels")
	}
	for _, s := range services {
		if !matches(s.Spec.Selector) {
			t.Errorf("service %s does not select the pods", s.Name)
		}
		for _, p := range s.Spec.Ports {
			if _, ok := ports[p.TargetPort.String()]; !ok {
				t.Errorf("service %s targets port %s, which the container lacks", s.Name, p.TargetPort.String())
			}
		}
	}
	if sts.Spec.ServiceName != "imbridge-headless" {
		t.Errorf("serviceName %s", sts.Spec.ServiceName)
	}
	_, tag, _ := strings.Cut(c.Image, ":")
	checkHardening(t, tag, pod.Spec, c, netpol)
}
