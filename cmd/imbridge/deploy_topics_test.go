package main

import (
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// topicJob returns the Job that creates the topics, and its container.
func topicJob(t *testing.T, m manifests) (*batchv1.Job, corev1.Container) {
	t.Helper()
	if len(m.jobs) != 1 || len(m.jobs[0].Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("%d Jobs, want the one that creates the topics, with one container", len(m.jobs))
	}
	return m.jobs[0], m.jobs[0].Spec.Template.Spec.Containers[0]
}

func envValues(c corev1.Container) map[string]string {
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	return env
}

// checkTopicJob holds a rendered topic Job to what imbridge needs: every default topic
// of the routes and the unrouted topic, and the quarantine topic with room for a whole
// body; replication factor 3 and min.insync.replicas=2; the brokers imbridge publishes
// to; Kafka's image of the compose file; pods that none of imbridge's selectors select,
// under a NetworkPolicy of their own; the hardening of imbridge's pods.
func checkTopicJob(t *testing.T, m manifests) {
	t.Helper()
	job, c := topicJob(t, m)
	env := envValues(c)
	var names []string
	quarantine := false
	for _, spec := range strings.Fields(env["TOPICS"]) {
		if spec == quarantineTopicSpec {
			quarantine = true
			continue
		}
		name, _, _ := strings.Cut(spec, ":")
		names = append(names, name)
	}
	if slices.Sort(names); !slices.Equal(names, defaultTopics()) {
		t.Errorf("the Job creates %v, want the default topics %v", names, defaultTopics())
	}
	if !quarantine {
		t.Errorf("the Job does not create %s: TOPICS=%q", quarantineTopicSpec, env["TOPICS"])
	}
	if env["REPLICATION_FACTOR"] != "3" || env["MIN_INSYNC_REPLICAS"] != "2" {
		t.Errorf("replication factor %q, min.insync.replicas %q; want 3 and 2", env["REPLICATION_FACTOR"], env["MIN_INSYNC_REPLICAS"])
	}
	if brokers := envValues(m.sts.Spec.Template.Spec.Containers[0])["IMBRIDGE_KAFKA_BROKERS"]; env["KAFKA_BOOTSTRAP_SERVERS"] != brokers {
		t.Errorf("the Job creates the topics on %q, imbridge publishes to %q", env["KAFKA_BOOTSTRAP_SERVERS"], brokers)
	}
	if kafka := loadCompose(t).Services["kafka"].Image; c.Image != kafka {
		t.Errorf("the Job runs %s, the compose file %s: one Kafka version", c.Image, kafka)
	}

	pod := job.Spec.Template
	if selects(m.sts.Spec.Selector.MatchLabels, pod.Labels) || (m.pdb != nil && selects(m.pdb.Spec.Selector.MatchLabels, pod.Labels)) ||
		selects(m.netpol.Spec.PodSelector.MatchLabels, pod.Labels) {
		t.Errorf("the Job's pods %v are selected as imbridge's", pod.Labels)
	}
	for _, s := range m.services {
		if selects(s.Spec.Selector, pod.Labels) {
			t.Errorf("Service %s selects the Job's pods %v", s.Name, pod.Labels)
		}
	}
	var own int
	for _, np := range m.netpols {
		if np != m.netpol && selects(np.Spec.PodSelector.MatchLabels, pod.Labels) {
			own++
			reach := map[string]bool{}
			for _, rule := range np.Spec.Egress {
				for _, p := range rule.Ports {
					reach[p.Port.String()+"/"+string(*p.Protocol)] = true
				}
			}
			if !reach["53/UDP"] || !reach["9092/TCP"] || !reach["9093/TCP"] || len(np.Spec.Ingress) != 0 {
				t.Errorf("NetworkPolicy %s: egress %v, ingress %v; want DNS and the brokers out, nothing in", np.Name, reach, np.Spec.Ingress)
			}
		}
	}
	if own != 1 {
		t.Errorf("%d NetworkPolicies of its own select the Job's pods, want 1", own)
	}
	if job.Spec.TTLSecondsAfterFinished == nil || job.Spec.BackoffLimit == nil || pod.Spec.RestartPolicy != corev1.RestartPolicyOnFailure {
		t.Errorf("Job %s: ttlSecondsAfterFinished %v, backoffLimit %v, restartPolicy %s", job.Name, job.Spec.TTLSecondsAfterFinished, job.Spec.BackoffLimit, pod.Spec.RestartPolicy)
	}
	sc, psc := c.SecurityContext, pod.Spec.SecurityContext
	if pod.Spec.AutomountServiceAccountToken == nil || *pod.Spec.AutomountServiceAccountToken || psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot ||
		sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		c.Resources.Limits.Memory().IsZero() {
		t.Errorf("the Job's pod is not hardened as imbridge's: pod %+v container %+v resources %+v", psc, sc, c.Resources)
	}
}

// Topic creation, rendered as it is deployed: the example overlay's Job (the topics
// component, its brokers copied from the StatefulSet) and the chart's (topics.create),
// which are the same Job.
func TestTopicJobs(t *testing.T) {
	over := renderKustomization(t, k8sDir+"/overlays/example")
	checkTopicJob(t, over)
	overBrokers := envValues(over.sts.Spec.Template.Spec.Containers[0])["IMBRIDGE_KAFKA_BROKERS"]
	chart := renderChart(t, "topics.create=true", "config.kafkaBrokers="+strings.ReplaceAll(overBrokers, ",", `\,`))
	checkTopicJob(t, chart)

	// The chart runs it before the release is installed or upgraded, its NetworkPolicy first.
	job, _ := topicJob(t, chart)
	if job.Annotations["helm.sh/hook"] != "pre-install,pre-upgrade" {
		t.Errorf("the chart's Job hooks %q", job.Annotations["helm.sh/hook"])
	}
	weight := func(a map[string]string) int {
		w, err := strconv.Atoi(a["helm.sh/hook-weight"])
		if err != nil {
			t.Fatalf("hook weight: %v", err)
		}
		return w
	}
	for _, np := range chart.netpols {
		if np != chart.netpol && (np.Annotations["helm.sh/hook"] != job.Annotations["helm.sh/hook"] || weight(np.Annotations) >= weight(job.Annotations)) {
			t.Errorf("the Job's NetworkPolicy %s is not created before it: %v", np.Name, np.Annotations)
		}
	}

	// One Job: the chart's and the component's pods are the same but for their labels.
	a, b := over.jobs[0].DeepCopy(), chart.jobs[0].DeepCopy()
	for _, j := range []*batchv1.Job{a, b} {
		j.Spec.Template.Labels = nil
	}
	if d := cmp.Diff(a.Spec, b.Spec, cmp.Comparer(func(x, y resource.Quantity) bool { return x.Cmp(y) == 0 })); d != "" {
		t.Errorf("the chart's topic Job differs from deploy/k8s/components/topics (-component +chart):\n%s", d)
	}
}

// The Job's script, run with sh against a stand-in for kafka-topics.sh that records its
// arguments, asks for every topic of TOPICS with its partitions, replication factor,
// min.insync.replicas and own settings, and stops at the first that fails.
func TestTopicJobScript(t *testing.T) {
	_, c := topicJob(t, renderKustomization(t, k8sDir+"/overlays/example"))
	if !slices.Equal(c.Command, []string{"/bin/sh", "-ec"}) || len(c.Args) != 1 {
		t.Fatalf("command %q args %q, want /bin/sh -ec SCRIPT", c.Command, c.Args)
	}
	home := t.TempDir()
	calls := filepath.Join(home, "calls")
	if err := os.MkdirAll(home+"/bin", 0o755); err != nil {
		t.Fatal(err)
	}
	stub := "#!/bin/sh\necho \"$*\" >> " + calls + "\ncase \" $* \" in *\" --topic $FAIL_TOPIC \"*) exit 3;; esac\n"
	if err := os.WriteFile(home+"/bin/kafka-topics.sh", []byte(stub), 0o755); err != nil {
		t.Fatal(err)
	}
	env := envValues(c)
	run := func(failTopic string) (string, error) {
		os.Remove(calls)
		cmd := exec.Command(c.Command[0], append(c.Command[1:], c.Args...)...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "KAFKA_HOME=" + home, "FAIL_TOPIC=" + failTopic}
		for _, k := range slices.Sorted(maps.Keys(env)) {
			cmd.Env = append(cmd.Env, k+"="+env[k])
		}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	out, err := run("none")
	if err != nil {
		t.Fatalf("the script: %v\n%s", err, out)
	}
	raw, err := os.ReadFile(calls)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, spec := range strings.Fields(env["TOPICS"]) {
		parts := strings.SplitN(spec, ":", 3)
		call := "--bootstrap-server " + env["KAFKA_BOOTSTRAP_SERVERS"] + " --create --if-not-exists --topic " + parts[0] +
			" --partitions " + parts[1] + " --replication-factor 3 --config min.insync.replicas=2"
		if len(parts) == 3 {
			for _, cfg := range strings.Split(parts[2], ",") {
				call += " --config " + cfg
			}
		}
		want = append(want, call)
		if !strings.Contains(out, "topic "+parts[0]+" ready\n") {
			t.Errorf("no line says topic %s is ready:\n%s", parts[0], out)
		}
	}
	if got := strings.Split(strings.TrimSpace(string(raw)), "\n"); !slices.Equal(got, want) {
		t.Errorf("kafka-topics.sh was called\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !slices.ContainsFunc(want, func(c string) bool {
		return strings.Contains(c, "--topic imbridge.quarantine --partitions 6 --replication-factor 3 --config min.insync.replicas=2 --config max.message.bytes=2097152")
	}) {
		t.Error("the quarantine topic is not created with its max.message.bytes")
	}

	// A topic that cannot be created fails the Job (which Kubernetes then retries).
	out, err = run("imbridge.friend")
	if err == nil || strings.Contains(out, "topic imbridge.friend ready") || strings.Contains(out, "topic imbridge.group ready") {
		t.Errorf("a failing kafka-topics.sh: %v\n%s", err, out)
	}
}
