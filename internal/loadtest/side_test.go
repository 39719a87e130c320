package loadtest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/hitron-exporter/hitron-exporter/internal/modemsim"
)

// TestSidesShareOneModemsProcess runs a modems process and both measured
// sides against it, as a paired measurement does: each side probes every
// modem on the schedule (the warm-up interval included) and none fails; an
// unknown side and a drive request without a schedule are refused.
func TestSidesShareOneModemsProcess(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "hitron-exporter")
	var out strings.Builder
	if err := BuildExporter(bin, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	harness := filepath.Join(t.TempDir(), "hitron-loadtest")
	if b, err := exec.Command("go", "build", "-o", harness, "github.com/hitron-exporter/hitron-exporter/cmd/hitron-loadtest").CombinedOutput(); err != nil {
		t.Fatalf("build the harness: %v\n%s", err, b)
	}
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	var log strings.Builder
	go func() {
		served <- ServeModems(ctx, ModemsOptions{Modems: 3, Latency: time.Millisecond, DataSet: modemsim.DefaultDataSet, Dir: dir, Control: "127.0.0.1:0", Log: &log})
	}()
	defer func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("modems process: %v", err)
		}
	}()
	for range 200 { // the modems file appears once the driver listens
		if _, err := os.Stat(filepath.Join(dir, modemsFileName)); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, side := range []string{"raw", "exporter", "http-floor", "raw-server", "sequential-exporter"} {
		t.Run(side, func(t *testing.T) {
			command := bin
			if side == "http-floor" || side == "raw-server" {
				command = harness
			}
			res, err := Side(context.Background(), SideOptions{Dir: dir, Side: side, Command: command, Interval: 300 * time.Millisecond, Duration: 600 * time.Millisecond, Probes: 2, FloorWait: 5 * time.Millisecond})
			if err != nil {
				t.Fatalf("%v\n%s", err, log.String())
			}
			t.Log(res)
			want := 3 // sequential: the probes counted, after three warm-up ones
			if side == "sequential-exporter" {
				want = 2
			}
			if res.Side != strings.TrimPrefix(side, "sequential-") {
				t.Errorf("%s: reported as side %q", res, res.Side)
			}
			if res.Probes < want || res.Failures != 0 || res.P50 <= 0 {
				t.Errorf("%s: want at least %d probes, none failed", res, want)
			}
		})
	}
	t.Run("unknown side", func(t *testing.T) {
		if _, err := Side(context.Background(), SideOptions{Dir: dir, Side: "other", Command: bin}); err == nil {
			t.Error("an unknown side was accepted")
		}
	})
	t.Run("driver refuses a request without a schedule", func(t *testing.T) {
		raw, err := os.ReadFile(filepath.Join(dir, modemsFileName))
		if err != nil {
			t.Fatal(err)
		}
		control := strings.Split(strings.Split(string(raw), `"control":"`)[1], `"`)[0]
		resp, err := http.Post("http://"+control+"/drive", "application/x-www-form-urlencoded", nil)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("status %s, want 400", resp.Status)
		}
	})
}

// TestFloorAnswerIsAProbesSize: the floor server's answer is a valid text
// exposition of about a CGNV4-FX4 probe's size, with probe_success 1 (the
// driver's check of a successful probe).
func TestFloorAnswerIsAProbesSize(t *testing.T) {
	answer := FloorAnswer()
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(answer))
	if err != nil {
		t.Fatalf("not a text exposition: %v", err)
	}
	samples := 0
	for _, f := range fams {
		samples += len(f.GetMetric())
	}
	if !bytes.Contains(answer, []byte("\nprobe_success 1\n")) || samples != floorSamples || len(answer) < 18<<10 || len(answer) > 24<<10 {
		t.Fatalf("%d samples in %d bytes; want probe_success 1 among %d samples, 18-24 KiB", samples, len(answer), floorSamples)
	}
}

// TestRawServerMakesTheExchanges: the raw server answers a probe of one of
// its modems with the floor's answer only after the raw client's exchanges
// with that modem succeeded (a refused password answers 502), and an
// unknown target with 404.
func TestRawServerMakesTheExchanges(t *testing.T) {
	sims, fp, err := startModems(1, 0, modemsim.LongTail{}, modemsim.DefaultDataSet, "")
	defer closeModems(sims)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, password, target string
		status                 int
	}{
		{"its modem", simPassword, sims[0].Addr(), http.StatusOK},
		{"a refused password", "wrong", sims[0].Addr(), http.StatusBadGateway},
		{"an unknown target", simPassword, "127.0.0.1:1", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := RawServerHandler(ModemsFile{Addrs: []string{sims[0].Addr()}, Fingerprint: fp.Hex(), Password: tt.password})
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/probe?target="+tt.target, nil))
			body, _ := io.ReadAll(rec.Body)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d", rec.Code, tt.status)
			}
			if answered := bytes.Equal(body, FloorAnswer()); answered != (tt.status == http.StatusOK) {
				t.Errorf("answered with the floor's answer: %v, want %v", answered, tt.status == http.StatusOK)
			}
		})
	}
}
