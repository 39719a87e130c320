package server

import (
	"net/http"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: every
// probe, including failed and timed-out ones, must clean up after itself.
// The prober keeps a finished probe's goroutine for the next one for a
// second (runnerIdle), so the check is made again for up to two seconds.
func TestMain(m *testing.M) {
	code := m.Run()
	http.DefaultClient.CloseIdleConnections()
	if code == 0 {
		err := goleak.Find()
		for i := 0; err != nil && i < 4; i++ {
			time.Sleep(500 * time.Millisecond)
			err = goleak.Find()
		}
		if err != nil {
			os.Stderr.WriteString("goroutine leak: " + err.Error() + "\n")
			code = 1
		}
	}
	os.Exit(code)
}
