package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/hitron-exporter/hitron-exporter/internal/modemsim"
	"github.com/hitron-exporter/hitron-exporter/internal/testenv/podmanenv"
	"github.com/hitron-exporter/hitron-exporter/internal/testenv/testkit"
	"github.com/hitron-exporter/hitron-exporter/internal/testenv/vaultenv"
)

// Annotations of deploy/kubernetes/vault-agent-file/deployment.yaml that
// the Vault Agent Injector reads.
const (
	annotationRole     = "vault.hashicorp.com/role"
	annotationTemplate = "vault.hashicorp.com/agent-inject-template-credentials.yml"
	annotationPerms    = "vault.hashicorp.com/agent-inject-perms-credentials.yml"
	annotationSecret   = "vault.hashicorp.com/agent-inject-secret-credentials.yml"
	saTokenDir         = "/var/run/secrets/kubernetes.io/serviceaccount"
)

// TestContainerVaultAgentSidecar runs deploy/kubernetes/vault-agent-file
// with `podman kube play`: the ConfigMap and the Deployment's pod template
// as shipped, plus what the Vault Agent Injector's webhook would add to the
// pod (an init container that renders once, the agent sidecar, the shared
// /vault/secrets emptyDir), with the real `vault agent` (the cached Vault
// binary mounted into the static stand-in image) logging in with the
// kubernetes auth method and rendering the manifest's own template from the
// real Vault server. The probe succeeds; a rotation in Vault reaches the
// probe without a restart.
//
// Changed from the manifests, because this is podman and not a cluster:
// hostNetwork and a loopback listen address; the image names; the
// injector's annotations are consumed, not passed to podman; a 1 s
// static-secret render interval instead of 5 m; the kubelet's liveness and
// readiness probes are left out (podman would turn them into curl commands
// run inside the image, which has no curl) and the test checks /-/healthy
// and /-/ready itself; the container port is dropped (podman refuses port
// mappings with host networking).
func TestContainerVaultAgentSidecar(t *testing.T) {
	img := buildImage(t)
	vaultBin := vaultenv.Binary(t)
	sim := testkit.StartSim(t, modemsim.Config{Password: modemPassword})
	v := vaultenv.Start(t)

	deployment := readYAML(t, "deploy/kubernetes/vault-agent-file/deployment.yaml")
	configMap := readYAML(t, "deploy/kubernetes/vault-agent-file/configmap.yaml")
	sa := readYAML(t, "deploy/kubernetes/vault-agent-file/serviceaccount.yaml")
	tmpl := dig(deployment, "spec", "template")
	annotations := dig(tmpl, "metadata", "annotations")
	podSpec := dig(tmpl, "spec")
	account := vaultenv.ServiceAccount{Namespace: dig(sa, "metadata")["namespace"].(string), Name: dig(sa, "metadata")["name"].(string), UID: "6f1b2c1e-0000-4000-8000-hitron"}
	if podSpec["serviceAccountName"] != account.Name {
		t.Fatalf("the deployment runs as service account %v, the manifest defines %s", podSpec["serviceAccountName"], account.Name)
	}

	// Vault, as the deployment's comment sets it up.
	secretPath := strings.TrimPrefix(annotations[annotationSecret].(string), "secret/data/")
	v.WriteSecret(t, "secret", 2, secretPath, map[string]any{"username": "admin", "password": modemPassword})
	v.WriteSecret(t, "secret", 2, "hitron/cm-hitron.example.com", map[string]any{"username": "admin", "password": "other-" + modemPassword})
	v.PutPolicy(t, "hitron-exporter", vaultenv.ReadPolicy("secret/data/hitron/*"))
	k8s := v.EnableKubernetesAuth(t, "kubernetes")
	role := annotations[annotationRole].(string)
	k8s.CreateRole(t, v, role, account, []string{"hitron-exporter"}, "1h")

	// The files the injector and the kubelet would provide.
	agentDir, tokenDir := secretDir(t), secretDir(t)
	writeSecret(t, tokenDir, "token", k8s.MintJWT(t, account, time.Hour))
	writeSecret(t, agentDir, "credentials.yml.ctmpl", annotations[annotationTemplate].(string))
	perms := annotations[annotationPerms].(string)
	for name, exitAfterAuth := range map[string]bool{"agent-init.hcl": true, "agent.hcl": false} {
		writeSecret(t, agentDir, name, injectorAgentConfig(v.Addr, role, perms, exitAfterAuth))
	}

	// The exporter's ConfigMap, pointed at the simulator.
	data := dig(configMap, "data")
	data["hitron-exporter.yml"] = retarget(t, []byte(data["hitron-exporter.yml"].(string)), "cm-hitron.example.com", sim)

	// The pod: the Deployment's template, mutated as the injector would.
	addr := testkit.MustFreeAddr(t)
	podName := podmanenv.Name("hitron-exporter")
	exp := podSpec["containers"].([]any)[0].(map[string]any)
	exp["image"] = img.Ref
	exp["imagePullPolicy"] = "Never"
	args := exp["args"].([]any)
	for i, a := range args {
		if strings.HasPrefix(a.(string), "--web.listen-address=") {
			args[i] = "--web.listen-address=" + addr
		}
	}
	delete(exp, "livenessProbe")
	delete(exp, "readinessProbe")
	delete(exp, "ports") // podman refuses port mappings with host networking
	exp["volumeMounts"] = append(exp["volumeMounts"].([]any), map[string]any{"name": "vault-secrets", "mountPath": "/vault/secrets", "readOnly": true})
	agent := func(name, config string) map[string]any {
		return map[string]any{
			"name": name, "image": img.Standins.Runtime, "imagePullPolicy": "Never",
			"command": []any{"/bin/vault", "agent", "-config=/vault/config/" + config},
			"env":     []any{map[string]any{"name": "HOME", "value": "/home/vault"}},
			"securityContext": map[string]any{"runAsUser": imageUID, "runAsGroup": imageUID, "runAsNonRoot": true,
				"readOnlyRootFilesystem": true, "allowPrivilegeEscalation": false, "capabilities": map[string]any{"drop": []any{"ALL"}}},
			"volumeMounts": []any{
				map[string]any{"name": "vault-secrets", "mountPath": "/vault/secrets"},
				map[string]any{"name": "vault-home", "mountPath": "/home/vault"},
				map[string]any{"name": "vault-config", "mountPath": "/vault/config", "readOnly": true},
				map[string]any{"name": "vault-bin", "mountPath": "/bin/vault", "readOnly": true},
				map[string]any{"name": "sa-token", "mountPath": saTokenDir, "readOnly": true},
			},
		}
	}
	podSpec["initContainers"] = []any{agent("vault-agent-init", "agent-init.hcl")}
	podSpec["containers"] = append(podSpec["containers"].([]any), agent("vault-agent", "agent.hcl"))
	podSpec["hostNetwork"] = true
	// A Deployment's pods restart Always; podman 4.3 then restarts the init
	// container after it exits and fails to remove it ("container state
	// improper"), so this pod restarts on failure only.
	podSpec["restartPolicy"] = "OnFailure"
	podSpec["volumes"] = append(podSpec["volumes"].([]any),
		map[string]any{"name": "vault-secrets", "emptyDir": map[string]any{}},
		map[string]any{"name": "vault-home", "emptyDir": map[string]any{}},
		map[string]any{"name": "vault-config", "hostPath": map[string]any{"path": agentDir, "type": "Directory"}},
		map[string]any{"name": "vault-bin", "hostPath": map[string]any{"path": vaultBin, "type": "File"}},
		map[string]any{"name": "sa-token", "hostPath": map[string]any{"path": tokenDir, "type": "Directory"}},
	)
	pod := map[string]any{"apiVersion": "v1", "kind": "Pod",
		// Without the injector's annotations, which the agent configuration
		// above consumed: podman 4.3 refuses annotation values over 63
		// characters (it applies the label rule), such as the template.
		"metadata": map[string]any{"name": podName, "labels": dig(tmpl, "metadata")["labels"]},
		"spec":     podSpec}
	kubeFile := filepath.Join(t.TempDir(), "pod.yaml")
	var doc strings.Builder
	for i, d := range []any{configMap, pod} {
		b, err := yaml.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			doc.WriteString("---\n")
		}
		doc.Write(b)
	}
	if err := os.WriteFile(kubeFile, []byte(doc.String()), 0o600); err != nil {
		t.Fatal(err)
	}

	p := img.p
	containerLog := func(name string) string {
		out, _ := p.Try("logs", podName+"-"+name)
		return out
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, c := range []string{"vault-agent-init", "vault-agent", "hitron-exporter"} {
				t.Logf("%s log:\n%s", c, containerLog(c))
			}
		}
		_, _ = p.Try("pod", "rm", "--force", "--time", "1", podName)
	})
	p.Output(t, "kube", "play", kubeFile)

	e := &exporter{t: t, addr: addr, scheme: "http", out: &testkit.LogBuffer{}, secrets: []string{modemPassword}, client: httpClient()}
	waitHealthy(t, e, func() string { return containerLog("hitron-exporter") })
	if code, _ := e.get("/-/ready"); code != 200 {
		t.Errorf("/-/ready = %d", code)
	}
	if body := probeUntil(t, e, sim.Addr(), 10*time.Second); !testkit.HasLine(body, "probe_success 1") {
		t.Fatalf("probe through the agent-rendered file:\n%s", body)
	}
	exporterName := podName + "-hitron-exporter"
	started := strings.TrimSpace(p.Output(t, "inspect", "--format", "{{.State.StartedAt}}", exporterName))

	// Rotation in Vault: the agent re-renders, the exporter re-reads.
	rotated := "rotated-" + modemPassword
	e.secrets = append(e.secrets, rotated)
	sim.SetPassword(rotated)
	v.WriteSecret(t, "secret", 2, secretPath, map[string]any{"username": "admin", "password": rotated})
	if body := probeUntil(t, e, sim.Addr(), 20*time.Second); !testkit.HasLine(body, "probe_success 1") {
		t.Fatalf("after the rotation in Vault:\n%s", body)
	}
	if again := strings.TrimSpace(p.Output(t, "inspect", "--format", "{{.State.StartedAt}} {{.State.Running}} {{.RestartCount}}", exporterName)); again != started+" true 0" {
		t.Errorf("the exporter container restarted: %q, was started %q", again, started)
	}
	for _, c := range []string{"vault-agent", "hitron-exporter"} {
		for _, s := range e.secrets {
			if strings.Contains(containerLog(c), s) {
				t.Errorf("a modem password appears in the %s log", c)
			}
		}
	}
}

// injectorAgentConfig is the agent configuration the Vault Agent Injector
// generates for the deployment's annotations: kubernetes auto-auth with the
// pod's service-account token, a token sink in /home/vault, the template
// rendered to /vault/secrets/credentials.yml with the annotated perms.
func injectorAgentConfig(vaultAddr, role, perms string, exitAfterAuth bool) string {
	return fmt.Sprintf(`exit_after_auth = %t
pid_file = "/home/vault/.pid"
vault {
  address = %q
}
auto_auth {
  method "kubernetes" {
    mount_path = "auth/kubernetes"
    config = {
      role       = %q
      token_path = "%s/token"
    }
  }
  sink "file" {
    config = {
      path = "/home/vault/.vault-token"
    }
  }
}
template_config {
  exit_on_retry_failure         = true
  static_secret_render_interval = "1s"
}
template {
  source      = "/vault/config/credentials.yml.ctmpl"
  destination = "/vault/secrets/credentials.yml"
  perms       = %q
}
`, exitAfterAuth, vaultAddr, role, saTokenDir, perms)
}

func readYAML(t *testing.T, rel string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal(readRepoFile(t, rel), &m); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return m
}

// dig walks nested maps by key, failing the test on a missing one.
func dig(m map[string]any, keys ...string) map[string]any {
	for _, k := range keys {
		next, ok := m[k].(map[string]any)
		if !ok {
			panic(fmt.Sprintf("manifest has no mapping %q", k))
		}
		m = next
	}
	return m
}
