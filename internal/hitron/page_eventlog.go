package hitron

import (
	"errors"
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
func parseEventLogPage(d *Data, body []byte, maxRows int) error {
	if maxRows <= 0 {
		maxRows = DefaultMaxPageRows
	}
	log, err := eventlog.ParseRowsLimit(body, time.UTC, maxRows)
	if errors.Is(err, eventlog.ErrTooManyRows) {
		return fmt.Errorf("%w: %w", ErrTooManyRows, err)
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNotJSON, err)
	}
	return setEventLog(d, log, maxRows)
}

// setEventLog keeps log in d unless it has more rows than maxRows (0:
// DefaultMaxPageRows), the bound every page has: ErrTooManyRows.
func setEventLog(d *Data, log eventlog.Log, maxRows int) error {
	if maxRows <= 0 {
		maxRows = DefaultMaxPageRows
	}
	if n := len(log.Entries) + log.Dropped; n > maxRows {
		return fmt.Errorf("%w: an event log of %d rows (the limit is %d)", ErrTooManyRows, n, maxRows)
	}
	d.EventLog = &log
	return nil
}
