package probe

import "time"

// runners runs probes on goroutines that are kept for the next probe a
// while after they finish. A probe's goroutine grows its stack in the TLS
// handshake and the page decoder; a new goroutine for every probe grew it
// again each time (runtime.morestack was about 2 % of the exporter's CPU at
// 300 modems). A goroutine is started only when none waits, so there are
// never more than the runs in flight at the busiest moment, as with one
// goroutine per run; one that has had nothing to run for runnerIdle ends.
type runners struct {
	tasks chan func()
	idle  time.Duration
}

// runnerIdle is how long a finished probe's goroutine waits for the next.
const runnerIdle = time.Second

func newRunners(idle time.Duration) *runners {
	return &runners{tasks: make(chan func()), idle: idle}
}

// run starts task on a waiting goroutine, or a new one when none waits.
func (r *runners) run(task func()) {
	select {
	case r.tasks <- task:
	default:
		go r.work(task)
	}
}

// work runs task, then whatever run hands it, until it has waited r.idle
// for nothing.
func (r *runners) work(task func()) {
	idle := time.NewTimer(r.idle)
	defer idle.Stop()
	for {
		task()
		task = nil // not kept alive while waiting
		idle.Reset(r.idle)
		select {
		case task = <-r.tasks:
		case <-idle.C:
			return
		}
	}
}
