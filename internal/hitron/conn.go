package hitron

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"sync"
	"syscall"
	"time"
)

// serialConn is a client's one connection to the modem. The device answers
// one request at a time, so a request is written and its answer read on the
// caller's goroutine, with net/http's own request writer (Request.Write) and
// response parser (http.ReadResponse). An http.Transport would add a
// connection pool and two goroutines per connection with channel hand-offs
// for every request: measured with cmd/hitron-loadtest, that machinery cost
// about as much CPU as the rest of a probe, and a serial device has no use
// for it.
type serialConn struct {
	dial    func(ctx context.Context) (net.Conn, error)
	tls     *tls.Config
	timeout time.Duration // bounds the dial and the TLS handshake

	mu   sync.Mutex
	conn net.Conn
	lim  limitedReader // between conn and br: bounds an answer's headers
	br   *bufio.Reader
	bw   *bufio.Writer
	// reused: the connection has carried a request already.
	reused bool
	// watched is the context whose cancellation hook is registered, and
	// unwatch removes that hook. Requests made with one context (a probe's
	// login and pages) share one registration instead of one each.
	watched context.Context
	unwatch func() bool
	// hookMu guards active and activeConn against the hooks: a hook aborts
	// activeConn's blocked read or write only while its context is that of
	// the request in progress, so a context that ends between requests
	// leaves the connection as it was.
	hookMu     sync.Mutex
	active     context.Context
	activeConn net.Conn
	// lastAnswer is when the open connection last finished an answer;
	// staleForBody is how long it may idle before a request with a body.
	lastAnswer   time.Time
	staleForBody time.Duration
}

// staleForBody is how long a kept-alive connection may have idled before
// it carries a login or a logout. Such a request is never sent twice (the
// modem may have acted on it), so it must not meet a connection the modem
// closed while idle (a keep-alive timeout during a slow credential
// look-up): after this long, it goes on a new connection instead.
const staleForBody = time.Second

// exchangeResult is one answer, its body already read.
type exchangeResult struct {
	resp *http.Response
	body []byte
	// tooLarge: the body exceeded the limit (body holds the first limit+1 bytes).
	tooLarge bool
}

// longAgo is a deadline in the past: it aborts a blocked read or write.
var longAgo = time.Unix(1, 0)

// roundTrip sends req and reads its answer, at most limit bytes of body.
// A GET that finds a kept-alive connection closed by the modem before
// anything was answered is sent again once on a new connection; a request
// with a body (login, logout) never is.
func (s *serialConn) roundTrip(ctx context.Context, req *http.Request, limit int64) (exchangeResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil && s.br.Buffered() > 0 {
		// Bytes nobody asked for (a stray CRLF after a body) would be read
		// as the next answer: start afresh.
		s.closeLocked()
	}
	if s.conn != nil && req.Body != nil && time.Since(s.lastAnswer) > s.staleForBody {
		s.closeLocked() // the modem may have closed it while it idled
	}
	for attempt := 0; ; attempt++ {
		reused := s.conn != nil
		if s.conn == nil {
			if err := s.connect(ctx); err != nil {
				return exchangeResult{}, notSent{err}
			}
		}
		res, err := s.try(ctx, req, limit)
		if err == nil {
			if res.resp.Close || res.tooLarge || res.resp.StatusCode == http.StatusSwitchingProtocols {
				s.closeLocked()
			} else {
				s.reused, s.lastAnswer = true, time.Now()
			}
			return res, nil
		}
		s.closeLocked()
		// Only a request without a body (a GET) is sent again, once, when a
		// kept-alive connection failed it (the modem closed it, or sent
		// something that was not the answer); a login or logout that may
		// have reached the modem never is.
		if !reused || req.Body != nil || attempt > 0 || ctx.Err() != nil {
			return exchangeResult{}, err
		}
	}
}

// notSent wraps the error of a request that ended before any of it was
// written (the TCP connect or the TLS handshake failed): the modem cannot
// have acted on it.
type notSent struct{ err error }

func (e notSent) Error() string { return e.err.Error() }
func (e notSent) Unwrap() error { return e.err }

// errNoAnswer: the connection ended before the first byte of an answer.
var errNoAnswer = errors.New("connection closed before an answer")

// connect dials and completes the TLS handshake.
func (s *serialConn) connect(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	c, err := s.dial(ctx)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	if s.tls != nil {
		tc := tls.Client(c, s.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = c.Close()
			return fmt.Errorf("%w: %w", ErrTLSHandshake, err)
		}
		c = tc
	}
	s.conn, s.reused = c, false
	s.lim = limitedReader{r: c}
	s.br = bufio.NewReaderSize(&s.lim, 4096)
	s.bw = bufio.NewWriterSize(c, 1024)
	return nil
}

// try makes one attempt on the open connection.
func (s *serialConn) try(ctx context.Context, req *http.Request, limit int64) (exchangeResult, error) {
	c := s.conn
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	} else {
		_ = c.SetDeadline(time.Time{})
	}
	// A cancelled context aborts a blocked read or write.
	s.watch(ctx)
	s.setActive(ctx, c)
	defer s.clearActive()
	if ctx.Err() != nil {
		// Ended before the hook could see this request: it would not abort it.
		return exchangeResult{}, s.ctxErr(ctx, fmt.Errorf("write request: %w", ctx.Err()))
	}
	if err := req.Write(s.bw); err != nil {
		return exchangeResult{}, s.ctxErr(ctx, fmt.Errorf("write request: %w", err))
	}
	if err := s.bw.Flush(); err != nil {
		return exchangeResult{}, s.ctxErr(ctx, fmt.Errorf("write request: %w", err))
	}
	s.lim.n = maxHeaderBytes
	if _, err := s.br.Peek(1); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
			err = fmt.Errorf("%w: %w", errNoAnswer, err)
		}
		return exchangeResult{}, s.ctxErr(ctx, fmt.Errorf("read answer: %w", err))
	}
	resp, err := readAnswer(s.br, req)
	if err != nil {
		return exchangeResult{}, s.ctxErr(ctx, fmt.Errorf("read answer: %w", answerError(err)))
	}
	// The body is bounded by readBody; its chunk framing by net/http.
	s.lim.n = math.MaxInt64
	body, err := readBody(resp, limit)
	if err != nil {
		return exchangeResult{}, s.ctxErr(ctx, fmt.Errorf("read body: %w", err))
	}
	tooLarge := int64(len(body)) > limit
	if !tooLarge {
		// Read to its end already: the connection can carry the next
		// request. A longer body is not closed, which would read the rest
		// of it: the connection is closed instead.
		_ = resp.Body.Close()
	}
	return exchangeResult{resp: resp, body: body, tooLarge: tooLarge}, nil
}

// watch registers the hook that aborts a request of ctx when ctx ends,
// unless ctx's hook is registered already; the previous context's hook is
// removed.
func (s *serialConn) watch(ctx context.Context) {
	if ctx == s.watched {
		return
	}
	s.stopWatching()
	s.watched = ctx
	s.unwatch = context.AfterFunc(ctx, func() {
		s.hookMu.Lock()
		defer s.hookMu.Unlock()
		if s.active == ctx {
			_ = s.activeConn.SetDeadline(longAgo)
		}
	})
}

// stopWatching removes the registered hook, if any.
func (s *serialConn) stopWatching() {
	if s.unwatch != nil {
		s.unwatch()
	}
	s.watched, s.unwatch = nil, nil
}

// forget removes ctx's hook if it is the registered one: its owner is
// about to cancel it, which would otherwise run the hook for nothing.
func (s *serialConn) forget(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ctx == s.watched {
		s.stopWatching()
	}
}

// clearActive records that no request is in progress.
func (s *serialConn) clearActive() {
	s.hookMu.Lock()
	s.active, s.activeConn = nil, nil
	s.hookMu.Unlock()
}

// setActive records the request in progress for the
// hooks. The next request sets its own deadline on the connection, so a
// past deadline a hook set is never left in force.
func (s *serialConn) setActive(ctx context.Context, c net.Conn) {
	s.hookMu.Lock()
	s.active, s.activeConn = ctx, c
	s.hookMu.Unlock()
}

// maxHeaderBytes bounds an answer's status line and headers (what
// http.Transport bounds with MaxResponseHeaderBytes).
const maxHeaderBytes = 64 << 10

// errHeadersTooLarge: the answer's headers went on past maxHeaderBytes.
var errHeadersTooLarge = fmt.Errorf("%w: headers over %d bytes", ErrTooLarge, maxHeaderBytes)

// limitedReader reads at most n more bytes, then fails.
type limitedReader struct {
	r io.Reader
	n int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errHeadersTooLarge
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// answerError keeps the errors of reading an answer that say what
// happened (the connection, the deadline, the size limit) and replaces
// net/http's parse errors, which quote the offending line (up to
// maxHeaderBytes of whatever the peer sent), with a short one.
func answerError(err error) error {
	var ne net.Error
	switch {
	case errors.Is(err, ErrTooLarge), errors.Is(err, ErrBadResponse), errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF), errors.As(err, &ne), errors.Is(err, net.ErrClosed):
		return err
	}
	return fmt.Errorf("%w: malformed HTTP answer", ErrBadResponse)
}

// maxInterim bounds the 1xx answers skipped before the answer itself.
const maxInterim = 5

// readAnswer reads the answer to req, skipping interim 1xx answers (100
// Continue, 103 Early Hints), which would otherwise be taken for it and
// leave the real answer to be read as the next request's.
func readAnswer(br *bufio.Reader, req *http.Request) (*http.Response, error) {
	for range maxInterim {
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode < 100 || resp.StatusCode > 199 || resp.StatusCode == http.StatusSwitchingProtocols {
			return resp, nil
		}
	}
	return nil, fmt.Errorf("%w: more than %d interim (1xx) answers", ErrBadResponse, maxInterim)
}

// readBody reads at most limit+1 bytes of the body, in one allocation
// when the answer declares its length.
func readBody(resp *http.Response, limit int64) ([]byte, error) {
	if n := resp.ContentLength; n >= 0 && n <= limit {
		buf := make([]byte, n, n+1)
		if _, err := io.ReadFull(resp.Body, buf); err != nil {
			return nil, err
		}
		// Anything past the declared length is not read: net/http's body
		// reader ends there.
		return buf, nil
	}
	return io.ReadAll(io.LimitReader(resp.Body, limit+1))
}

// ctxErr reports the context's error when the context ended the exchange.
func (s *serialConn) ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%w)", context.Cause(ctx), err)
	}
	// The connection's deadline is the context's, and its timer can fire
	// a moment before the context's own.
	if dl, ok := ctx.Deadline(); ok && errors.Is(err, os.ErrDeadlineExceeded) && !time.Now().Before(dl) {
		return fmt.Errorf("%w (%w)", context.DeadlineExceeded, err)
	}
	return err
}

func (s *serialConn) closeLocked() {
	if s.conn != nil {
		_ = s.conn.Close()
	}
	s.conn, s.br, s.bw, s.reused = nil, nil, nil, false
}

// close closes the connection, if one is open.
func (s *serialConn) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closeLocked()
	s.stopWatching()
}
