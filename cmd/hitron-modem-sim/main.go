// Command hitron-modem-sim runs the simulated Hitron modem on its own, in
// any login dialect (-dialect), for trying the exporter, Prometheus set-ups
// and load tests without hardware. It prints the certificate fingerprint to
// pin.
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/hitron-exporter/hitron-exporter/internal/modemsim"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	fs := flag.NewFlagSet("hitron-modem-sim", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:8443", "Address to serve HTTPS on.")
	username := fs.String("username", "admin", "Username the modem accepts.")
	passwordFile := fs.String("password-file", "", "File holding the password the modem accepts (default: \"password\").")
	dataSet := fs.String("dataset", modemsim.DefaultDataSet, "Data set to serve: "+strings.Join(modemsim.DataSets(), ", "))
	fault := fs.String("fault", "", "Fault to switch on: "+faultNames())
	latency := fs.Duration("latency", 0, "Delay added to every request (the device is slow).")
	lockAfter := fs.Int("lock-after", 5, "Wrong passwords in a row before LoginProtect.")
	lockFor := fs.Duration("lock-for", 5*time.Minute, "How long LoginProtect lasts.")
	certFile := fs.String("cert", "", "PEM certificate to serve (default: a generated device-like one).")
	keyFile := fs.String("key", "", "PEM key for -cert.")
	modern := fs.Bool("modern-tls", false, "Offer Go's default TLS instead of the device's TLS 1.2 with RSA key exchange.")
	amplifyBytes := fs.Int("amplify-bytes", 0, "Body length of the amplify fault's row pages (default just under 4 MiB).")
	dripDelay := fs.Duration("drip-delay", 0, "Wait between bytes of the drip-body and drip-headers faults (default 100ms).")
	cookieFlood := fs.Int("cookie-flood", 0, "Cookies the cookie-flood fault sets per answer (default 2000).")
	dialect := fs.String("dialect", "", "Login dialect to speak: "+strings.Join(modemsim.Dialects, ", ")+" (default: the data set's, open for CODA-45/CODA-56, rest for "+modemsim.DefaultRESTDataSet+", cgn otherwise; -dialect rest without -dataset serves "+modemsim.DefaultRESTDataSet+").")
	eventLog := fs.String("event-log", "full", "Which event log (CM/Log) the rest dialect serves: full, wrapped (four newer events, the oldest gone) or cleared.")
	passwordField := fs.String("password-field", "pws", "Password form field of the coda-userid login: pws (Rogers) or pwd (Shaw).")
	plainHTTP := fs.Bool("insecure-http", false, "Serve plain HTTP instead of HTTPS, as some CODA firmware does.")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	dataSetGiven := false
	fs.Visit(func(f *flag.Flag) { dataSetGiven = dataSetGiven || f.Name == "dataset" })
	if *dialect == modemsim.DialectREST && !dataSetGiven {
		*dataSet = modemsim.DefaultRESTDataSet
	}
	logStates := map[string]modemsim.EventLogState{"full": modemsim.EventLogFull, "wrapped": modemsim.EventLogWrapped, "cleared": modemsim.EventLogCleared}
	logState, ok := logStates[*eventLog]
	if !ok {
		fmt.Fprintf(os.Stderr, "unknown -event-log %q (have full, wrapped, cleared)\n", *eventLog)
		return 2
	}
	cfg := modemsim.Config{
		Username: *username, DataSet: *dataSet, Latency: *latency, LockAfter: *lockAfter, LockFor: *lockFor, ModernTLS: *modern,
		AmplifyBytes: *amplifyBytes, DripDelay: *dripDelay, CookieFloodCount: *cookieFlood,
		Dialect: *dialect, PasswordField: *passwordField, PlainHTTP: *plainHTTP,
	}
	if cfg.Dialect == "" {
		cfg.Dialect = modemsim.DefaultDialect(*dataSet)
	}
	if *passwordFile != "" {
		raw, err := os.ReadFile(*passwordFile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		cfg.Password = strings.TrimRight(string(raw), "\r\n")
	}
	if *certFile != "" {
		cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		cfg.Certificate = &cert
	}
	sim, err := modemsim.New(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if *fault != "" && !slices.Contains(modemsim.Faults, modemsim.Fault(*fault)) {
		fmt.Fprintf(os.Stderr, "unknown fault %q (have %s)\n", *fault, faultNames())
		return 2
	}
	sim.SetFault(modemsim.Fault(*fault))
	sim.SetEventLog(logState)
	if err := sim.Start(*listen); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("simulated %s modem (dialect %s) on %s\nfingerprint: %s\n", *dataSet, sim.Dialect(), sim.URL(), sim.Fingerprint())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	_ = sim.Close()
	return 0
}

func faultNames() string {
	names := make([]string, len(modemsim.Faults))
	for i, f := range modemsim.Faults {
		names[i] = string(f)
	}
	return strings.Join(names, ", ")
}
