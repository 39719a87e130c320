package ipaemu

import (
	"encoding/json"
	"slices"
)

// The minimal `schema` answer that the Python ipa CLI (4.9.11) accepts for
// vault-retrieve (reference §6.3). Without it the CLI falls back to its
// bundled compat plugins, which cannot use AES.

func flag(name string) map[string]any {
	return map[string]any{"name": name, "type": "bool", "default": []string{"False"}, "positional": false, "required": false}
}

func containerParams() []any {
	return []any{
		map[string]any{"name": "cn", "type": "str", "cli_name": "name", "label": "Vault name"},
		map[string]any{"name": "service", "type": "Principal", "required": false, "label": "Service"},
		map[string]any{"name": "shared", "type": "bool", "required": false, "default": []string{"False"}, "label": "Shared"},
		map[string]any{"name": "username", "type": "str", "required": false, "cli_name": "user", "label": "Username"},
	}
}

func stdOutput(valueType string) []any {
	return []any{
		map[string]any{"name": "summary", "type": "str", "required": false},
		map[string]any{"name": "result", "type": "dict"},
		map[string]any{"name": "value", "type": valueType},
	}
}

func (s *Server) schemaFingerprint(opts Options) string {
	if opts.Legacy {
		return "ipaemu-legacy-1"
	}
	return "ipaemu-modern-1"
}

func (s *Server) schema(options map[string]json.RawMessage, opts Options) (any, *rpcErr) {
	fp := s.schemaFingerprint(opts)
	if raw, ok := options["known_fingerprints"]; ok {
		var known []string
		_ = json.Unmarshal(raw, &known)
		if slices.Contains(known, fp) {
			e := newErr(4311, "SchemaUpToDate", "Schema is up to date (FP '"+fp+"', TTL 3600 s)")
			e.Data = map[string]any{"fingerprint": fp, "ttl": 3600}
			return nil, e
		}
	}
	show := map[string]any{
		"name": "vault_show", "version": "1", "full_name": "vault_show/1",
		"doc": "Display information about a vault.", "topic_topic": "vault/1",
		"obj_class": "vault/1", "attr_name": "show",
		"params": append(containerParams(), flag("rights"), flag("all"), flag("raw"), flag("no_members")),
		"output": stdOutput("str"),
	}
	retrieveParams := append(containerParams(),
		map[string]any{"name": "session_key", "type": "bytes", "positional": false, "label": "Session key wrapped with transport certificate"},
	)
	if !opts.Legacy {
		retrieveParams = append(retrieveParams, map[string]any{"name": "wrapping_algo", "type": "str", "required": false,
			"default": []string{"des-ede3-cbc"}, "label": "Key wrapping algorithm"})
	}
	retrieveParams = append(retrieveParams, flag("all"), flag("raw"))
	retrieve := map[string]any{
		"name": "vault_retrieve_internal", "version": "1", "full_name": "vault_retrieve_internal/1",
		"doc": "Retrieve data from a vault.", "topic_topic": "vault/1", "exclude": []string{"cli"},
		"obj_class": "vault/1", "attr_name": "retrieve_internal",
		"params": retrieveParams, "output": stdOutput("str"),
	}
	config := map[string]any{
		"name": "vaultconfig_show", "version": "1", "full_name": "vaultconfig_show/1",
		"doc": "Show vault configuration.", "topic_topic": "vault/1",
		"obj_class": "vaultconfig/1", "attr_name": "show",
		"params": []any{
			map[string]any{"name": "transport_out", "type": "str", "required": false, "label": "Output file to store the transport certificate"},
			flag("all"), flag("raw"),
		},
		"output": stdOutput("NoneType"),
	}
	classes := []any{
		map[string]any{"name": "vault", "version": "1", "full_name": "vault/1", "params": []any{
			map[string]any{"name": "cn", "type": "str"},
			map[string]any{"name": "description", "type": "str", "required": false},
			map[string]any{"name": "ipavaulttype", "type": "str", "required": false},
			map[string]any{"name": "ipavaultsalt", "type": "bytes", "required": false},
			map[string]any{"name": "ipavaultpublickey", "type": "bytes", "required": false},
		}},
		map[string]any{"name": "vaultconfig", "version": "1", "full_name": "vaultconfig/1", "params": []any{
			map[string]any{"name": "transport_cert", "type": "bytes", "required": false},
		}},
	}
	topics := []any{map[string]any{"name": "vault", "version": "1", "full_name": "vault/1", "doc": "Vaults"}}
	return map[string]any{"result": map[string]any{
		"fingerprint": fp, "ttl": 3600, "version": "2.251",
		"commands": []any{show, retrieve, config}, "classes": classes, "topics": topics,
	}}, nil
}
