package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// The alert rules and their unit tests, run by the real promtool at the version that
// deploy/prometheus/tools/go.mod pins (`make prometheus-tools` builds it).

const (
	rulesFile     = "../../deploy/prometheus/imbridge.rules.yaml"
	rulesTestFile = "../../deploy/prometheus/imbridge.rules.test.yaml"
	toolsGoMod    = "../../deploy/prometheus/tools/go.mod"
	prometheusMod = "github.com/prometheus/prometheus"
)

// prometheusTool returns the path of name (promtool or promqlnames) in GOPATH/bin,
// built from the Prometheus module at the version deploy/prometheus/tools/go.mod pins.
func prometheusTool(t *testing.T, name string) string {
	t.Helper()
	return pinnedTool(t, name, toolsGoMod, prometheusMod, "prometheus-tools")
}

// runTool runs a tool and returns its combined output and exit code.
func runTool(t *testing.T, stdin []byte, name string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(name, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return string(out), ee.ExitCode()
		}
		t.Fatalf("%s: %v", name, err)
	}
	return string(out), 0
}

// ruleGroups is the part of a Prometheus rules file the tests read.
type ruleGroups struct {
	Groups []struct {
		Name  string `json:"name"`
		Rules []struct {
			Alert  string `json:"alert"`
			Record string `json:"record"`
			Expr   string `json:"expr"`
		} `json:"rules"`
	} `json:"groups"`
}

func readRules(t *testing.T, path string) ruleGroups {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rg ruleGroups
	if err := yaml.Unmarshal(b, &rg); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rg
}

// TestAlertRules runs `promtool check rules` and `promtool test rules` on the alert
// rules, and checks that the unit tests hold every alert both firing and silent.
func TestAlertRules(t *testing.T) {
	promtool := prometheusTool(t, "promtool")
	if out, code := runTool(t, nil, promtool, "check", "rules", rulesFile); code != 0 || !strings.Contains(out, "SUCCESS") {
		t.Fatalf("promtool check rules: exit %d\n%s", code, out)
	}
	if out, code := runTool(t, nil, promtool, "test", "rules", rulesTestFile); code != 0 || !strings.Contains(out, "SUCCESS") {
		t.Fatalf("promtool test rules: exit %d\n%s", code, out)
	}

	var alerts []string
	for _, g := range readRules(t, rulesFile).Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				t.Errorf("group %s: a rule without alert (%q): this file holds alerts only", g.Name, r.Record)
			}
			alerts = append(alerts, r.Alert)
		}
	}
	b, err := os.ReadFile(rulesTestFile)
	if err != nil {
		t.Fatal(err)
	}
	var tests struct {
		Tests []struct {
			AlertRuleTest []struct {
				AlertName string            `json:"alertname"`
				ExpAlerts []json.RawMessage `json:"exp_alerts"`
			} `json:"alert_rule_test"`
		} `json:"tests"`
	}
	if err := yaml.Unmarshal(b, &tests); err != nil {
		t.Fatalf("%s: %v", rulesTestFile, err)
	}
	fires, silent := map[string]bool{}, map[string]bool{}
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			if !slices.Contains(alerts, a.AlertName) {
				t.Errorf("%s tests alert %q, which %s does not define", rulesTestFile, a.AlertName, rulesFile)
			}
			if len(a.ExpAlerts) > 0 {
				fires[a.AlertName] = true
			} else {
				silent[a.AlertName] = true
			}
		}
	}
	for _, a := range alerts {
		if !fires[a] || !silent[a] {
			t.Errorf("alert %s: the unit tests must show it firing (%v) and silent (%v)", a, fires[a], silent[a])
		}
	}
	if len(alerts) < 6 {
		t.Fatalf("%d alerts in %s, want at least the six of the README", len(alerts), rulesFile)
	}
}
