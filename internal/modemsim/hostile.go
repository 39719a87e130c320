package modemsim

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Hostile faults: a TLS server of an attacker's own that the exporter was
// pointed at, trying to exhaust its memory or hold its goroutines.
const (
	// FaultAmplify: every page that lists rows (channels, ports, clients)
	// answers AmplifyBytes of rows that all differ (channel ids,
	// frequencies, interfaces), so that every row would become series of
	// its own.
	FaultAmplify Fault = "amplify"
	// FaultDripBody: data pages declare their length and send the body a
	// byte every DripDelay.
	FaultDripBody Fault = "drip-body"
	// FaultDripHeaders: data pages send a status line and then header
	// bytes, one every DripDelay, without ever ending the headers.
	FaultDripHeaders Fault = "drip-headers"
	// FaultEndlessHeaders: data pages send header lines as fast as the
	// client reads them, without ever ending the headers (up to 1 GiB).
	FaultEndlessHeaders Fault = "endless-headers"
	// FaultCookieFlood: every answer, login page and login included, sets
	// CookieFloodCount cookies whose names no earlier answer used.
	FaultCookieFlood Fault = "cookie-flood"
)

// hostileDefaults fills in the hostile faults' settings.
func (c *Config) hostileDefaults() {
	if c.AmplifyBytes <= 0 {
		// Just under the client's default 4 MiB body limit: the most a
		// hostile page can get past it.
		c.AmplifyBytes = 4<<20 - 4<<10
	}
	if c.DripDelay <= 0 {
		c.DripDelay = 100 * time.Millisecond
	}
	if c.CookieFloodCount <= 0 {
		// Fits in the client's 64 KiB header limit, so the cookies reach
		// its cookie store.
		c.CookieFloodCount = 2000
	}
}

// floodCookies adds CookieFloodCount Set-Cookie headers to w, named
// after the request's number so that no earlier answer (since ResetStats)
// used the names.
func (s *Simulator) floodCookies(w http.ResponseWriter) {
	s.mu.Lock()
	serial := s.stats.Requests
	s.mu.Unlock()
	h := w.Header()
	prefix := "f" + strconv.Itoa(serial) + "x"
	for i := range s.cfg.CookieFloodCount {
		h.Add("Set-Cookie", prefix+strconv.Itoa(i)+"=1")
	}
}

// serveHostile answers a data page (name without .asp) for the hostile
// faults; it reports whether it did.
func (s *Simulator) serveHostile(w http.ResponseWriter, r *http.Request, fault Fault, name string, body func() ([]byte, bool)) bool {
	switch fault {
	case FaultAmplify:
		rows, ok := amplified(name, s.cfg.AmplifyBytes)
		if !ok {
			return false // a single-record page: served as usual
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(rows)))
		_, _ = w.Write(rows)
	case FaultDripBody:
		b, ok := body()
		if !ok {
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.WriteHeader(http.StatusOK)
		for i := range b {
			if _, err := w.Write(b[i : i+1]); err != nil {
				return true
			}
			if err := http.NewResponseController(w).Flush(); err != nil || !sleep(r.Context(), s.cfg.DripDelay) {
				return true
			}
		}
	case FaultDripHeaders, FaultEndlessHeaders:
		s.endlessHeaders(w, r, fault == FaultDripHeaders)
	default:
		return false
	}
	return true
}

// endlessHeaders takes over the connection and writes a status line and
// header lines that never end: slowly, a byte every DripDelay (drip), or
// as fast as the client reads, up to 1 GiB.
func (s *Simulator) endlessHeaders(w http.ResponseWriter, r *http.Request, drip bool) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer func() { _ = conn.Close() }()
	if drip {
		msg := "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Drip: " + strings.Repeat("a", 1<<20)
		for i := range len(msg) {
			if _, err := conn.Write([]byte{msg[i]}); err != nil || !sleep(r.Context(), s.cfg.DripDelay) {
				return
			}
		}
		return
	}
	if _, err := conn.Write([]byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")); err != nil {
		return
	}
	line := []byte("X-Padding: " + strings.Repeat("a", 1000) + "\r\n")
	for sent := 0; sent < 1<<30; sent += len(line) {
		_ = conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := conn.Write(line); err != nil {
			return
		}
	}
}

// amplified returns about size bytes of rows of page that all differ, or
// false for a page that is a single record.
func amplified(page string, size int) ([]byte, bool) {
	row := rowWriter(page)
	if row == nil {
		return nil, false
	}
	b := make([]byte, 0, size)
	b = append(b, '[')
	for i := 0; ; i++ {
		n := len(b)
		if i > 0 {
			b = append(b, ',')
		}
		b = row(b, i)
		if len(b)+1 > size {
			b = b[:n]
			break
		}
	}
	return append(b, ']'), true
}

// rowWriter returns the function appending row i of a row page, in the
// shape the firmware uses, or nil.
func rowWriter(page string) func(b []byte, i int) []byte {
	num := strconv.AppendInt
	switch page {
	case "dsinfo":
		return func(b []byte, i int) []byte {
			b = append(b, `{"portId":"`...)
			b = num(b, int64(i%64+1), 10)
			b = append(b, `","channelId":"`...)
			b = num(b, int64(i+1), 10)
			b = append(b, `","frequency":"`...)
			b = num(b, int64(100000000+i*8000), 10)
			b = append(b, `","modulation":"2","signalStrength":"3.400","snr":"40.366","dsoctets":"`...)
			b = num(b, int64(i)*977, 10)
			b = append(b, `","correcteds":"`...)
			b = num(b, int64(i), 10)
			b = append(b, `","uncorrect":"`...)
			b = num(b, int64(i%7), 10)
			return append(b, `"}`...)
		}
	case "usinfo":
		return func(b []byte, i int) []byte {
			b = append(b, `{"portId":"`...)
			b = num(b, int64(i%64+1), 10)
			b = append(b, `","channelId":"`...)
			b = num(b, int64(i+1), 10)
			b = append(b, `","frequency":"`...)
			b = num(b, int64(5000000+i*1000), 10)
			b = append(b, `","bandwidth":"6400000","scdmaMode":"ATDMA","modtype":"64QAM","signalStrength":"`...)
			b = num(b, int64(30+i%20), 10)
			return append(b, `.000"}`...)
		}
	case "dsofdminfo":
		return func(b []byte, i int) []byte {
			b = append(b, `{"receive":"`...)
			b = num(b, int64(i), 10)
			b = append(b, `","ffttype":"4K","Subcarr0freqFreq":"`...)
			b = num(b, int64(275600000+i*1000), 10)
			b = append(b, `","plclock":"YES","ncplock":"YES","mdc1lock":"YES","plcpower":"1.5","SNR":"41","dsoctets":"`...)
			b = num(b, int64(i)*977, 10)
			return append(b, `","correcteds":"1","uncorrect":"0"}`...)
		}
	case "usofdminfo":
		return func(b []byte, i int) []byte {
			b = append(b, `{"uschindex":"`...)
			b = num(b, int64(i), 10)
			b = append(b, `","state":"ENABLED","frequency":"`...)
			b = num(b, int64(30000000+i*1000), 10)
			return append(b, `","digAtten":"0.5","channelBw":"10","repPower":"40","repPower1_6":"160","fftVal":"2K"}`...)
		}
	case "getLinkStatus":
		return func(b []byte, i int) []byte {
			// The port label is the row's position: every row differs.
			return append(b, `{"LinkStatus":"Up","LinkSpeed":"1000Mbps"}`...)
		}
	case "getConnectInfo":
		return func(b []byte, i int) []byte {
			b = append(b, `{"interface":"if`...)
			b = num(b, int64(i), 10)
			return append(b, `","online":"active"}`...)
		}
	}
	return nil
}
