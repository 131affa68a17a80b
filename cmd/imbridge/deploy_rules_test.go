package main

import (
	"bytes"
	"encoding/json"
	"os"
	"regexp"
	"testing"

	"sigs.k8s.io/yaml"
)

// The PrometheusRules of the kustomize component and of the chart are the alert rules
// of deploy/prometheus (which promtool tests), as they are: the chart's copy of the file
// is byte for byte the same, and both render the same groups, labelled for the
// Prometheus that selects them.
func TestPrometheusRulesAreTheTestedRules(t *testing.T) {
	tested, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	chartCopy, err := os.ReadFile("../../deploy/helm/imbridge/files/imbridge.rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(tested, chartCopy) {
		t.Errorf("deploy/helm/imbridge/files/imbridge.rules.yaml differs from %s: copy it (cp %s deploy/helm/imbridge/files/)", rulesFile, rulesFile)
	}
	var file map[string]any
	if err := yaml.Unmarshal(tested, &file); err != nil {
		t.Fatal(err)
	}
	want, err := json.Marshal(file["groups"])
	if err != nil {
		t.Fatal(err)
	}

	raw, err := kustomizeBuild(t, k8sDir+"/overlays/example-monitoring")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := decodeObjects(raw)
	if err != nil {
		t.Fatal(err)
	}
	for name, m := range map[string]manifests{
		"overlays/example-monitoring": sortObjects(t, objs),
		"the chart":                   renderChart(t, chartAllOptions...),
	} {
		if len(m.rules) != 1 || len(m.monitors) != 1 {
			t.Fatalf("%s renders %d PrometheusRules and %d ServiceMonitors, want one each", name, len(m.rules), len(m.monitors))
		}
		r := m.rules[0]
		got, err := json.Marshal(r.Spec.Groups)
		if err != nil {
			t.Fatal(err)
		}
		if !jsonEqual(t, got, want) {
			t.Errorf("%s: the PrometheusRule's groups are not those of %s:\n%s", name, rulesFile, got)
		}
		if r.Labels["release"] != "prometheus" || m.monitors[0].Labels["release"] != "prometheus" {
			t.Errorf("%s: labels %v and %v, want release: prometheus on both", name, r.Labels, m.monitors[0].Labels)
		}
	}
}

// jsonEqual reports whether two JSON documents hold the same values.
func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}

// ImbridgeDown watches up{job="imbridge"}: both ServiceMonitors set the scrape's job to
// what the rule names (the Prometheus Operator would otherwise take the Service's name,
// imbridge-headless, and the alert would never fire).
func TestServiceMonitorJobIsTheRulesJob(t *testing.T) {
	rules := readRules(t, rulesFile)
	job := ""
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Alert == "ImbridgeDown" {
				if m := regexp.MustCompile(`up\{job="([^"]+)"\}`).FindStringSubmatch(r.Expr); m != nil {
					job = m[1]
				}
			}
		}
	}
	if job == "" {
		t.Fatal("ImbridgeDown names no up{job=...}")
	}
	raw, err := kustomizeBuild(t, k8sDir+"/overlays/example-monitoring")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := decodeObjects(raw)
	if err != nil {
		t.Fatal(err)
	}
	for name, m := range map[string]manifests{
		"overlays/example-monitoring": sortObjects(t, objs),
		"the chart":                   renderChart(t, chartAllOptions...),
	} {
		got := ""
		for _, e := range m.monitors[0].Spec.Endpoints {
			for _, r := range e.Relabelings {
				if r.TargetLabel == "job" && len(r.SourceLabels) == 0 && (r.Action == "" || r.Action == "replace") && r.Replacement != nil {
					got = *r.Replacement
				}
			}
		}
		if got != job {
			t.Errorf("%s: the ServiceMonitor sets job to %q, ImbridgeDown watches job %q", name, got, job)
		}
	}
}
