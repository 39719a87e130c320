package server

import (
	"bytes"
	"net/http"
	"strconv"
	"sync"
)

// maxBufferedAnswer is how much of an answer is held back to be sent in one
// piece; a longer one (a modem reporting thousands of channels) streams.
const maxBufferedAnswer = 1 << 20

// answerBuffers recycles the buffers of bufferedResponse.
type answerBuffers struct{ pool sync.Pool }

func (a *answerBuffers) get() *bytes.Buffer {
	if b, ok := a.pool.Get().(*bytes.Buffer); ok {
		return b
	}
	return bytes.NewBuffer(make([]byte, 0, 32<<10))
}

func (a *answerBuffers) put(b *bytes.Buffer) {
	if b.Cap() <= 256<<10 {
		b.Reset()
		a.pool.Put(b)
	}
}

// bufferedResponse holds a handler's answer and sends it in one piece with
// its Content-Length. promhttp writes a probe's exposition family by
// family, which through the connection's small buffer became a chunked
// answer of half a dozen write system calls; held back, it takes two.
type bufferedResponse struct {
	http.ResponseWriter
	status    int
	body      *bytes.Buffer
	streaming bool // the answer outgrew maxBufferedAnswer: pass writes on
	// err is the first error writing to the client (gone, or past the
	// write deadline); later writes are not tried.
	err error
}

// WriteHeader records the status; it is sent with the body.
func (b *bufferedResponse) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
	if b.streaming {
		b.ResponseWriter.WriteHeader(code)
	}
}

// Write holds p back, or passes it on once the answer is too long to hold.
func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	if b.err != nil {
		return 0, b.err
	}
	if b.streaming {
		return b.pass(p)
	}
	if b.body.Len()+len(p) <= maxBufferedAnswer {
		return b.body.Write(p)
	}
	b.streaming = true
	b.ResponseWriter.WriteHeader(b.status)
	if _, err := b.pass(b.body.Bytes()); err != nil {
		return 0, err
	}
	b.body.Reset()
	return b.pass(p)
}

// pass writes p to the client, recording the first error.
func (b *bufferedResponse) pass(p []byte) (int, error) {
	n, err := b.ResponseWriter.Write(p)
	if err != nil && b.err == nil {
		b.err = err
	}
	return n, err
}

// send writes what was held back, with its length.
func (b *bufferedResponse) send() {
	if b.streaming {
		return
	}
	if b.status == 0 {
		b.status = http.StatusOK
	}
	b.ResponseWriter.Header().Set("Content-Length", strconv.Itoa(b.body.Len()))
	b.ResponseWriter.WriteHeader(b.status)
	if _, err := b.pass(b.body.Bytes()); err != nil {
		return
	}
	// The last bytes would be flushed after the handler returns, where a
	// failure goes unseen.
	if err := http.NewResponseController(b.ResponseWriter).Flush(); err != nil && b.err == nil {
		b.err = err
	}
}
