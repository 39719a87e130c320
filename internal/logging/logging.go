// Package logging builds the exporter's zap logger in the two formats
// Prometheus exporters use: logfmt (the default) and JSON.
package logging

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Formats are the accepted --log.format values.
var Formats = []string{"logfmt", "json"}

// Levels are the accepted --log.level values.
var Levels = []string{"debug", "info", "warn", "error"}

// New returns a logger writing to w at level in format.
func New(level, format string, w io.Writer) (*zap.Logger, error) {
	var lvl zapcore.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: want one of %s", level, strings.Join(Levels, ", "))
	}
	ws := zapcore.Lock(zapcore.AddSync(w))
	var core zapcore.Core
	switch format {
	case "json":
		enc := zap.NewProductionEncoderConfig()
		enc.TimeKey, enc.MessageKey = "time", "msg"
		enc.EncodeTime = zapcore.RFC3339NanoTimeEncoder
		core = zapcore.NewCore(zapcore.NewJSONEncoder(enc), ws, lvl)
	case "logfmt":
		core = &logfmtCore{LevelEnabler: lvl, out: ws, mu: &sync.Mutex{}}
	default:
		return nil, fmt.Errorf("log format %q: want one of %s", format, strings.Join(Formats, ", "))
	}
	return zap.New(core, zap.AddCaller()), nil
}

// logfmtCore writes entries as logfmt lines: time=… level=… source=… msg=… k=v.
type logfmtCore struct {
	zapcore.LevelEnabler
	out    zapcore.WriteSyncer
	fields []zapcore.Field
	mu     *sync.Mutex
}

func (c *logfmtCore) With(fields []zapcore.Field) zapcore.Core {
	clone := *c
	clone.fields = append(append([]zapcore.Field(nil), c.fields...), fields...)
	return &clone
}

func (c *logfmtCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c *logfmtCore) Write(e zapcore.Entry, fields []zapcore.Field) error {
	enc := zapcore.NewMapObjectEncoder()
	for _, f := range c.fields {
		f.AddTo(enc)
	}
	for _, f := range fields {
		f.AddTo(enc)
	}
	var b strings.Builder
	b.WriteString("time=" + e.Time.UTC().Format(time.RFC3339Nano))
	b.WriteString(" level=" + e.Level.String())
	if e.Caller.Defined {
		b.WriteString(" source=" + quote(e.Caller.TrimmedPath()))
	}
	if e.LoggerName != "" {
		b.WriteString(" logger=" + quote(e.LoggerName))
	}
	b.WriteString(" msg=" + quote(e.Message))
	keys := make([]string, 0, len(enc.Fields))
	for k := range enc.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteString(" " + k + "=" + quote(fmt.Sprint(enc.Fields[k])))
	}
	b.WriteByte('\n')
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err := c.out.Write([]byte(b.String()))
	return err
}

func (c *logfmtCore) Sync() error { return c.out.Sync() }

// quote quotes a value when it holds spaces, quotes, = or control characters.
func quote(s string) string {
	if s == "" {
		return `""`
	}
	if strings.ContainsAny(s, " \"=\t\r\n\\") || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return strconv.Quote(s)
	}
	return s
}
