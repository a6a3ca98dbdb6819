package cluster

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
)

// ProgressLogger prints a platform's log records as the progress lines every long step shows
// ("==> create kind cluster grpclab (41.2s)"): the message, then the record's attributes in
// parentheses, values only for "took".
func ProgressLogger(w io.Writer) *slog.Logger {
	return slog.New(&progressHandler{w: w, mu: &sync.Mutex{}})
}

type progressHandler struct {
	w     io.Writer
	mu    *sync.Mutex
	attrs []slog.Attr
}

func (h *progressHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }

func (h *progressHandler) Handle(_ context.Context, r slog.Record) error {
	var parts []string
	add := func(a slog.Attr) bool {
		if a.Key == "took" {
			parts = append(parts, a.Value.String())
		} else {
			parts = append(parts, a.Key+": "+a.Value.String())
		}
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	line := "==> " + r.Message
	if r.Level >= slog.LevelError {
		line = "==> failed: " + r.Message
	}
	if len(parts) > 0 {
		line += " (" + strings.Join(parts, ", ") + ")"
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := fmt.Fprintln(h.w, line)
	return err
}

func (h *progressHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &progressHandler{w: h.w, mu: h.mu, attrs: append(append([]slog.Attr(nil), h.attrs...), attrs...)}
}

func (h *progressHandler) WithGroup(string) slog.Handler { return h }
