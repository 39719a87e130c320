package deploy

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

const systemdHint = "systemd-analyze comes with Debian's systemd package (apt-get install -y systemd)"

// unitFile parses a systemd/Quadlet unit into section -> key -> values,
// joining continuation lines.
func unitFile(t *testing.T, data []byte) map[string]map[string][]string {
	t.Helper()
	out := map[string]map[string][]string{}
	section := ""
	var pending string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if pending != "" {
			line = pending + " " + line
			pending = ""
		}
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";") {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			pending = strings.TrimSuffix(line, "\\")
			continue
		}
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			section = line[1 : len(line)-1]
			if out[section] == nil {
				out[section] = map[string][]string{}
			}
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || section == "" {
			t.Fatalf("bad unit line %q", line)
		}
		out[section][strings.TrimSpace(k)] = append(out[section][strings.TrimSpace(k)], strings.TrimSpace(v))
	}
	return out
}

// TestSystemdUnitVerify runs systemd-analyze verify on the unit (with
// ExecStart pointed at an existing binary, since the exporter is not
// installed here) and requires no warnings at all.
func TestSystemdUnitVerify(t *testing.T) {
	sa := tool(t, "systemd-analyze", "", systemdHint)
	unit := readFile(t, filepath.Join(dir(t), "systemd", "hitron-exporter.service"))
	tmp := filepath.Join(t.TempDir(), "hitron-exporter.service")
	if err := os.WriteFile(tmp, bytes.ReplaceAll(unit, []byte("/usr/local/bin/hitron-exporter"), []byte("/bin/true")), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(sa, "verify", "--man=no", tmp).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}

	// systemd-analyze security --offline scores the sandboxing; anything
	// above 2.0 ("OK") means a hardening option went missing.
	out, err = exec.Command(sa, "security", "--offline=yes", tmp).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level in:\n%s", out)
	}
	if score, _ := strconv.ParseFloat(string(m[1]), 64); score > 2.0 {
		t.Errorf("exposure level %.1f > 2.0:\n%s", score, out)
	}
}

func TestSystemdUnitContents(t *testing.T) {
	u := unitFile(t, readFile(t, filepath.Join(dir(t), "systemd", "hitron-exporter.service")))
	svc := u["Service"]
	for key, want := range map[string]string{
		"DynamicUser": "yes", "NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
		"PrivateTmp": "yes", "PrivateDevices": "yes", "CapabilityBoundingSet": "", "MemoryDenyWriteExecute": "yes",
	} {
		if len(svc[key]) == 0 || svc[key][0] != want {
			t.Errorf("[Service] %s = %v, want %q", key, svc[key], want)
		}
	}
	exec := strings.Fields(strings.Join(svc["ExecStart"], " "))
	if len(exec) == 0 || exec[0] != "/usr/local/bin/hitron-exporter" {
		t.Fatalf("ExecStart = %v", exec)
	}
	if !contains(exec, "--config.file=/etc/hitron-exporter/hitron-exporter.yml") {
		t.Errorf("ExecStart %v does not load /etc/hitron-exporter/hitron-exporter.yml", exec)
	}
	if len(svc["ExecReload"]) == 0 || !strings.Contains(svc["ExecReload"][0], "-HUP $MAINPID") {
		t.Errorf("ExecReload should send SIGHUP (the exporter reloads on it)")
	}
	// The config's file profile must read the file LoadCredential provides.
	lc := svc["LoadCredential"]
	if len(lc) != 1 || !strings.HasPrefix(lc[0], "credentials.yml:") {
		t.Fatalf("LoadCredential = %v, want credentials.yml:<path>", lc)
	}
	cfg := string(readFile(t, filepath.Join(dir(t), "systemd", "hitron-exporter.yml")))
	if !strings.Contains(cfg, "path: /run/credentials/hitron-exporter.service/credentials.yml") {
		t.Error("systemd/hitron-exporter.yml does not read the LoadCredential copy")
	}
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

// quadletKeys are the [Container] keys podman's Quadlet (4.4+) accepts that
// this unit may use; Debian 12's podman 4.3 has no Quadlet to ask.
var quadletKeys = map[string]bool{
	"Image": true, "ContainerName": true, "Network": true, "Volume": true, "Secret": true,
	"Environment": true, "Exec": true, "ReadOnly": true, "NoNewPrivileges": true, "DropCapability": true,
	"PublishPort": true, "User": true, "Group": true, "UserNS": true, "Label": true, "AutoUpdate": true,
	"HealthCmd": true, "PodmanArgs": true, "EnvironmentFile": true, "Timezone": true, "LogDriver": true,
}

func TestQuadletUnit(t *testing.T) {
	u := unitFile(t, readFile(t, filepath.Join(dir(t), "podman", "hitron-exporter.container")))
	for key := range u["Container"] {
		if !quadletKeys[key] {
			t.Errorf("[Container] %s is not a Quadlet key", key)
		}
	}
	c := u["Container"]
	if len(c["Image"]) != 1 || len(c["Exec"]) != 1 {
		t.Fatalf("[Container] needs one Image and one Exec: %v", c)
	}
	if c["Network"][0] != "host" {
		t.Errorf("Network = %v, want host like the original recipe", c["Network"])
	}
	mounts := map[string]bool{}
	for _, v := range c["Volume"] {
		parts := strings.Split(v, ":")
		if len(parts) < 3 || !strings.Contains(parts[2], "ro") {
			t.Errorf("Volume %q must be host:container:ro", v)
			continue
		}
		mounts[parts[1]] = true
	}
	for _, m := range []string{"/etc/ipa", "/etc/krb5.conf", "/etc/hitron-exporter/hitron-exporter.yml"} {
		if !mounts[m] {
			t.Errorf("no read-only mount of %s", m)
		}
	}
	// The keytab secret is where KRB5_CLIENT_KTNAME points.
	var target string
	for _, s := range c["Secret"] {
		for _, opt := range strings.Split(s, ",") {
			if v, ok := strings.CutPrefix(opt, "target="); ok {
				target = v
			}
		}
	}
	env := strings.Join(c["Environment"], " ")
	if target == "" || !strings.Contains(env, "KRB5_CLIENT_KTNAME=/run/secrets/"+target) {
		t.Errorf("KRB5_CLIENT_KTNAME (%s) does not point at the keytab secret %q", env, target)
	}
	if strings.Contains(env, "KRB5CCNAME") {
		t.Error("KRB5CCNAME is not needed: the FreeIPA provider uses no ticket cache")
	}
	if !strings.Contains(c["Exec"][0], "--config.file=/etc/hitron-exporter/hitron-exporter.yml") {
		t.Errorf("Exec %q does not load the mounted config", c["Exec"][0])
	}
}
