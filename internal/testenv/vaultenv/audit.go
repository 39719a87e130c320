package vaultenv

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"
)

// Audit is a file audit device; tests read it to count requests.
type Audit struct {
	// Path is the audit log file.
	Path string
}

// AuditEntry is one request entry of the audit log.
type AuditEntry struct {
	// Path is the request path, such as "secret/data/hitron/modem".
	Path string
	// Operation is "read", "update", "create", ...
	Operation string
	// Error is the error the response carried, if any.
	Error string
}

// EnableFileAudit enables a file audit device writing to a file in the
// server's directory. Secret values in the log are HMAC'd by Vault.
func (s *Server) EnableFileAudit(t testing.TB) *Audit {
	t.Helper()
	p := filepath.Join(s.Dir, "audit-"+RandomString(4)+".log")
	err := s.Client(t).Sys().EnableAuditWithOptionsWithContext(ctx(t), "file-"+RandomString(4), &api.EnableAuditOptions{
		Type:    "file",
		Options: map[string]string{"file_path": p},
	})
	if err != nil {
		t.Fatalf("vaultenv: enable file audit: %v", err)
	}
	return &Audit{Path: p}
}

// Responses returns the response entries logged so far (one per completed
// request).
func (a *Audit) Responses(t testing.TB) []AuditEntry {
	t.Helper()
	f, err := os.Open(a.Path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		t.Fatalf("vaultenv: open audit log: %v", err)
	}
	defer f.Close()
	var out []AuditEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		var e struct {
			Type    string `json:"type"`
			Error   string `json:"error"`
			Request struct {
				Path      string `json:"path"`
				Operation string `json:"operation"`
			} `json:"request"`
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.Type != "response" {
			continue
		}
		out = append(out, AuditEntry{Path: e.Request.Path, Operation: e.Request.Operation, Error: e.Error})
	}
	return out
}

// Count returns how many completed requests had the given operation and a
// path ending in pathSuffix (an empty operation matches any).
func (a *Audit) Count(t testing.TB, operation, pathSuffix string) int {
	t.Helper()
	n := 0
	for _, e := range a.Responses(t) {
		if (operation == "" || e.Operation == operation) && strings.HasSuffix(e.Path, pathSuffix) {
			n++
		}
	}
	return n
}
