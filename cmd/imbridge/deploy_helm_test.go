package main

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// chartAllOptions switches on every optional part of the chart.
var chartAllOptions = []string{
	"secret.create=true", "secret.callbackToken=a-token-of-more-than-16-characters", "secret.kafkaSaslPassword=secret",
	"serviceMonitor.enabled=true", "serviceMonitor.labels.release=prometheus",
	"prometheusRule.enabled=true", "prometheusRule.labels.release=prometheus",
	"ingress.enabled=true", "ingress.className=nginx", "ingress.host=imbridge.example.com",
	"topics.create=true",
	"networkPolicy.kafkaPeers[0].namespaceSelector.matchLabels.kubernetes\\.io/metadata\\.name=kafka",
	"extraEnv[0].name=IMBRIDGE_ROUTES", "extraEnv[0].value=all",
	"extraVolumes[0].name=kafka-ca", "extraVolumes[0].secret.secretName=kafka-ca",
	"extraVolumeMounts[0].name=kafka-ca", "extraVolumeMounts[0].mountPath=/etc/imbridge/kafka-ca", "extraVolumeMounts[0].readOnly=true",
}

// helm lint --strict passes with the default values and with every option on.
func TestHelmChartLints(t *testing.T) {
	for name, set := range map[string][]string{"defaults": nil, "every option": chartAllOptions} {
		t.Run(name, func(t *testing.T) {
			args := []string{"lint", "--strict", chartDir}
			for _, s := range set {
				args = append(args, "--set", s)
			}
			if out, err := runHelm(t, args...); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
		})
	}
}

// The chart rendered by helm template decodes strictly into the API types and passes the
// kustomize base's checks (ports, probes, volumes, environment, grace period, security
// context, hardening), with the default values and with every option on; the optional
// objects appear when they are asked for, wired to the rest.
func TestHelmChartRenders(t *testing.T) {
	def := renderChart(t)
	checkKubernetes(t, def)
	if len(def.secrets)+len(def.ingresses)+len(def.monitors)+len(def.rules)+len(def.jobs) != 0 {
		t.Errorf("the default values render %d Secrets, %d Ingresses, %d ServiceMonitors, %d PrometheusRules, %d Jobs; want none",
			len(def.secrets), len(def.ingresses), len(def.monitors), len(def.rules), len(def.jobs))
	}
	if got := secretVolume(t, def.sts); got != "imbridge" {
		t.Errorf("the default values mount Secret %s, want imbridge (the base's, created by hand)", got)
	}

	all := renderChart(t, chartAllOptions...)
	checkKubernetes(t, all)
	if len(all.secrets) != 1 || len(all.ingresses) != 1 || len(all.monitors) != 1 || len(all.jobs) != 1 {
		t.Fatalf("every option renders %d Secrets, %d Ingresses, %d ServiceMonitors, %d Jobs; want one each",
			len(all.secrets), len(all.ingresses), len(all.monitors), len(all.jobs))
	}
	sec := all.secrets[0]
	if secretVolume(t, all.sts) != sec.Name || string(sec.Data["callback-token"]) != "a-token-of-more-than-16-characters" ||
		string(sec.Data["kafka-sasl-password"]) != "secret" {
		t.Errorf("Secret %s %v is not the one mounted (%s)", sec.Name, slices.Collect(maps.Keys(sec.Data)), secretVolume(t, all.sts))
	}
	env := map[string]string{}
	for _, e := range all.sts.Spec.Template.Spec.Containers[0].Env {
		env[e.Name] = e.Value
	}
	if env["IMBRIDGE_KAFKA_SASL_PASSWORD_FILE"] != "/etc/imbridge/secrets/kafka-sasl-password" || env["IMBRIDGE_ROUTES"] != "all" {
		t.Errorf("with the SASL password and extraEnv: %v", env)
	}
	if c := all.sts.Spec.Template.Spec.Containers[0]; !slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.Name == "kafka-ca" }) ||
		!slices.ContainsFunc(all.sts.Spec.Template.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == "kafka-ca" && v.Secret != nil }) {
		t.Error("extraVolumes and extraVolumeMounts are not rendered")
	}
	if all.sts.Spec.Template.Annotations["checksum/secret"] == "" {
		t.Error("a generated Secret does not roll the pods when it changes (checksum/secret)")
	}

	// The Ingress ends TLS for the callback path alone, in front of the callback Service.
	ing := all.ingresses[0]
	if len(ing.Spec.TLS) != 1 || ing.Spec.TLS[0].SecretName != "imbridge-tls" || !slices.Equal(ing.Spec.TLS[0].Hosts, []string{"imbridge.example.com"}) {
		t.Errorf("ingress TLS %+v", ing.Spec.TLS)
	}
	if ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName != "nginx" || len(ing.Spec.Rules) != 1 {
		t.Fatalf("ingress %+v", ing.Spec)
	}
	paths := ing.Spec.Rules[0].HTTP.Paths
	if len(paths) != 1 || paths[0].Path != "/callback" || paths[0].PathType == nil || *paths[0].PathType != networkingv1.PathTypeExact {
		t.Fatalf("ingress paths %+v, want /callback alone", paths)
	}
	backend := paths[0].Backend.Service
	if !slices.ContainsFunc(all.services, func(s *corev1.Service) bool {
		return s.Name == backend.Name && slices.ContainsFunc(s.Spec.Ports, func(p corev1.ServicePort) bool {
			return p.Name == backend.Port.Name && p.TargetPort.String() == "callback"
		})
	}) {
		t.Errorf("ingress backend %+v is no callback port of a Service", backend)
	}

	// The ServiceMonitor scrapes /metrics on the admin port of the Service that has one.
	sm := all.monitors[0]
	if sm.Labels["release"] != "prometheus" || len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != "admin" || sm.Spec.Endpoints[0].Path != "/metrics" {
		t.Errorf("ServiceMonitor %+v", sm)
	}
	if !slices.ContainsFunc(all.services, func(s *corev1.Service) bool {
		return selects(sm.Spec.Selector.MatchLabels, s.Labels) && slices.ContainsFunc(s.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == "admin" })
	}) {
		t.Error("the ServiceMonitor selects no Service with an admin port")
	}
	if peers := all.netpol.Spec.Egress[1].To; len(peers) != 1 || peers[0].NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] != "kafka" {
		t.Errorf("networkPolicy.kafkaPeers: egress %+v", all.netpol.Spec.Egress)
	}
}

func secretVolume(t *testing.T, sts *appsv1.StatefulSet) string {
	t.Helper()
	for _, v := range sts.Spec.Template.Spec.Volumes {
		if v.Name == "secrets" && v.Secret != nil {
			return v.Secret.SecretName
		}
	}
	t.Fatal("no secrets volume")
	return ""
}

// Values the chart cannot deploy are refused with a message that says what to do: a
// misspelled key (values.schema.json), a value of the wrong type, the memory limit
// missing, GOMEMLIMIT or a setting the chart makes, the latest tag, a generated Secret
// without its token.
func TestHelmChartRefusesMistakes(t *testing.T) {
	for _, tt := range []struct{ set, want string }{
		{set: "replicas=3", want: "additional properties 'replicas' not allowed"},
		{set: "config.shutdownDelay=10", want: "/config/shutdownDelay': got number, want string"},
		{set: "config.drainTimeout=20 seconds", want: "/config/drainTimeout"},
		{set: "resources.limits=null", want: "missing property 'limits'"},
		{set: "env.GOMEMLIMIT=1GiB", want: "GOMEMLIMIT follows from resources.limits.memory"},
		{set: "env.IMBRIDGE_KAFKA_BROKERS=x:9092", want: "env.IMBRIDGE_KAFKA_BROKERS: the chart sets it"},
		{set: "image.tag=latest", want: "pin a version or a digest"},
		{set: "secret.create=true", want: "secret.callbackToken is required"},
		{set: "ingress.tls.enabld=true", want: "additional properties 'enabld' not allowed"},
	} {
		t.Run(tt.set, func(t *testing.T) {
			_, err := helmTemplate(t, tt.set)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("--set %s: %v, want an error with %q", tt.set, err, tt.want)
			}
		})
	}
}

// workload is what the chart and the kustomize base must agree on: the StatefulSet's
// pod (containers with their environment, probes, resources and security context;
// volumes and volume claim templates; spread, grace period, annotations), the Services'
// ports, the PodDisruptionBudget and the NetworkPolicy. Labels are left out, and the
// chart's instance label is taken out of its selectors (the base has one name label).
type workload struct {
	Replicas            *int32
	ServiceName         string
	PodManagementPolicy appsv1.PodManagementPolicyType
	PodAnnotations      map[string]string
	Pod                 corev1.PodSpec
	ClaimNames          []string
	Claims              []corev1.PersistentVolumeClaimSpec
	Services            map[string]corev1.ServiceSpec
	PDB                 policyv1.PodDisruptionBudgetSpec
	NetworkPolicy       networkingv1.NetworkPolicySpec
}

func workloadOf(m manifests) workload {
	strip := func(sel map[string]string) map[string]string {
		out := maps.Clone(sel)
		delete(out, "app.kubernetes.io/instance")
		return out
	}
	stripSelector := func(sel *metav1.LabelSelector) *metav1.LabelSelector {
		if sel == nil {
			return nil
		}
		sel = sel.DeepCopy()
		sel.MatchLabels = strip(sel.MatchLabels)
		return sel
	}
	sts := m.sts.DeepCopy()
	w := workload{Replicas: sts.Spec.Replicas, ServiceName: sts.Spec.ServiceName, PodManagementPolicy: sts.Spec.PodManagementPolicy,
		PodAnnotations: sts.Spec.Template.Annotations, Pod: sts.Spec.Template.Spec, Services: map[string]corev1.ServiceSpec{}}
	for i := range w.Pod.TopologySpreadConstraints {
		w.Pod.TopologySpreadConstraints[i].LabelSelector = stripSelector(w.Pod.TopologySpreadConstraints[i].LabelSelector)
	}
	// An environment is a set: the chart writes env's names in order.
	byName := func(a, b corev1.EnvVar) int { return strings.Compare(a.Name, b.Name) }
	for i := range w.Pod.InitContainers {
		slices.SortFunc(w.Pod.InitContainers[i].Env, byName)
	}
	for i := range w.Pod.Containers {
		slices.SortFunc(w.Pod.Containers[i].Env, byName)
	}
	for _, c := range sts.Spec.VolumeClaimTemplates {
		w.ClaimNames = append(w.ClaimNames, c.Name)
		w.Claims = append(w.Claims, c.Spec)
	}
	for _, s := range m.services {
		spec := *s.Spec.DeepCopy()
		spec.Selector = strip(spec.Selector)
		w.Services[s.Name] = spec
	}
	if m.pdb != nil {
		w.PDB = *m.pdb.Spec.DeepCopy()
		w.PDB.Selector = stripSelector(w.PDB.Selector)
	}
	if m.netpol != nil {
		w.NetworkPolicy = *m.netpol.Spec.DeepCopy()
		w.NetworkPolicy.PodSelector = *stripSelector(&w.NetworkPolicy.PodSelector)
	}
	return w
}

// workloadDiff returns how the chart's workload differs from the base's; empty when
// they are the same.
func workloadDiff(base, chart manifests) string {
	return cmp.Diff(workloadOf(base), workloadOf(chart), cmp.Comparer(func(a, b resource.Quantity) bool { return a.Cmp(b) == 0 }))
}

// The chart with its default values (release imbridge) and the kustomize base render the
// same workload, so that neither can change without the other; the comparison finds a
// change made to either alone.
func TestHelmChartMatchesKustomizeBase(t *testing.T) {
	base := renderKustomization(t, k8sBase)
	if d := workloadDiff(base, renderChart(t)); d != "" {
		t.Fatalf("deploy/helm/imbridge with its default values differs from deploy/k8s/base (-base +chart):\n%s", d)
	}

	// Changed on one side alone: a value of the chart...
	for _, set := range []string{"replicaCount=3", "resources.limits.memory=512Mi", "config.shutdownDelay=5s", "env.IMBRIDGE_TOPIC_FRIEND_ADD=friends",
		"spool.size=20Gi", "networkPolicy.monitoringNamespace=prometheus", "podDisruptionBudget.maxUnavailable=2", "service.port=8080"} {
		if workloadDiff(base, renderChart(t, set)) == "" {
			t.Errorf("--set %s: the comparison sees no difference", set)
		}
	}
	// ...or a line of the base.
	for _, change := range []struct{ file, old, new string }{
		{"statefulset.yaml", "periodSeconds: 5\n", "periodSeconds: 6\n"},
		{"statefulset.yaml", "path: /healthz", "path: /livez"},
		{"statefulset.yaml", "mountPath: /etc/imbridge/secrets", "mountPath: /etc/imbridge/secret"},
		{"statefulset.yaml", "defaultMode: 0400", "defaultMode: 0440"},
		{"statefulset.yaml", "value: 20s", "value: 25s"},
		{"networkpolicy.yaml", "port: 9093", "port: 9094"},
	} {
		dir := t.TempDir()
		entries, err := os.ReadDir(k8sBase)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			raw, err := os.ReadFile(filepath.Join(k8sBase, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if e.Name() == change.file {
				if !bytes.Contains(raw, []byte(change.old)) {
					t.Fatalf("%s has no %q", change.file, change.old)
				}
				raw = bytes.Replace(raw, []byte(change.old), []byte(change.new), 1)
			}
			if err := os.WriteFile(filepath.Join(dir, e.Name()), raw, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if workloadDiff(renderKustomization(t, dir), renderChart(t)) == "" {
			t.Errorf("the base's %s with %q for %q: the comparison sees no difference", change.file, change.new, change.old)
		}
	}
}

// The README's values file and install command render as written: the chart with them
// passes the same checks, with the image, SDKAppID, brokers, Secret, topic Job and
// Ingress they ask for.
func TestHelmChartREADMEValues(t *testing.T) {
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```yaml\n(# my-values.yaml\n.*?)```").FindSubmatch(raw)
	if m == nil {
		t.Fatal("README: no my-values.yaml block")
	}
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/my-values.yaml", m[1], 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir+"/token", []byte("a-token-from-chats-console-of-32-chars\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(raw, []byte("helm install imbridge deploy/helm/imbridge -n imbridge --create-namespace -f my-values.yaml \\\n  --set-file secret.callbackToken=PATH")) {
		t.Fatal("README: the helm install command is not the one this test renders")
	}
	out, err := runHelm(t, "template", "imbridge", chartDir, "-n", "imbridge", "-f", dir+"/my-values.yaml", "--set-file", "secret.callbackToken="+dir+"/token")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := decodeObjects(out)
	if err != nil {
		t.Fatal(err)
	}
	r := sortObjects(t, objs)
	checkKubernetes(t, r)
	checkTopicJob(t, r)
	env := envValues(r.sts.Spec.Template.Spec.Containers[0])
	if c := r.sts.Spec.Template.Spec.Containers[0]; c.Image != "registry.example.com/team/imbridge:0.1.0" || env["IMBRIDGE_SDKAPPID"] != "1400187352" ||
		env["IMBRIDGE_KAFKA_BROKERS"] != "kafka-0.kafka:9092,kafka-1.kafka:9092,kafka-2.kafka:9092" {
		t.Errorf("image %s, env %v", c.Image, env)
	}
	if len(r.secrets) != 1 || string(r.secrets[0].Data["callback-token"]) != "a-token-from-chats-console-of-32-chars" || len(r.ingresses) != 1 {
		t.Errorf("%d Secrets (the token trimmed of its newline), %d Ingresses", len(r.secrets), len(r.ingresses))
	}
}
