package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/kafka/kafkatest"
)

// The Grafana dashboard and the alert rules read only metrics that a running imbridge
// exports: a renamed metric fails TestDashboardMetrics.

const dashboardFile = "../../deploy/grafana/imbridge.json"

// prometheusSeries are the series that Prometheus itself writes for every scrape of
// imbridge's /metrics; the rules and the dashboard may read them too.
var prometheusSeries = []string{"up"}

// clusterOnly are imbridge's metric families that one broker cannot make appear on
// /metrics, with why; the test finds their names in the binary instead (TestFailover
// counts leader changes on a three-node cluster).
var clusterOnly = map[string]string{
	"imbridge_kafka_leader_changes_total": "a partition leader must move to another broker",
}

// dashboard is the part of a Grafana dashboard the test reads.
type dashboard struct {
	UID        string `json:"uid"`
	Title      string `json:"title"`
	Templating struct {
		List []struct {
			Name  string          `json:"name"`
			Type  string          `json:"type"`
			Query json.RawMessage `json:"query"`
		} `json:"list"`
	} `json:"templating"`
	Panels []struct {
		ID         int             `json:"id"`
		Type       string          `json:"type"`
		Title      string          `json:"title"`
		Datasource json.RawMessage `json:"datasource"`
		Targets    []struct {
			Expr       string          `json:"expr"`
			Datasource json.RawMessage `json:"datasource"`
		} `json:"targets"`
	} `json:"panels"`
}

// grafanaVars are the dashboard's built-in variables and what stands in for them when
// the expressions are parsed ($job and $instance sit inside label matchers' strings).
var grafanaVars = strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h")

// labelValues is a query variable's label_values(SELECTOR, LABEL).
var labelValues = regexp.MustCompile(`^label_values\((.+),\s*\w+\)$`)

// dashboardExprs checks the dashboard's shape for an import as is (a Prometheus data
// source variable that every panel and query uses, unique panel IDs) and returns its
// expressions with where each one sits.
func dashboardExprs(t *testing.T) (exprs, where []string) {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	if d.UID == "" || d.Title == "" {
		t.Errorf("%s: uid %q, title %q: an import needs both", dashboardFile, d.UID, d.Title)
	}
	const ds = `{"type": "prometheus", "uid": "${datasource}"}`
	isDS := func(raw json.RawMessage) bool {
		var v struct{ Type, UID string }
		return json.Unmarshal(raw, &v) == nil && v.Type == "prometheus" && v.UID == "${datasource}"
	}
	hasDSVar := false
	for _, v := range d.Templating.List {
		switch v.Type {
		case "datasource":
			hasDSVar = v.Name == "datasource" && string(v.Query) == `"prometheus"`
		case "query":
			var q struct{ Query string }
			if err := json.Unmarshal(v.Query, &q); err != nil {
				t.Fatalf("variable %s: query: %v", v.Name, err)
			}
			m := labelValues.FindStringSubmatch(q.Query)
			if m == nil {
				t.Fatalf("variable %s: query %q is not label_values(SELECTOR, LABEL)", v.Name, q.Query)
			}
			exprs, where = append(exprs, m[1]), append(where, "variable "+v.Name)
		}
	}
	if !hasDSVar {
		t.Errorf("%s: no variable named datasource of type datasource for prometheus", dashboardFile)
	}
	ids := map[int]bool{}
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel %q: id %d used twice", p.Title, p.ID)
		}
		ids[p.ID] = true
		if p.Type == "row" {
			continue
		}
		if !isDS(p.Datasource) || len(p.Targets) == 0 {
			t.Errorf("panel %q: datasource %s and %d queries, want %s and at least one", p.Title, p.Datasource, len(p.Targets), ds)
		}
		for _, tg := range p.Targets {
			if !isDS(tg.Datasource) || tg.Expr == "" {
				t.Errorf("panel %q: a query with datasource %s and expr %q", p.Title, tg.Datasource, tg.Expr)
			}
			exprs, where = append(exprs, grafanaVars.Replace(tg.Expr)), append(where, "panel "+p.Title)
		}
	}
	return exprs, where
}

// exportedSeries starts imbridge in spool mode, makes it count each kind of thing it
// counts (a callback published, one refused for its signature, one quarantined, an event
// for a missing topic failed and dead-lettered) and returns the series names on its
// /metrics, each mapped to its family's name.
func exportedSeries(t *testing.T) map[string]string {
	t.Helper()
	brokers := kafkatest.Brokers(t)
	blocklist := kafkatest.CreateTopic(t, brokers, "dash-blocklist", 1)
	quarantine := kafkatest.CreateTopicWithLimit(t, brokers, "dash-quarantine", 1, bridge.QuarantineMaxMessageBytes)
	dlq := kafkatest.CreateTopic(t, brokers, "dash-dlq", 1)
	missing := "imbridge-test-dash-missing-" + strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "")
	p := startBridge(t, "IMBRIDGE_KAFKA_BROKERS="+strings.Join(brokers, ","), "IMBRIDGE_DELIVERY=spool",
		"IMBRIDGE_ROUTES=blocklist-delete,friend-add", "IMBRIDGE_TOPIC_BLOCKLIST_DELETE="+blocklist, "IMBRIDGE_TOPIC_FRIEND_ADD="+missing,
		"IMBRIDGE_TOPIC_QUARANTINE="+quarantine, "IMBRIDGE_DLQ_TOPIC="+dlq, "IMBRIDGE_DLQ_AFTER_ATTEMPTS=2",
		"IMBRIDGE_KAFKA_RETRY_BACKOFF_MAX=100ms", "IMBRIDGE_KAFKA_UNKNOWN_TOPIC_TIMEOUT=1s")
	now := time.Now()
	for _, c := range []struct{ url, body string }{
		{p.signedURL(bridge.CommandBlackListDelete, e2eToken, now), seedBody},
		{p.signedURL(bridge.CommandBlackListDelete, "wrong", now), seedBody},
		{p.signedURL(bridge.CommandBlackListDelete, e2eToken, now), "PairList=a,b"},
		{p.signedURL(bridge.CommandFriendAdd, e2eToken, now), friendAddBody("u1", "friend_add")},
	} {
		resp, err := http.Post(c.url, "application/json", strings.NewReader(c.body)) // post() refuses the quarantined body
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	var body string
	waitUntil(t, "an event published, one failed and dead-lettered, one callback quarantined", 60*time.Second, func() bool {
		body = get(t, p.adminURL+"/metrics")
		return metricValue(body, `imbridge_events_published_total{topic="`+blocklist+`"}`) == "3" &&
			metricValue(body, `imbridge_events_dead_lettered_total`) == "1" &&
			metricValue(body, `imbridge_events_failed_total{topic="`+missing+`"}`) != "" &&
			metricValue(body, `imbridge_callbacks_quarantined_total{kind="bad_request"}`) == "1"
	})

	series := map[string]string{}
	for _, line := range strings.Split(body, "\n") {
		f := strings.Fields(line)
		if len(f) != 4 || f[0] != "#" || f[1] != "TYPE" {
			continue
		}
		name, kind := f[2], f[3]
		switch kind {
		case "histogram":
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				series[name+s] = name
			}
		case "summary":
			for _, s := range []string{"", "_sum", "_count"} {
				series[name+s] = name
			}
		default:
			series[name] = name
		}
	}
	bin, err := os.ReadFile(binary(t))
	if err != nil {
		t.Fatal(err)
	}
	for name, why := range clusterOnly {
		if _, ok := series[name]; ok {
			continue
		}
		if !bytes.Contains(bin, []byte(name)) {
			t.Fatalf("%s is not on /metrics (%s) and not in the binary: renamed?", name, why)
		}
		series[name] = name
	}
	for _, s := range prometheusSeries {
		series[s] = ""
	}
	return series
}

// TestDashboardMetrics parses every PromQL expression of the dashboard and of the alert
// rules with the pinned Prometheus's parser, checks that each names only series that a
// running imbridge exports, and that the dashboard shows every imbridge_ metric family.
func TestDashboardMetrics(t *testing.T) {
	promqlnames := prometheusTool(t, "promqlnames")
	exprs, where := dashboardExprs(t)
	for _, g := range readRules(t, rulesFile).Groups {
		for _, r := range g.Rules {
			exprs, where = append(exprs, r.Expr), append(where, "alert "+r.Alert)
		}
	}
	in, err := json.Marshal(exprs)
	if err != nil {
		t.Fatal(err)
	}
	out, code := runTool(t, in, promqlnames)
	var parsed []struct {
		Expr    string   `json:"expr"`
		Metrics []string `json:"metrics"`
		Error   string   `json:"error"`
	}
	if err := json.Unmarshal([]byte(out), &parsed); err != nil || len(parsed) != len(exprs) {
		t.Fatalf("promqlnames: exit %d, %d results for %d expressions (%v):\n%s", code, len(parsed), len(exprs), err, out)
	}
	for i, r := range parsed {
		if r.Error != "" {
			t.Errorf("%s: %s\n  %s", where[i], r.Error, r.Expr)
		}
	}
	if code != 0 || t.Failed() {
		t.Fatalf("promqlnames exited %d", code)
	}

	series := exportedSeries(t)
	shown := map[string]bool{}
	for i, r := range parsed {
		for _, m := range r.Metrics {
			family, ok := series[m]
			if !ok {
				t.Errorf("%s reads %s, which imbridge does not export\n  %s", where[i], m, r.Expr)
			}
			if strings.HasPrefix(where[i], "panel ") {
				shown[family] = true
			}
		}
	}
	var families []string
	for _, f := range series {
		if strings.HasPrefix(f, "imbridge_") && !slices.Contains(families, f) {
			families = append(families, f)
		}
	}
	slices.Sort(families)
	for _, f := range families {
		if !shown[f] {
			t.Errorf("imbridge exports %s, which no panel of %s shows", f, dashboardFile)
		}
	}
	if len(families) < 15 {
		t.Fatalf("%d imbridge_ metric families on /metrics, want every one (%v)", len(families), families)
	}
	t.Logf("%d expressions parsed (%d of the dashboard), %d imbridge_ families on the dashboard", len(exprs), len(exprs)-countAlerts(where), len(families))
}

func countAlerts(where []string) int {
	n := 0
	for _, w := range where {
		if strings.HasPrefix(w, "alert ") {
			n++
		}
	}
	return n
}
