package main

import (
	"context"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	appsv1 "k8s.io/api/apps/v1"

	"github.com/imbridge/imbridge/bridge"
)

// defaultTopics are the distinct default topics of the routes and the unrouted topic,
// sorted: created alike (the quarantine topic, created with a larger
// max.message.bytes, is apart).
func defaultTopics() []string {
	ts := []string{bridge.TopicUnrouted}
	for _, r := range bridge.DefaultRoutes {
		ts = append(ts, r.Topic)
	}
	slices.Sort(ts)
	return slices.Compact(ts)
}

// quarantineTopicSpec is how kafka.sh and cluster.sh name the quarantine topic: with
// a max.message.bytes that holds a body of the default limit and its headers.
var quarantineTopicSpec = bridge.TopicQuarantine + ":6:max.message.bytes=" + strconv.Itoa(bridge.QuarantineMaxMessageBytes)

// The topics serve publishes to by default are the ones make dev (deploy/kafka/kafka.sh),
// the development cluster (cluster.sh) and compose create, and the ones compose and
// Kubernetes configure: one per relationship, each shared by its additions and removals,
// one per area, the unrouted topic, and the quarantine topic with room for a whole body.
func TestDefaultTopicsEverywhere(t *testing.T) {
	want := defaultTopics()
	for _, relationship := range []string{"imbridge.blocklist", "imbridge.friend", "imbridge.follow"} {
		if !slices.Contains(want, relationship) {
			t.Fatalf("default topics %v: no %s for a relationship's additions and removals", want, relationship)
		}
	}
	effective := func(where string, env map[string]string) {
		t.Helper()
		for _, r := range bridge.DefaultRoutes {
			name := "IMBRIDGE_TOPIC_" + strings.ToUpper(strings.ReplaceAll(r.Name, "-", "_"))
			if v, ok := env[name]; ok && v != r.Topic {
				t.Errorf("%s sets %s=%s, not the default %s", where, name, v, r.Topic)
			}
		}
	}

	for script, variable := range map[string]string{"kafka.sh": "KAFKA_LOCAL_TOPICS", "cluster.sh": "KAFKA_CLUSTER_TOPICS"} {
		raw, err := os.ReadFile("../../deploy/kafka/" + script)
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(`(?m)^topics=\$\{` + variable + `-([^}]*)\}$`).FindSubmatch(raw)
		if m == nil {
			t.Fatalf("deploy/kafka/%s: no default topics line", script)
		}
		var local []string
		quarantine := false
		for _, f := range strings.Fields(string(m[1])) {
			if f == quarantineTopicSpec {
				quarantine = true
				continue
			}
			name, _, _ := strings.Cut(f, ":")
			local = append(local, name)
		}
		if !quarantine {
			t.Errorf("deploy/kafka/%s does not create %s by default", script, quarantineTopicSpec)
		}
		if slices.Sort(local); !slices.Equal(local, want) {
			t.Errorf("deploy/kafka/%s creates %v by default, want %v", script, local, want)
		}
	}

	opts, err := cli.NewProjectOptions([]string{"../../docker-compose.yml"}, cli.WithName("imbridge"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cmd := strings.Join(p.Services["topics"].Command, " ")
	if !strings.Contains(cmd, "for t in "+strings.Join(want, " ")+";") {
		t.Errorf("compose's topics service does not create %v: %s", want, cmd)
	}
	if !strings.Contains(cmd, "--topic "+bridge.TopicQuarantine+" --partitions 6 --replication-factor 1 --config max.message.bytes="+strconv.Itoa(bridge.QuarantineMaxMessageBytes)) {
		t.Errorf("compose's topics service does not create %s with max.message.bytes=%d: %s", bridge.TopicQuarantine, bridge.QuarantineMaxMessageBytes, cmd)
	}
	env := map[string]string{}
	for k, v := range p.Services["imbridge"].Environment {
		if v != nil {
			env[k] = *v
		}
	}
	effective("docker-compose.yml", env)

	raw, err := os.ReadFile("../../deploy/k8s/base/statefulset.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var sts appsv1.StatefulSet
	decodeStrict(t, raw, &sts)
	env = map[string]string{}
	for _, e := range sts.Spec.Template.Spec.Containers[0].Env {
		env[e.Name] = e.Value
	}
	effective("deploy/k8s/base/statefulset.yaml", env)
}
