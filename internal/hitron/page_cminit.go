package hitron

import (
	"fmt"
	"strings"
)

// This file reads getCMInit.asp: the DOCSIS provisioning steps and BPI status.

// InitStep is one DOCSIS provisioning step of getCMInit.asp.
type InitStep struct {
	// Name is the metric label: hw_init, find_downstream, …
	Name string
	// Raw is the firmware's value ("Success", "Secret", "Processing..." …).
	Raw string
}

// Success reports whether the step completed.
func (s InitStep) Success() bool { return strings.EqualFold(strings.TrimSpace(s.Raw), "success") }

// Hidden reports whether the ISP hides the step's value ("Secret") or the
// firmware gave a placeholder.
func (s InitStep) Hidden() bool {
	return strings.EqualFold(strings.TrimSpace(s.Raw), "secret") || IsPlaceholder(s.Raw)
}

// InitStatus is getCMInit.asp.
type InitStatus struct {
	Steps []InitStep
	// BPI holds bpiStatus split into lower-cased key/value pairs
	// ("auth"→"authorized", "tek"→"operational"), in order.
	BPI           [][2]string
	NetworkAccess string
	TrafficStatus string
}

// cmInitJSON is the page's JSON shape (only the fields read).
type cmInitJSON struct {
	HWInit         *flex `json:"hwInit"`
	FindDownstream *flex `json:"findDownstream"`
	Ranging        *flex `json:"ranging"`
	DHCP           *flex `json:"dhcp"`
	TimeOfDay      *flex `json:"timeOfday"`
	DownloadCfg    *flex `json:"downloadCfg"`
	Registration   *flex `json:"registration"`
	BPIStatus      flex  `json:"bpiStatus"`
	NetworkAccess  flex  `json:"networkAccess"`
	TrafficStatus  flex  `json:"trafficStatus"`
}

// parseCMInitPage reads the page into d.
func parseCMInitPage(d *Data, body []byte, maxRows int) error {
	r, err := firstRow[cmInitJSON](body, maxRows)
	if err != nil {
		return err
	}
	if strings.Count(r.BPIStatus.String(), ",") >= maxRows {
		return fmt.Errorf("%w: bpiStatus of more than %d pairs", ErrTooManyRows, maxRows)
	}
	d.Init = parseCMInit(r)
	return nil
}

func parseCMInit(r cmInitJSON) *InitStatus {
	st := &InitStatus{NetworkAccess: r.NetworkAccess.String(), TrafficStatus: r.TrafficStatus.String()}
	steps := []struct {
		name string
		v    *flex
	}{
		{"hw_init", r.HWInit}, {"find_downstream", r.FindDownstream}, {"ranging", r.Ranging}, {"dhcp", r.DHCP},
		{"time_of_day", r.TimeOfDay}, {"download_config", r.DownloadCfg}, {"registration", r.Registration},
	}
	for _, step := range steps {
		if step.v != nil {
			st.Steps = append(st.Steps, InitStep{Name: step.name, Raw: step.v.String()})
		}
	}
	st.BPI = parseBPI(r.BPIStatus.String())
	return st
}

// parseBPI splits "AUTH:authorized, TEK:operational" into lower-cased pairs.
// Keys that are not valid label names are dropped.
func parseBPI(s string) [][2]string {
	var out [][2]string
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(part, ":")
		if !ok {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		v = strings.ToLower(strings.TrimSpace(v))
		if !labelName(k) || seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, [2]string{k, v})
	}
	return out
}

func labelName(s string) bool {
	if s == "" || strings.HasPrefix(s, "__") {
		return false
	}
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
