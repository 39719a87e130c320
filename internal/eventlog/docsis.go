package eventlog

import "slices"

// Timeout is a DOCSIS ranging timer whose expiry the log reports.
type Timeout uint8

// The ranging timeouts users alert on.
const (
	NoTimeout Timeout = iota
	// T3: the modem sent a ranging request and no ranging response came.
	T3
	// T4: no unicast maintenance (station ranging) opportunity came.
	T4
)

// Event IDs are the CableLabs DOCSIS event numbers: the event code's letter
// as its ASCII value, then the code's number and sub-number, two digits each
// (R02.0 → 'R' = 82, 0002, 00 → 82000200). The definitions are in the DOCSIS
// OSSI specification, annex "Format and Content for Event, Syslog, and SNMP
// Notification" (CM-SP-OSSIv3.0 Annex D; CM-SP-CM-OSSIv3.1 carries the same
// table). The specification was not readable from this project's sources;
// each ID below was checked against public event-log captures that show the
// ID or the code together with the standard text:
//
//   - pastebin.com/7itrChF1, a DOCSIS 3.0 modem's log with numeric IDs:
//     "82000200 3 No Ranging Response received - T3 time-out" and
//     "82000300 3 Ranging Request Retries exhausted" (the encoding is also
//     borne out there by 84000500 = T05.0 "SYNC Timing Synchronization
//     failure - Loss of Sync" and 84020200 = T202.0 "Lost MDD Timeout");
//   - pastebin.com/x0CknJk3, a log with codes: R02.0 "No Ranging Response
//     received - T3 time-out", R03.0 "Ranging Request Retries exhausted",
//     R04.0 "Received Response to Broadcast Maintenance Request, But no
//     Unicast Maintenance opportunities received - T4 time out" and R06.0
//     "Unicast Maintenance Ranging attempted - No response - Retries
//     exhausted", all at priority 3 (critical);
//   - speedguide.net/faq/docsis-t1-t2-t3-t4-timeout-errors-515 and
//     volpefirm.com/docsis_timout_descriptions: R03.0 is what operators call
//     the T3 timeout, R04.0 the T4 timeout.
//
// R05.0 ("Started Unicast Maintenance Ranging - no Response received - T3
// time-out", 82000500) is widely reported but no capture of it was found, so
// it is not mapped; add it here once one is.
var timeouts = map[string]Timeout{
	"82000200": T3, // R02.0 No Ranging Response received - T3 time-out
	"82000300": T3, // R03.0 Ranging Request Retries exhausted (16 T3 expiries)
	"82000600": T3, // R06.0 Unicast Maintenance Ranging attempted - No response - Retries exhausted
	"82000400": T4, // R04.0 … no Unicast Maintenance opportunities received - T4 time out
}

// TimeoutOf returns the ranging timeout a DOCSIS event ID reports, or
// NoTimeout.
func TimeoutOf(eventID string) Timeout { return timeouts[eventID] }

// TimeoutIDs lists the event IDs that report timeout to, sorted.
func TimeoutIDs(to Timeout) []string {
	var ids []string
	for id, t := range timeouts {
		if t == to {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}
