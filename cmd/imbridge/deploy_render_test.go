package main

import (
	"bufio"
	"bytes"
	"debug/buildinfo"
	"errors"
	"fmt"
	"go/build"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// The deployment's manifests are rendered by the real tools, at the versions the
// Makefile pins and installs with go install (into GOPATH/bin, never the repository):
// kustomize builds every kustomization under deploy/k8s, helm lints and templates the
// chart under deploy/helm. Every object they render is decoded strictly into its
// Kubernetes API type (k8s.io/api): an unknown or misspelled field, a field in the
// wrong case, a duplicate key or an apiVersion the types do not have fails the test.

const (
	k8sDir   = "../../deploy/k8s"
	k8sBase  = k8sDir + "/base"
	chartDir = "../../deploy/helm/imbridge"
)

// deployTool is a tool the Makefile installs with go install at a pinned version.
type deployTool struct {
	name    string // binary
	module  string // main module of the binary
	pinVar  string // the Makefile's variable holding the version
	pathEnv string // the Makefile passes the binary's path in this variable
}

var (
	kustomizeTool = deployTool{name: "kustomize", module: "sigs.k8s.io/kustomize/kustomize/v5", pinVar: "KUSTOMIZE_VERSION", pathEnv: "IMBRIDGE_KUSTOMIZE"}
	helmTool      = deployTool{name: "helm", module: "helm.sh/helm/v4", pinVar: "HELM_VERSION", pathEnv: "IMBRIDGE_HELM"}
)

// pinned returns the version the Makefile pins for the tool.
func (d deployTool) pinned(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^` + d.pinVar + ` := (v[0-9.]+)$`).FindSubmatch(raw)
	if m == nil {
		t.Fatalf("the Makefile pins no %s", d.pinVar)
	}
	return string(m[1])
}

// path returns the tool's binary at the pinned version, or skips t (fails it when
// CI=true) without it: make test installs it.
func (d deployTool) path(t *testing.T) string {
	t.Helper()
	want := d.pinned(t)
	p := os.Getenv(d.pathEnv)
	if p == "" {
		gopath := build.Default.GOPATH
		if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
			gopath = strings.TrimSpace(string(out))
		}
		p = filepath.Join(strings.Split(gopath, string(filepath.ListSeparator))[0], "bin", d.name)
	}
	info, err := buildinfo.ReadFile(p)
	switch {
	case err != nil:
		err = fmt.Errorf("%s: %v", p, err)
	case info.Main.Path != d.module || info.Main.Version != want:
		err = fmt.Errorf("%s is %s %s, not %s %s", p, info.Main.Path, info.Main.Version, d.module, want)
	}
	if err != nil {
		msg := fmt.Sprintf("%s %s is needed (%v): run make test, which installs it with go install", d.name, want, err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}

// kustomizeBuild renders the kustomization in dir as kubectl apply -k would.
func kustomizeBuild(t *testing.T, dir string) ([]byte, error) {
	t.Helper()
	cmd := exec.Command(kustomizeTool.path(t), "build", dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %v: %s", dir, err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// runHelm runs the pinned helm with its cache, configuration and data in a temporary
// directory (no repository, no cluster).
func runHelm(t *testing.T, args ...string) ([]byte, error) {
	t.Helper()
	cmd := exec.Command(helmTool.path(t), args...)
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+home+"/cache", "HELM_CONFIG_HOME="+home+"/config", "HELM_DATA_HOME="+home+"/data")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("helm %s: %v: %s%s", strings.Join(args, " "), err, out, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// helmTemplate renders the chart as release imbridge with the given --set values.
func helmTemplate(t *testing.T, set ...string) ([]byte, error) {
	t.Helper()
	args := []string{"template", "imbridge", chartDir, "--namespace", "imbridge"}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	return runHelm(t, args...)
}

// splitDocuments splits a YAML stream at its document separators; documents with
// nothing but comments are left out.
func splitDocuments(stream []byte) [][]byte {
	var docs [][]byte
	var cur bytes.Buffer
	flush := func() {
		for _, line := range strings.Split(cur.String(), "\n") {
			if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") {
				docs = append(docs, slices.Clone(cur.Bytes()))
				break
			}
		}
		cur.Reset()
	}
	sc := bufio.NewScanner(bytes.NewReader(stream))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		if line := sc.Text(); line == "---" || strings.HasPrefix(line, "--- ") {
			flush()
			continue
		}
		cur.Write(sc.Bytes())
		cur.WriteByte('\n')
	}
	flush()
	return docs
}

// ServiceMonitor is monitoring.coreos.com/v1 ServiceMonitor, the fields of its CRD
// that the chart sets, under the CRD's names (the Prometheus Operator's own Go types
// would bring controller-runtime into go.mod). Add a field here, as the CRD spells it,
// when the chart sets one more.
type ServiceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Selector          metav1.LabelSelector `json:"selector"`
		NamespaceSelector *struct {
			Any        bool     `json:"any,omitempty"`
			MatchNames []string `json:"matchNames,omitempty"`
		} `json:"namespaceSelector,omitempty"`
		Endpoints []struct {
			Port          string `json:"port,omitempty"`
			Path          string `json:"path,omitempty"`
			Scheme        string `json:"scheme,omitempty"`
			Interval      string `json:"interval,omitempty"`
			ScrapeTimeout string `json:"scrapeTimeout,omitempty"`
			Relabelings   []struct {
				SourceLabels []string `json:"sourceLabels,omitempty"`
				TargetLabel  string   `json:"targetLabel,omitempty"`
				Replacement  *string  `json:"replacement,omitempty"`
				Action       string   `json:"action,omitempty"`
			} `json:"relabelings,omitempty"`
		} `json:"endpoints"`
	} `json:"spec"`
}

// apiTypes are the API types the manifests may use, by apiVersion and kind.
var apiTypes = map[string]func() any{
	"v1/Service":                              func() any { return &corev1.Service{} },
	"v1/Secret":                               func() any { return &corev1.Secret{} },
	"v1/ConfigMap":                            func() any { return &corev1.ConfigMap{} },
	"apps/v1/StatefulSet":                     func() any { return &appsv1.StatefulSet{} },
	"batch/v1/Job":                            func() any { return &batchv1.Job{} },
	"policy/v1/PodDisruptionBudget":           func() any { return &policyv1.PodDisruptionBudget{} },
	"networking.k8s.io/v1/NetworkPolicy":      func() any { return &networkingv1.NetworkPolicy{} },
	"networking.k8s.io/v1/Ingress":            func() any { return &networkingv1.Ingress{} },
	"monitoring.coreos.com/v1/ServiceMonitor": func() any { return &ServiceMonitor{} },
	"monitoring.coreos.com/v1/PrometheusRule": func() any { return &PrometheusRule{} },
}

// PrometheusRule is monitoring.coreos.com/v1 PrometheusRule, under its CRD's names:
// spec holds a Prometheus rules file's groups.
type PrometheusRule struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Groups []struct {
			Name     string `json:"name"`
			Interval string `json:"interval,omitempty"`
			Rules    []struct {
				Alert         string            `json:"alert,omitempty"`
				Record        string            `json:"record,omitempty"`
				Expr          string            `json:"expr"`
				For           string            `json:"for,omitempty"`
				KeepFiringFor string            `json:"keep_firing_for,omitempty"`
				Labels        map[string]string `json:"labels,omitempty"`
				Annotations   map[string]string `json:"annotations,omitempty"`
			} `json:"rules"`
		} `json:"groups"`
	} `json:"spec"`
}

// object is one rendered object, decoded into its API type.
type object struct {
	kind, name string
	obj        any
}

// unmarshalStrict decodes one YAML document into v as the API server's strict field
// validation would: no unknown field, no field in another case, no duplicate key.
func unmarshalStrict(doc []byte, v any) error {
	j, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	strict, err := sigsjson.UnmarshalStrict(j, v)
	if err != nil {
		return err
	}
	return errors.Join(strict...)
}

// decodeObjects decodes every document of a rendered stream into its API type; the
// error names every document that does not decode.
func decodeObjects(stream []byte) ([]object, error) {
	var objs []object
	var errs []error
	for _, doc := range splitDocuments(stream) {
		var meta struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			errs = append(errs, err)
			continue
		}
		id := meta.APIVersion + "/" + meta.Kind
		newObj, ok := apiTypes[id]
		if !ok {
			errs = append(errs, fmt.Errorf("%s %s: no such API type among those the manifests use", id, meta.Metadata.Name))
			continue
		}
		if meta.Metadata.Name == "" {
			errs = append(errs, fmt.Errorf("%s without a name", id))
		}
		v := newObj()
		if err := unmarshalStrict(doc, v); err != nil {
			errs = append(errs, fmt.Errorf("%s %s: %w", meta.Kind, meta.Metadata.Name, err))
			continue
		}
		objs = append(objs, object{kind: meta.Kind, name: meta.Metadata.Name, obj: v})
	}
	return objs, errors.Join(errs...)
}

// manifests are the objects of one rendering, by kind.
type manifests struct {
	all       []object
	sts       *appsv1.StatefulSet
	services  []*corev1.Service
	pdb       *policyv1.PodDisruptionBudget
	netpol    *networkingv1.NetworkPolicy // the one that selects imbridge's pods
	netpols   []*networkingv1.NetworkPolicy
	jobs      []*batchv1.Job
	ingresses []*networkingv1.Ingress
	secrets   []*corev1.Secret
	monitors  []*ServiceMonitor
	rules     []*PrometheusRule
}

// sortObjects files decoded objects by kind.
func sortObjects(t *testing.T, objs []object) manifests {
	t.Helper()
	m := manifests{all: objs}
	for _, o := range objs {
		switch v := o.obj.(type) {
		case *appsv1.StatefulSet:
			if m.sts != nil {
				t.Fatalf("two StatefulSets: %s and %s", m.sts.Name, v.Name)
			}
			m.sts = v
		case *corev1.Service:
			m.services = append(m.services, v)
		case *policyv1.PodDisruptionBudget:
			m.pdb = v
		case *networkingv1.NetworkPolicy:
			m.netpols = append(m.netpols, v)
		case *batchv1.Job:
			m.jobs = append(m.jobs, v)
		case *networkingv1.Ingress:
			m.ingresses = append(m.ingresses, v)
		case *corev1.Secret:
			m.secrets = append(m.secrets, v)
		case *ServiceMonitor:
			m.monitors = append(m.monitors, v)
		case *PrometheusRule:
			m.rules = append(m.rules, v)
		}
	}
	if m.sts == nil {
		t.Fatal("no StatefulSet")
	}
	for _, np := range m.netpols {
		if selects(np.Spec.PodSelector.MatchLabels, m.sts.Spec.Template.Labels) {
			m.netpol = np
		}
	}
	return m
}

// selects reports whether a non-empty selector matches labels.
func selects(sel, labels map[string]string) bool {
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return len(sel) > 0
}

// renderKustomization builds the kustomization in dir with kustomize and decodes what
// it renders strictly; a dir that has secret.example.yaml (not part of the
// kustomization) has it decoded too.
func renderKustomization(t *testing.T, dir string) manifests {
	t.Helper()
	out, err := kustomizeBuild(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	if example, err := os.ReadFile(filepath.Join(dir, "secret.example.yaml")); err == nil {
		if _, err := decodeObjects(example); err != nil {
			t.Fatalf("secret.example.yaml: %v", err)
		}
	}
	objs, err := decodeObjects(out)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	return sortObjects(t, objs)
}

// renderChart templates the chart with --set values and decodes what it renders.
func renderChart(t *testing.T, set ...string) manifests {
	t.Helper()
	out, err := helmTemplate(t, set...)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := decodeObjects(out)
	if err != nil {
		t.Fatalf("helm template %v: %v", set, err)
	}
	return sortObjects(t, objs)
}

// kustomizations returns every directory under deploy/k8s with a kustomization.yaml,
// by its kind (Kustomization or Component).
func kustomizations(t *testing.T) map[string]string {
	t.Helper()
	dirs := map[string]string{}
	err := filepath.WalkDir(k8sDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "kustomization.yaml" {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var k struct{ Kind string }
		if err := yaml.Unmarshal(raw, &k); err != nil {
			return fmt.Errorf("%s: %v", path, err)
		}
		dirs[filepath.ToSlash(filepath.Dir(path))] = k.Kind
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return dirs
}

// overlays returns the overlays' directories, sorted.
func overlays(t *testing.T) []string {
	t.Helper()
	var out []string
	for dir, kind := range kustomizations(t) {
		if kind == "Kustomization" && strings.HasPrefix(dir, k8sDir+"/overlays/") {
			out = append(out, dir)
		}
	}
	slices.Sort(out)
	if len(out) == 0 {
		t.Fatal("no overlay under deploy/k8s/overlays")
	}
	return out
}

// Every kustomization under deploy/k8s builds with the real kustomize, and what it
// renders decodes strictly into the Kubernetes API types; the layout is the one the
// README describes (a base, overlays beside it, components they include), and every
// component is included by an overlay, so that it is rendered too.
func TestEveryKustomizationRenders(t *testing.T) {
	dirs := kustomizations(t)
	if dirs[k8sBase] != "Kustomization" {
		t.Fatalf("no kustomize base in %s: %v", k8sBase, dirs)
	}
	included := map[string]bool{}
	for dir, kind := range dirs {
		rel := strings.TrimPrefix(dir, k8sDir+"/")
		switch {
		case kind == "Kustomization" && (rel == "base" || strings.HasPrefix(rel, "overlays/")):
			t.Run(rel, func(t *testing.T) {
				m := renderKustomization(t, dir)
				if len(m.all) == 0 {
					t.Fatal("renders nothing")
				}
			})
			raw, err := os.ReadFile(dir + "/kustomization.yaml")
			if err != nil {
				t.Fatal(err)
			}
			var k struct{ Components []string }
			if err := yaml.Unmarshal(raw, &k); err != nil {
				t.Fatal(err)
			}
			for _, c := range k.Components {
				included[filepath.ToSlash(filepath.Join(dir, c))] = true
			}
		case kind == "Component" && strings.HasPrefix(rel, "components/"):
		default:
			t.Errorf("%s: a %s outside deploy/k8s/base, overlays/* and components/*", dir, kind)
		}
	}
	for dir, kind := range dirs {
		if kind == "Component" && !included[dir] {
			t.Errorf("component %s is included by no overlay: nothing renders it", dir)
		}
	}
}

// The checks above catch what they are there for: the overlay inside its base (the
// layout kustomize refused with "cycle detected"), a misspelled field, a field in
// another case, a duplicate key and an apiVersion Kubernetes no longer serves, each in
// a copy of the base, rendered by the real kustomize.
func TestRenderRefusesMistakes(t *testing.T) {
	var copyDir func(t *testing.T, from, to string)
	copyDir = func(t *testing.T, from, to string) {
		t.Helper()
		entries, err := os.ReadDir(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(to, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.IsDir() {
				copyDir(t, filepath.Join(from, e.Name()), filepath.Join(to, e.Name()))
				continue
			}
			raw, err := os.ReadFile(filepath.Join(from, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(to, e.Name()), raw, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}

	t.Run("overlay inside its base", func(t *testing.T) {
		dir := t.TempDir()
		copyDir(t, k8sBase, dir+"/k8s")
		copyDir(t, k8sDir+"/overlays/example", dir+"/k8s/overlays/example")
		kust := dir + "/k8s/overlays/example/kustomization.yaml"
		raw, err := os.ReadFile(kust)
		if err != nil {
			t.Fatal(err)
		}
		raw = bytes.Replace(raw, []byte("- ../../base\n"), []byte("- ../..\n"), 1)
		raw = regexp.MustCompile(`(?s)components:.*?\nimages:`).ReplaceAll(raw, []byte("images:"))
		raw = regexp.MustCompile(`(?s)\nreplacements:.*`).ReplaceAll(raw, nil)
		if err := os.WriteFile(kust, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err = kustomizeBuild(t, dir+"/k8s/overlays/example")
		if err == nil || !strings.Contains(err.Error(), "cycle detected") {
			t.Fatalf("the overlay inside its base: %v, want kustomize's cycle detected", err)
		}
	})

	for _, tt := range []struct {
		name, old, new, want string
	}{
		{name: "misspelled field", old: "readinessProbe:", new: "readinesProbe:", want: `unknown field "spec.template.spec.containers[0].readinesProbe"`},
		{name: "field in another case", old: "terminationGracePeriodSeconds:", new: "TerminationGracePeriodSeconds:", want: `unknown field "spec.template.spec.TerminationGracePeriodSeconds"`},
		{name: "misspelled field of a volume claim", old: "accessModes:", new: "accesModes:", want: "accesModes"},
		{name: "apiVersion no longer served", old: "apiVersion: apps/v1", new: "apiVersion: apps/v1beta1", want: "apps/v1beta1/StatefulSet imbridge: no such API type"},
		{name: "a quantity that is none", old: "storage: 10Gi", new: "storage: 10GB of disk", want: "quantities must match"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			copyDir(t, k8sBase, dir)
			raw, err := os.ReadFile(dir + "/statefulset.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(raw, []byte(tt.old)) {
				t.Fatalf("statefulset.yaml has no %q", tt.old)
			}
			if err := os.WriteFile(dir+"/statefulset.yaml", bytes.Replace(raw, []byte(tt.old), []byte(tt.new), 1), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := kustomizeBuild(t, dir)
			if err == nil {
				_, err = decodeObjects(out)
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error with %q", err, tt.want)
			}
		})
	}

	// A duplicate key, which kustomize itself lets through in some places: the decoder
	// refuses it.
	_, err := decodeObjects([]byte("apiVersion: v1\nkind: Service\nmetadata:\n  name: x\n  name: y\n"))
	if err == nil || !strings.Contains(err.Error(), "already set in map") && !strings.Contains(err.Error(), "duplicate") {
		t.Errorf("a duplicate key: %v", err)
	}
}
