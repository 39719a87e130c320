package modemsim_test

import (
	"bytes"
	"crypto/tls"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hitron-exporter/hitron-exporter/internal/modemsim"
	"github.com/hitron-exporter/hitron-exporter/internal/pin"
	"github.com/hitron-exporter/hitron-exporter/internal/testenv/testkit"
)

// browser is a raw HTTP client with its own cookie jar, like a person's
// browser or the original Python exporter.
type browser struct {
	t    *testing.T
	sim  *modemsim.Simulator
	http *http.Client
}

func newBrowser(t *testing.T, sim *modemsim.Simulator) *browser {
	jar, _ := cookiejar.New(nil)
	cfg := pin.ClientConfig(pin.Options{Pin: pin.Require(sim.Fingerprint())})
	return &browser{t: t, sim: sim, http: &http.Client{
		Jar:           jar,
		Transport:     &http.Transport{TLSClientConfig: cfg},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (b *browser) do(req *http.Request) (int, string, http.Header) {
	b.t.Helper()
	resp, err := b.http.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

func (b *browser) get(path string) (int, string, http.Header) {
	req, _ := http.NewRequest(http.MethodGet, b.sim.URL()+path, nil)
	return b.do(req)
}

func (b *browser) preSession() string {
	code, _, _ := b.get("/")
	if code != http.StatusFound {
		b.t.Fatalf("GET / = %d, want 302", code)
	}
	u, _ := url.Parse(b.sim.URL())
	for _, c := range b.http.Jar.Cookies(u) {
		if c.Name == "preSession" {
			return c.Value
		}
	}
	b.t.Fatal("no preSession cookie")
	return ""
}

// login posts the form urlencoded or multipart (the original exporter's way).
func (b *browser) login(user, pass string, force, multipartForm bool) string {
	pre := b.preSession()
	fields := map[string]string{"usr": user, "pwd": pass, "forcelogoff": "0", "preSession": pre}
	if force {
		fields["forcelogoff"] = "1"
	}
	var body bytes.Buffer
	ctype := "application/x-www-form-urlencoded"
	if multipartForm {
		w := multipart.NewWriter(&body)
		for k, v := range fields {
			_ = w.WriteField(k, v)
		}
		_ = w.Close()
		ctype = w.FormDataContentType()
	} else {
		vals := url.Values{}
		for k, v := range fields {
			vals.Set(k, v)
		}
		body.WriteString(vals.Encode())
	}
	req, _ := http.NewRequest(http.MethodPost, b.sim.URL()+"/goform/login", &body)
	req.Header.Set("Content-Type", ctype)
	_, text, _ := b.do(req)
	return text
}

func (b *browser) logout() int {
	req, _ := http.NewRequest(http.MethodPost, b.sim.URL()+"/goform/logout", strings.NewReader("data=byebye"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	code, _, _ := b.do(req)
	return code
}

func TestLoginFlow(t *testing.T) {
	for _, mp := range []bool{false, true} {
		name := "urlencoded"
		if mp {
			name = "multipart"
		}
		t.Run(name, func(t *testing.T) {
			sim := testkit.StartSim(t, modemsim.Config{Password: "pw"})
			b := newBrowser(t, sim)
			if code, _, h := b.get("/data/dsinfo.asp"); code != http.StatusFound || h.Get("Location") != "/login.html" {
				t.Fatalf("logged-out data request: %d %q", code, h.Get("Location"))
			}
			if got := b.login("admin", "pw", false, mp); got != "success" {
				t.Fatalf("login: %q", got)
			}
			code, body, h := b.get("/data/dsinfo.asp")
			if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "application/json") || !strings.Contains(body, "portId") {
				t.Fatalf("data: %d %q", code, body[:min(len(body), 80)])
			}
			if code, _, _ := b.get("/data/nonexistent.asp"); code != 404 {
				t.Fatalf("unknown page: %d", code)
			}
			if code := b.logout(); code != http.StatusFound {
				t.Fatalf("logout: %d", code)
			}
			if code, _, _ := b.get("/data/dsinfo.asp"); code != http.StatusFound {
				t.Fatalf("after logout: %d", code)
			}
		})
	}
}

func TestOneSessionRepeatLoginAndForce(t *testing.T) {
	sim := testkit.StartSim(t, modemsim.Config{Password: "pw"})
	person, exporter := newBrowser(t, sim), newBrowser(t, sim)
	if got := person.login("admin", "pw", false, false); got != "success" {
		t.Fatal(got)
	}
	if got := exporter.login("admin", "pw", false, false); got != "Repeat Login" {
		t.Fatalf("second session: %q", got)
	}
	if got := exporter.login("admin", "pw", true, false); got != "success" {
		t.Fatalf("forced: %q", got)
	}
	if code, _, _ := person.get("/data/getSysInfo.asp"); code != http.StatusFound {
		t.Fatalf("the forced-out session still works: %d", code)
	}
}

func TestLockOutAndPreSession(t *testing.T) {
	sim := testkit.StartSim(t, modemsim.Config{Password: "pw", LockAfter: 3, LockFor: time.Minute})
	b := newBrowser(t, sim)
	answers := []string{"Wrong Credentials.", "Wrong Credentials."}
	for _, want := range answers {
		if got := b.login("admin", "bad", false, false); got != want {
			t.Fatalf("got %q want %q", got, want)
		}
	}
	if got := b.login("admin", "bad", false, false); !strings.HasPrefix(got, "LoginProtect=3|1|0") {
		t.Fatalf("third wrong password: %q", got)
	}
	if got := b.login("admin", "pw", false, false); !strings.HasPrefix(got, "LoginProtect=3|0|") {
		t.Fatalf("right password while locked: %q", got)
	}
	sim.Unlock()
	// A login without the preSession echo is refused.
	req, _ := http.NewRequest(http.MethodPost, sim.URL()+"/goform/login", strings.NewReader("usr=admin&pwd=pw&forcelogoff=0"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if _, got, _ := newBrowser(t, sim).do(req); got != "Session timeout expired." {
		t.Fatalf("no preSession: %q", got)
	}
}

func TestSerialRequests(t *testing.T) {
	sim := testkit.StartSim(t, modemsim.Config{Password: "pw", Latency: 50 * time.Millisecond})
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			newBrowser(t, sim).get("/login.html")
		}()
	}
	wg.Wait()
	if elapsed := time.Since(start); elapsed < 200*time.Millisecond {
		t.Fatalf("4 requests of 50 ms took %s: not served one at a time", elapsed)
	}
	if st := sim.Stats(); st.MaxInFlight < 2 {
		t.Fatalf("MaxInFlight %d: the test did not send concurrently", st.MaxInFlight)
	}
}

func TestLegacyTLSOnly(t *testing.T) {
	sim := testkit.StartSim(t, modemsim.Config{})
	// Go's default client suites (ECDHE only since Go 1.22) are refused,
	// like an old modem does.
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	if resp, err := c.Get(sim.URL() + "/login.html"); err == nil {
		_ = resp.Body.Close()
		t.Fatal("a default Go TLS client connected to the legacy-TLS simulator")
	}
	if _, err := modemsim.New(modemsim.Config{DataSet: "nope"}); err == nil {
		t.Fatal("unknown data set accepted")
	}
}

// TestPasswordElsewhereIsCounted: the simulator notices the password in
// any request but a login: in the path, the query, a header or a body.
func TestPasswordElsewhereIsCounted(t *testing.T) {
	const pw = "s3cr3t pass"
	tests := []struct {
		name  string
		req   func(base string) *http.Request
		count int
	}{
		{"login body", func(base string) *http.Request {
			r, _ := http.NewRequest(http.MethodPost, base+"/goform/login", strings.NewReader(url.Values{"usr": {"admin"}, "pwd": {pw}}.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}, 0},
		{"query", func(base string) *http.Request {
			r, _ := http.NewRequest(http.MethodGet, base+"/data/dsinfo.asp?pwd="+url.QueryEscape(pw), nil)
			return r
		}, 1},
		{"cookie", func(base string) *http.Request {
			r, _ := http.NewRequest(http.MethodGet, base+"/data/dsinfo.asp", nil)
			r.Header.Set("Cookie", "p="+pw)
			return r
		}, 1},
		{"logout body", func(base string) *http.Request {
			r, _ := http.NewRequest(http.MethodPost, base+"/goform/logout", strings.NewReader("data=byebye&x="+url.QueryEscape(pw)))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}, 1},
		{"nothing", func(base string) *http.Request {
			r, _ := http.NewRequest(http.MethodGet, base+"/data/dsinfo.asp", nil)
			return r
		}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := testkit.StartSim(t, modemsim.Config{Password: pw})
			b := newBrowser(t, sim)
			b.do(tt.req(sim.URL()))
			if got := sim.Stats().PasswordElsewhere; got != tt.count {
				t.Fatalf("PasswordElsewhere = %d, want %d", got, tt.count)
			}
		})
	}
}

func TestHostileFaults(t *testing.T) {
	sim := testkit.StartSim(t, modemsim.Config{AmplifyBytes: 32 << 10, CookieFloodCount: 300})
	b := newBrowser(t, sim)
	if got := b.login("admin", "password", false, false); got != "success" {
		t.Fatalf("login: %q", got)
	}
	sim.SetFault(modemsim.FaultAmplify)
	if code, body, _ := b.get("/data/dsinfo.asp"); code != http.StatusOK || len(body) < 30<<10 {
		t.Errorf("amplify: HTTP %d, %d bytes", code, len(body))
	}
	sim.SetFault(modemsim.FaultCookieFlood)
	_, _, h := b.get("/data/getSysInfo.asp")
	if n := len(h.Values("Set-Cookie")); n != 300 {
		t.Errorf("cookie-flood: %d cookies, want 300", n)
	}
	sim.SetFault(modemsim.FaultEndlessHeaders)
	req, _ := http.NewRequest(http.MethodGet, sim.URL()+"/data/dsinfo.asp", nil)
	if resp, err := b.http.Do(req); err == nil {
		_ = resp.Body.Close()
		t.Error("endless-headers: net/http read an answer (its header limit should stop it): " + strconv.Itoa(resp.StatusCode))
	}
}
