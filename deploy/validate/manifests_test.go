package validate

import (
	"path/filepath"
	"strings"
	"testing"
)

// variants are the Deployment flavours in deploy/kubernetes; each is
// applied together with base/.
var variants = []string{"keytab", "vault-agent-file", "vault-agent-proxy"}

// external are the objects the docs tell the user to create with kubectl
// (binary keytab, the IPA CA), with the file names they carry.
var external = map[string]bool{
	"hitron-exporter-keytab":                        true,
	"hitron-exporter-keytab/hitron-exporter.keytab": true,
	"hitron-exporter-ipa-ca":                        true,
}

func TestKubernetesManifests(t *testing.T) {
	d := newDecoder(t)
	base := d.loadDir(t, filepath.Join(deployDir(), "kubernetes", "base"))
	for _, v := range variants {
		t.Run(v, func(t *testing.T) {
			objs := append(append([]object{}, base...), d.loadDir(t, filepath.Join(deployDir(), "kubernetes", v))...)
			for _, p := range check(objs, external) {
				t.Error(p)
			}
		})
	}
}

// TestChecksCatchMistakes breaks a valid variant in the ways the checks are
// meant to catch and expects each to be reported.
func TestChecksCatchMistakes(t *testing.T) {
	d := newDecoder(t)
	// Decode afresh for every case: the mutations change the objects.
	load := func(v string) []object {
		base := d.loadDir(t, filepath.Join(deployDir(), "kubernetes", "base"))
		return append(base, d.loadDir(t, filepath.Join(deployDir(), "kubernetes", v))...)
	}
	tests := []struct {
		variant string
		name    string
		mutate  func(s *set)
		want    string
	}{
		{"keytab", "keytab env outside mounts", func(s *set) {
			s.deployments[0].Spec.Template.Spec.Containers[0].Env[0].Value = "/elsewhere/x.keytab"
		}, "KRB5_CLIENT_KTNAME=/elsewhere/x.keytab is not provided"},
		{"keytab", "ticket cache", func(s *set) {
			c := &s.deployments[0].Spec.Template.Spec.Containers[0]
			c.Env = append(c.Env, c.Env[0])
			c.Env[len(c.Env)-1].Name = "KRB5CCNAME"
		}, "KRB5CCNAME"},
		{"keytab", "selector mismatch", func(s *set) {
			s.services[0].Spec.Selector = map[string]string{"app": "other"}
		}, "does not select the exporter pods"},
		{"keytab", "latest image", func(s *set) {
			s.deployments[0].Spec.Template.Spec.Containers[0].Image = "x/hitron-exporter:latest"
		}, "non-latest tag"},
		{"vault-agent-file", "rendered file unused", func(s *set) {
			s.configMaps["hitron-exporter-config"].Data["hitron-exporter.yml"] = "auths: {lab: {file: {path: /other.yml}}}\n"
		}, "is not the path of any file profile"},
		{"vault-agent-proxy", "proxy unused", func(s *set) {
			s.configMaps["hitron-exporter-config"].Data["hitron-exporter.yml"] = "auths: {v: {vault: {address: 'https://vault:8200', auth: {method: token}}}}\n"
		}, "is not used by any vault profile"},
		{"vault-agent-proxy", "unpinned broker target", func(s *set) {
			s.configMaps["hitron-exporter-config"].Data["hitron-exporter.yml"] = "auths: {v: {vault: {address: 'http://127.0.0.1:8200', auth: {method: agent}}}}\ntargets: {x: {auth: v}}\n"
		}, "without a fingerprint"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			objs := load(tc.variant)
			s, _ := index(objs)
			tc.mutate(s)
			problems := check(objs, external)
			for _, p := range problems {
				if strings.Contains(p, tc.want) {
					return
				}
			}
			t.Errorf("no problem containing %q; got %q", tc.want, problems)
		})
	}
}
