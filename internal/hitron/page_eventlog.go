package hitron

import (
	"fmt"
	"time"

	"github.com/hitron-exporter/hitron-exporter/internal/eventlog"
)

// This file reads /data/status_log.asp: the DOCSIS event log, a bare JSON
// array of {index, time, type, priority, event}, as public clients of the
// CODA /data/ pages read it. The /data/ dialects do not fetch it until a
// capture confirms that shape (see fetchDataPage); the REST family's CM/Log
// has its own reader, ParseRESTLog.

// parseEventLogPage reads the page into d, its times as UTC wall clocks.
func parseEventLogPage(d *Data, body []byte, _ int) error {
	log, err := eventlog.ParseRows(body, time.UTC)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNotJSON, err)
	}
	d.EventLog = &log
	return nil
}
