package main

import (
	"maps"
	"os"
	"regexp"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// checkHardening holds the Kubernetes base to what the security review asked: a pinned
// image tag, no service-account token in the pod, the admin listener on the pod's
// interfaces only behind a NetworkPolicy that admits the monitoring namespace alone,
// the container's memory limit passed to imbridge (which sets the Go memory limit to
// 90% of it), and no secret in the arguments.
func checkHardening(t *testing.T, tag string, pod corev1.PodSpec, c corev1.Container, np *networkingv1.NetworkPolicy) {
	t.Helper()
	if tag == "" || tag == "latest" {
		t.Errorf("image tag %q: pin a version", tag)
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Error("automountServiceAccountToken is not false")
	}
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	if env["IMBRIDGE_ADMIN_LISTEN"].Value != ":9090" {
		t.Errorf("IMBRIDGE_ADMIN_LISTEN %q, want :9090 (the default is loopback, which the probes cannot reach)", env["IMBRIDGE_ADMIN_LISTEN"].Value)
	}
	if ml := env["IMBRIDGE_MEMORY_LIMIT"].ValueFrom; ml == nil || ml.ResourceFieldRef == nil || ml.ResourceFieldRef.Resource != "limits.memory" ||
		c.Resources.Limits.Memory().IsZero() {
		t.Errorf("IMBRIDGE_MEMORY_LIMIT %+v: want it from limits.memory, which must be set", env["IMBRIDGE_MEMORY_LIMIT"])
	}
	if gm, ok := env["GOMEMLIMIT"]; ok {
		t.Errorf("GOMEMLIMIT %+v: imbridge sets it to 90%% of IMBRIDGE_MEMORY_LIMIT; at the limit itself it leaves no headroom", gm)
	}
	if slices.ContainsFunc(append(slices.Clone(c.Args), c.Command...), secretFlag.MatchString) {
		t.Errorf("container arguments %v carry a secret", c.Args)
	}
	if np == nil {
		t.Fatal("no NetworkPolicy in the kustomization")
	}
	if !slices.Equal(np.Spec.PolicyTypes, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}) ||
		np.Spec.PodSelector.MatchLabels["app.kubernetes.io/name"] != "imbridge" {
		t.Fatalf("NetworkPolicy selects %v for %v", np.Spec.PodSelector, np.Spec.PolicyTypes)
	}
	admitted := map[string][]networkingv1.NetworkPolicyPeer{}
	for _, rule := range np.Spec.Ingress {
		for _, p := range rule.Ports {
			admitted[p.Port.String()] = append(admitted[p.Port.String()], rule.From...)
		}
		if len(rule.Ports) == 0 {
			t.Fatal("a NetworkPolicy rule admits every port")
		}
	}
	if peers, ok := admitted["callback"]; !ok || len(peers) != 0 {
		t.Errorf("callback port admits %v, want everyone (Chat through the ingress)", peers)
	}
	// Egress: DNS to kube-dns, and the brokers' ports; no rule opens every port.
	reach := map[string]bool{}
	for _, rule := range np.Spec.Egress {
		if len(rule.Ports) == 0 {
			t.Fatal("a NetworkPolicy egress rule allows every port")
		}
		for _, p := range rule.Ports {
			reach[p.Port.String()+"/"+string(*p.Protocol)] = true
		}
	}
	for _, want := range []string{"53/UDP", "53/TCP", "9092/TCP", "9093/TCP"} {
		if !reach[want] {
			t.Errorf("egress does not allow %s (DNS and the Kafka brokers)", want)
		}
	}
	// DNS goes to kube-dns's pods, selected by their labels alone: a label of imbridge's
	// on that peer (kustomize's includeSelectors adds one) selects no DNS pod at all.
	for _, rule := range np.Spec.Egress {
		if !slices.ContainsFunc(rule.Ports, func(p networkingv1.NetworkPolicyPort) bool { return p.Port.IntValue() == 53 }) {
			continue
		}
		for _, peer := range rule.To {
			if peer.NamespaceSelector == nil || !maps.Equal(peer.NamespaceSelector.MatchLabels, map[string]string{"kubernetes.io/metadata.name": "kube-system"}) ||
				peer.PodSelector == nil || !maps.Equal(peer.PodSelector.MatchLabels, map[string]string{"k8s-app": "kube-dns"}) {
				t.Errorf("DNS egress to %+v, want the pods k8s-app=kube-dns in kube-system, selected by that label alone", peer)
			}
		}
	}
	admin := admitted["admin"]
	if len(admin) != 1 || admin[0].NamespaceSelector == nil || admin[0].PodSelector != nil || admin[0].IPBlock != nil ||
		admin[0].NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] != "monitoring" {
		t.Errorf("admin port admits %+v, want the monitoring namespace only", admin)
	}
}

// secretFlag matches a command-line flag that carries a secret.
var secretFlag = regexp.MustCompile(`--(callback-token|token|kafka-sasl-password)([ =]|$)`)

// No example puts a token or password in a process's arguments, where every user of the
// machine can read it (and /debug/pprof/cmdline served it): the README, the Makefile,
// the compose file, the Kubernetes base, the chart and the conformance script pass
// secrets in the environment or in files.
func TestExamplesKeepSecretsOutOfArguments(t *testing.T) {
	for _, f := range []string{"../../README.md", "../../Makefile", "../../docker-compose.yml", "../../deploy/k8s/base/statefulset.yaml",
		"../../deploy/k8s/base/secret.example.yaml", "../../schema/conformance/run.sh", "../../deploy/Dockerfile",
		"../../deploy/k8s/components/topics/job.yaml", "../../deploy/helm/imbridge/values.yaml", "../../deploy/helm/imbridge/templates/statefulset.yaml"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range secretFlag.FindAllIndex(b, -1) {
			line := string(b[max(0, m[0]-60):min(len(b), m[1]+40)])
			t.Errorf("%s: a secret passed as a flag: ...%s...", f, line)
		}
	}
}
