package probe

import (
	"bytes"
	"runtime"
	"testing"
	"time"
)

// goroutineID reads the running goroutine's number from its stack header
// ("goroutine 12 [running]:"), to tell goroutines apart in a test.
func goroutineID() string {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	f := bytes.Fields(buf)
	if len(f) < 2 {
		return ""
	}
	return string(f[1])
}

// runOn runs a task on r and returns the goroutine it ran on.
func runOn(r *runners) string {
	id := make(chan string, 1)
	r.run(func() { id <- goroutineID() })
	return <-id
}

func TestRunners(t *testing.T) {
	tests := []struct {
		name string
		idle time.Duration // how long the pool's goroutines wait for more
		// check runs tasks on the pool.
		check func(t *testing.T, r *runners, idle time.Duration)
	}{
		{"a finished probe's goroutine runs the next", 5 * time.Second, func(t *testing.T, r *runners, _ time.Duration) {
			first := runOn(r)
			// The goroutine sends before it returns to waiting: give it
			// time to get there, or run would rightly start another.
			for range 100 {
				if got := runOn(r); got == first {
					return
				}
				time.Sleep(time.Millisecond)
			}
			t.Fatal("every task ran on a new goroutine")
		}},
		{"a probe in progress does not hold up the next", 10 * time.Millisecond, func(t *testing.T, r *runners, _ time.Duration) {
			release := make(chan struct{})
			started := make(chan struct{})
			r.run(func() { close(started); <-release })
			<-started
			done := make(chan struct{})
			r.run(func() { close(done) })
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("the second task waited for the first")
			}
			close(release)
		}},
		{"an idle goroutine ends", 10 * time.Millisecond, func(t *testing.T, r *runners, idle time.Duration) {
			first := runOn(r)
			time.Sleep(20 * idle)
			if got := runOn(r); got == first {
				t.Fatalf("goroutine %s still took tasks after %s idle", got, 20*idle)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, newRunners(tt.idle), tt.idle)
		})
	}
}
