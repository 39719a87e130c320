package secrets

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestCredentialsRedaction(t *testing.T) {
	c := NewCredentials("admin", "hunter2")
	j, _ := json.Marshal(struct{ C Credentials }{c})
	txt, _ := c.MarshalText()
	for _, out := range []string{
		fmt.Sprintf("%v %+v %#v %s %q %x", c, c, c, c, c, c),
		fmt.Sprint(struct{ C Credentials }{c}),
		fmt.Sprintf("%+v", struct{ C *Credentials }{&c}),
		string(j), string(txt), slog.AnyValue(c).Resolve().String(),
	} {
		if strings.Contains(out, "hunter2") || strings.Contains(out, "admin") {
			t.Fatalf("leak: %s", out)
		}
	}
	mj, _ := c.MarshalJSON()
	y, _ := c.MarshalYAML()
	if string(mj) != `"<secret>"` || y != Redacted {
		t.Fatalf("marshal: %s %v", mj, y)
	}
	if c.Username() != "admin" || c.Password() != "hunter2" || c.IsZero() || !c.Equal(NewCredentials("admin", "hunter2")) {
		t.Fatal("the accessors do not return what was stored")
	}
}
