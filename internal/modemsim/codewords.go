package modemsim

import (
	"encoding/json"
	"strconv"
)

// codewordPages are the pages whose rows carry codeword counters.
var codewordPages = map[string]bool{"dsinfo": true, "dsofdminfo": true}

// growCodewords returns body with every integer "correcteds" counter raised
// by reads×perRead and every integer "uncorrect" counter by reads, as a
// line that keeps correcting errors would show between probes. Rows whose
// counters are placeholders or odd spellings are left as they are, and so
// is a body that is not an array of objects.
func growCodewords(body []byte, reads, perRead int64) []byte {
	var rows []map[string]json.RawMessage
	if err := json.Unmarshal(body, &rows); err != nil {
		return body
	}
	for _, row := range rows {
		add(row, "correcteds", reads*perRead)
		add(row, "uncorrect", reads)
	}
	out, err := json.Marshal(rows)
	if err != nil {
		return body
	}
	return out
}

func add(row map[string]json.RawMessage, key string, n int64) {
	var s string
	if json.Unmarshal(row[key], &s) != nil {
		return
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return
	}
	row[key], _ = json.Marshal(strconv.FormatInt(v+n, 10))
}
