package validate

import (
	"fmt"
	"net"
	"path"
	"strconv"
	"strings"
	"text/template"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

// set indexes a group of objects that are applied together.
type set struct {
	deployments     []*appsv1.Deployment
	services        []*corev1.Service
	configMaps      map[string]*corev1.ConfigMap
	serviceAccounts map[string]bool
	probes          []*monitoringv1.Probe
	serviceMonitors []*monitoringv1.ServiceMonitor
}

func index(objs []object) (*set, []string) {
	s := &set{configMaps: map[string]*corev1.ConfigMap{}, serviceAccounts: map[string]bool{}}
	var problems []string
	seen := map[string]string{}
	for _, o := range objs {
		acc, ok := o.Obj.(metav1.Object)
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: no metadata", o.Source))
			continue
		}
		kind := fmt.Sprintf("%T", o.Obj)
		key := kind + "/" + acc.GetNamespace() + "/" + acc.GetName()
		if prev, dup := seen[key]; dup {
			problems = append(problems, fmt.Sprintf("%s: %s already defined in %s", o.Source, key, prev))
		}
		seen[key] = o.Source
		if acc.GetName() == "" {
			problems = append(problems, fmt.Sprintf("%s: %s has no name", o.Source, kind))
		}
		if acc.GetNamespace() != "monitoring" {
			problems = append(problems, fmt.Sprintf("%s: %s namespace %q, want monitoring", o.Source, key, acc.GetNamespace()))
		}
		switch v := o.Obj.(type) {
		case *appsv1.Deployment:
			s.deployments = append(s.deployments, v)
		case *corev1.Service:
			s.services = append(s.services, v)
		case *corev1.ConfigMap:
			s.configMaps[v.Name] = v
		case *corev1.ServiceAccount:
			s.serviceAccounts[v.Name] = true
		case *monitoringv1.Probe:
			s.probes = append(s.probes, v)
		case *monitoringv1.ServiceMonitor:
			s.serviceMonitors = append(s.serviceMonitors, v)
		default:
			problems = append(problems, fmt.Sprintf("%s: unexpected kind %s", o.Source, kind))
		}
	}
	return s, problems
}

// check returns the problems found in a set of objects meant to be applied
// together (one variant: base plus its Deployment and ConfigMaps).
// external names ConfigMaps and Secrets the user creates with kubectl.
func check(objs []object, external map[string]bool) []string {
	s, problems := index(objs)
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if len(s.deployments) != 1 {
		add("want exactly one Deployment, got %d", len(s.deployments))
		return problems
	}
	d := s.deployments[0]
	pod := d.Spec.Template
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil || sel.Empty() || !sel.Matches(labels.Set(pod.Labels)) {
		add("Deployment %s: selector %v does not match pod labels %v (%v)", d.Name, d.Spec.Selector, pod.Labels, err)
	}
	problems = append(problems, checkPod(s, d.Name, &pod, external)...)

	for _, svc := range s.services {
		if !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(pod.Labels)) || len(svc.Spec.Selector) == 0 {
			add("Service %s: selector %v does not select the exporter pods %v", svc.Name, svc.Spec.Selector, pod.Labels)
		}
		for _, p := range svc.Spec.Ports {
			if p.TargetPort.String() != "http" || p.Port != 9938 {
				add("Service %s: port %+v, want 9938 -> http", svc.Name, p)
			}
		}
	}
	for _, sm := range s.serviceMonitors {
		smSel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
		if err != nil {
			add("ServiceMonitor %s: %v", sm.Name, err)
			continue
		}
		matched := 0
		for _, svc := range s.services {
			if smSel.Matches(labels.Set(svc.Labels)) {
				matched++
				for _, ep := range sm.Spec.Endpoints {
					if !hasServicePort(svc, ep.Port) {
						add("ServiceMonitor %s: Service %s has no port %q", sm.Name, svc.Name, ep.Port)
					}
				}
			}
		}
		if matched != 1 {
			add("ServiceMonitor %s selects %d Services, want exactly 1 (no double scrapes)", sm.Name, matched)
		}
	}
	for _, p := range s.probes {
		problems = append(problems, checkProbe(s, p)...)
	}
	return problems
}

func hasServicePort(svc *corev1.Service, name string) bool {
	for _, p := range svc.Spec.Ports {
		if p.Name == name {
			return true
		}
	}
	return false
}

func checkProbe(s *set, p *monitoringv1.Probe) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if p.Spec.JobName != "hitron" {
		add("Probe %s: jobName %q, want hitron (the rules and dashboard select it)", p.Name, p.Spec.JobName)
	}
	if p.Spec.ProberSpec.Path != "/probe" {
		add("Probe %s: prober path %q, want /probe", p.Name, p.Spec.ProberSpec.Path)
	}
	host, port, err := net.SplitHostPort(p.Spec.ProberSpec.URL)
	if err != nil {
		add("Probe %s: prober url %q: %v", p.Name, p.Spec.ProberSpec.URL, err)
	} else {
		found := false
		for _, svc := range s.services {
			if host == svc.Name+"."+svc.Namespace+".svc" {
				for _, sp := range svc.Spec.Ports {
					if strconv.Itoa(int(sp.Port)) == port {
						found = true
					}
				}
			}
		}
		if !found {
			add("Probe %s: prober url %q names no Service port in this set", p.Name, p.Spec.ProberSpec.URL)
		}
	}
	if p.Spec.Targets.StaticConfig == nil || len(p.Spec.Targets.StaticConfig.Targets) == 0 {
		add("Probe %s: no static targets", p.Name)
	}
	iv, err1 := time.ParseDuration(string(p.Spec.Interval))
	to, err2 := time.ParseDuration(string(p.Spec.ScrapeTimeout))
	if err1 != nil || err2 != nil || to <= 0 || to > iv {
		add("Probe %s: interval %q / scrapeTimeout %q: want 0 < timeout <= interval", p.Name, p.Spec.Interval, p.Spec.ScrapeTimeout)
	}
	return problems
}

// checkPod checks the exporter pod: hardening, ports and health checks,
// every mount, and that the files the exporter is told to read (config,
// keytab, krb5.conf, rendered credentials) are where the volumes put them.
func checkPod(s *set, name string, pod *corev1.PodTemplateSpec, external map[string]bool) []string {
	var problems []string
	add := func(format string, args ...any) {
		problems = append(problems, fmt.Sprintf("Deployment %s: "+format, append([]any{name}, args...)...))
	}
	spec := pod.Spec
	psc := spec.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		add("pod must run as a non-root uid (runAsNonRoot, runAsUser)")
	}
	if psc != nil && (psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault) {
		add("pod seccompProfile must be RuntimeDefault")
	}
	if spec.ServiceAccountName != "" && !s.serviceAccounts[spec.ServiceAccountName] {
		add("serviceAccountName %q has no ServiceAccount in the set", spec.ServiceAccountName)
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		volumes[v.Name] = v
		for _, cm := range configMapsOf(v) {
			if s.configMaps[cm.name] == nil && !external[cm.name] {
				add("volume %s: ConfigMap %q is neither in the set nor documented as created by kubectl", v.Name, cm.name)
			} else if c := s.configMaps[cm.name]; c != nil {
				for _, k := range cm.keys {
					if _, ok := c.Data[k]; !ok {
						add("volume %s: ConfigMap %s has no key %q", v.Name, cm.name, k)
					}
				}
			}
		}
		if v.Secret != nil && !external[v.Secret.SecretName] {
			add("volume %s: Secret %q is not documented as created by kubectl", v.Name, v.Secret.SecretName)
		}
	}
	if len(spec.Containers) != 1 {
		add("want exactly one container (sidecars are injected), got %d", len(spec.Containers))
		return problems
	}
	c := spec.Containers[0]
	if i := strings.LastIndex(c.Image, ":"); i < 0 || strings.Contains(c.Image[i:], "/") || strings.HasSuffix(c.Image, ":latest") {
		add("image %q must carry an explicit, non-latest tag", c.Image)
	}
	sc := c.SecurityContext
	if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" {
		add("container securityContext must forbid privilege escalation, make / read-only and drop ALL capabilities")
	}
	if len(c.Ports) != 1 || c.Ports[0].Name != "http" || c.Ports[0].ContainerPort != 9938 {
		add("container ports %+v, want http:9938", c.Ports)
	}
	for probeName, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
		want := map[string]string{"liveness": "/-/healthy", "readiness": "/-/ready"}[probeName]
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != want || p.HTTPGet.Port.String() != "http" {
			add("%s probe must GET %s on port http", probeName, want)
		}
	}
	if c.Resources.Limits.Memory().IsZero() {
		add("container needs a memory limit")
	}
	mounts := map[string]corev1.Volume{} // mountPath -> volume
	for _, m := range c.VolumeMounts {
		v, ok := volumes[m.Name]
		if !ok {
			add("volumeMount %s: no such volume", m.Name)
			continue
		}
		if !m.ReadOnly {
			add("volumeMount %s must be readOnly", m.Name)
		}
		mounts[m.MountPath] = v
	}
	// Files the exporter reads, and which volume must hold them.
	need := map[string]string{}
	for _, a := range c.Args {
		if p, ok := strings.CutPrefix(a, "--config.file="); ok {
			need[p] = "--config.file"
		}
	}
	if len(need) == 0 {
		add("args %v do not set --config.file", c.Args)
	}
	for _, e := range c.Env {
		switch e.Name {
		case "KRB5_CLIENT_KTNAME", "KRB5_CONFIG":
			need[strings.TrimPrefix(e.Value, "FILE:")] = e.Name
		case "KRB5CCNAME":
			add("KRB5CCNAME is set, but the FreeIPA provider is pure Go and uses no ticket cache")
		}
	}
	for file, what := range need {
		if !fileInVolumes(file, mounts, s, external) {
			add("%s=%s is not provided by any mounted volume", what, file)
		}
	}
	problems = append(problems, checkVault(s, name, pod, c, mounts)...)
	return problems
}

type cmRef struct {
	name string
	keys []string
}

func configMapsOf(v corev1.Volume) []cmRef {
	var out []cmRef
	keys := func(items []corev1.KeyToPath) []string {
		var k []string
		for _, it := range items {
			k = append(k, it.Key)
		}
		return k
	}
	if v.ConfigMap != nil {
		out = append(out, cmRef{v.ConfigMap.Name, keys(v.ConfigMap.Items)})
	}
	if v.Projected != nil {
		for _, src := range v.Projected.Sources {
			if src.ConfigMap != nil {
				out = append(out, cmRef{src.ConfigMap.Name, keys(src.ConfigMap.Items)})
			}
		}
	}
	return out
}

// fileInVolumes reports whether file is provided by the volume mounted at
// its directory: a key of a ConfigMap in the set (or an item path), or a
// Secret/ConfigMap created outside whose item path or name matches.
func fileInVolumes(file string, mounts map[string]corev1.Volume, s *set, external map[string]bool) bool {
	v, ok := mounts[path.Dir(file)]
	if !ok {
		return false
	}
	base := path.Base(file)
	provides := func(name string, items []corev1.KeyToPath, inSet bool, data map[string]string) bool {
		if len(items) > 0 {
			for _, it := range items {
				if it.Path == base {
					return true
				}
			}
			return false
		}
		if inSet {
			_, ok := data[base]
			return ok
		}
		return external[name+"/"+base]
	}
	switch {
	case v.ConfigMap != nil:
		cm := s.configMaps[v.ConfigMap.Name]
		var data map[string]string
		if cm != nil {
			data = cm.Data
		}
		return provides(v.ConfigMap.Name, v.ConfigMap.Items, cm != nil, data)
	case v.Secret != nil:
		return provides(v.Secret.SecretName, v.Secret.Items, false, nil)
	case v.Projected != nil:
		for _, src := range v.Projected.Sources {
			if src.ConfigMap != nil {
				cm := s.configMaps[src.ConfigMap.Name]
				var data map[string]string
				if cm != nil {
					data = cm.Data
				}
				if provides(src.ConfigMap.Name, src.ConfigMap.Items, cm != nil, data) {
					return true
				}
			}
		}
	}
	return false
}

// exporterConfig is the part of hitron-exporter.yml these checks read.
type exporterConfig struct {
	Auths map[string]struct {
		File *struct {
			Path string `json:"path"`
		} `json:"file"`
		Vault *struct {
			Address string `json:"address"`
			Auth    struct {
				Method string `json:"method"`
			} `json:"auth"`
		} `json:"vault"`
		FreeIPA map[string]any `json:"freeipa"`
	} `json:"auths"`
	Targets map[string]struct {
		Auth        string `json:"auth"`
		Fingerprint string `json:"fingerprint"`
	} `json:"targets"`
}

// configOf returns the exporter configuration mounted into the pod.
func configOf(s *set, c corev1.Container, mounts map[string]corev1.Volume) (*exporterConfig, error) {
	for _, a := range c.Args {
		p, ok := strings.CutPrefix(a, "--config.file=")
		if !ok {
			continue
		}
		v, ok := mounts[path.Dir(p)]
		if !ok || v.ConfigMap == nil || s.configMaps[v.ConfigMap.Name] == nil {
			return nil, fmt.Errorf("config %s is not in a ConfigMap of the set", p)
		}
		raw := s.configMaps[v.ConfigMap.Name].Data[path.Base(p)]
		var cfg exporterConfig
		if err := yaml.Unmarshal([]byte(raw), &cfg); err != nil {
			return nil, fmt.Errorf("parse %s: %w", p, err)
		}
		return &cfg, nil
	}
	return nil, fmt.Errorf("no --config.file")
}

// checkVault checks the Vault Agent injector annotations against the
// exporter configuration: a rendered file must be a file profile's path,
// the API proxy's port must be a vault profile's address with method agent.
func checkVault(s *set, name string, pod *corev1.PodTemplateSpec, c corev1.Container, mounts map[string]corev1.Volume) []string {
	var problems []string
	add := func(format string, args ...any) {
		problems = append(problems, fmt.Sprintf("Deployment %s: "+format, append([]any{name}, args...)...))
	}
	cfg, err := configOf(s, c, mounts)
	if err != nil {
		add("%v", err)
		return problems
	}
	for t, tc := range cfg.Targets {
		a, ok := cfg.Auths[tc.Auth]
		if !ok {
			add("target %s uses unknown profile %q", t, tc.Auth)
		}
		if (a.Vault != nil || a.FreeIPA != nil) && tc.Fingerprint == "" {
			add("target %s uses broker profile %q without a fingerprint", t, tc.Auth)
		}
	}
	ann := pod.Annotations
	const pfx = "vault.hashicorp.com/"
	if ann[pfx+"agent-inject"] != "true" {
		for k := range ann {
			if strings.HasPrefix(k, pfx) {
				add("annotation %s without %sagent-inject=true", k, pfx)
			}
		}
		return problems
	}
	if ann[pfx+"role"] == "" {
		add("Vault Agent injection without %srole", pfx)
	}
	if pod.Spec.ServiceAccountName == "" {
		add("Vault Agent kubernetes auth needs a serviceAccountName")
	}
	files := 0
	for k, secretPath := range ann {
		file, ok := strings.CutPrefix(k, pfx+"agent-inject-secret-")
		if !ok {
			continue
		}
		files++
		if !strings.Contains(secretPath, "/data/") {
			add("%s: %q is not a KV v2 data path", k, secretPath)
		}
		tmpl, ok := ann[pfx+"agent-inject-template-"+file]
		if !ok {
			add("secret %s has no agent-inject-template-%s (the default rendering is not YAML)", file, file)
			continue
		}
		// consul-template syntax: parse with stand-ins for its functions.
		funcs := template.FuncMap{"secret": func(...string) any { return nil }, "toJSON": func(any) string { return "" }}
		if _, err := template.New(file).Funcs(funcs).Parse(tmpl); err != nil {
			add("template for %s: %v", file, err)
		}
		if !strings.Contains(tmpl, "username:") || !strings.Contains(tmpl, "password:") {
			add("template for %s does not render username: and password: for the file provider", file)
		}
		found := false
		for _, a := range cfg.Auths {
			if a.File != nil && a.File.Path == "/vault/secrets/"+file {
				found = true
			}
		}
		if !found {
			add("rendered /vault/secrets/%s is not the path of any file profile", file)
		}
		if perms := ann[pfx+"agent-inject-perms-"+file]; perms != "" && perms != "0400" && perms != "0440" {
			add("rendered %s has perms %s, want owner/group read only", file, perms)
		}
		if ann[pfx+"agent-run-as-same-user"] == "true" && (c.SecurityContext == nil || c.SecurityContext.RunAsUser == nil) {
			add("agent-run-as-same-user needs runAsUser on the container's securityContext")
		}
	}
	if ann[pfx+"agent-cache-enable"] == "true" {
		port := ann[pfx+"agent-cache-listener-port"]
		if port == "" {
			port = "8200"
		}
		found := false
		for _, a := range cfg.Auths {
			if a.Vault != nil && a.Vault.Address == "http://127.0.0.1:"+port && a.Vault.Auth.Method == "agent" {
				found = true
			}
		}
		if !found {
			add("agent API proxy on 127.0.0.1:%s is not used by any vault profile with auth method agent", port)
		}
		if v := ann[pfx+"agent-cache-use-auto-auth-token"]; v != "force" && v != "true" {
			add("agent-cache-use-auto-auth-token %q: the exporter sends no token, want force or true", v)
		}
	} else if files == 0 {
		add("Vault Agent injected but neither renders a file nor serves the API proxy")
	}
	return problems
}
