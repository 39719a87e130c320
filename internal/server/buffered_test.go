package server

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

func TestBufferedResponse(t *testing.T) {
	big := strings.Repeat("x", maxBufferedAnswer/4)
	tests := []struct {
		name          string
		status        int // 0: the handler sets none
		writes        []string
		wantLength    bool
		wantStatus    int
		wantBodyBytes int
	}{
		{"a small answer goes in one piece with its length", 0, []string{"a 1\n", "b 2\n"}, true, 200, 8},
		{"the status is kept", http.StatusInternalServerError, []string{"error\n"}, true, 500, 6},
		{"an empty answer", 0, nil, true, 200, 0},
		{"a long answer streams", 0, []string{big, big, big, big, big}, false, 200, 5 * len(big)},
	}
	var pool answerBuffers
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			buf := pool.get()
			defer pool.put(buf)
			bw := &bufferedResponse{ResponseWriter: rec, body: buf}
			bw.Header().Set("Content-Type", "text/plain")
			if tt.status != 0 {
				bw.WriteHeader(tt.status)
			}
			var want bytes.Buffer
			for _, w := range tt.writes {
				if _, err := bw.Write([]byte(w)); err != nil {
					t.Fatal(err)
				}
				want.WriteString(w)
			}
			bw.send()
			if rec.Code != tt.wantStatus {
				t.Errorf("status %d, want %d", rec.Code, tt.wantStatus)
			}
			if rec.Body.Len() != tt.wantBodyBytes || !bytes.Equal(rec.Body.Bytes(), want.Bytes()) {
				t.Errorf("body of %d bytes, want %d", rec.Body.Len(), tt.wantBodyBytes)
			}
			cl := rec.Header().Get("Content-Length")
			if tt.wantLength && cl != strconv.Itoa(tt.wantBodyBytes) || !tt.wantLength && cl != "" {
				t.Errorf("Content-Length %q", cl)
			}
			if rec.Header().Get("Content-Type") != "text/plain" {
				t.Error("the handler's headers were lost")
			}
		})
	}
}
