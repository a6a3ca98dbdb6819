package cluster

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestProgressLogger(t *testing.T) {
	var b strings.Builder
	l := ProgressLogger(&b)
	l.Info("create kind cluster grpclab", "took", 1500*time.Millisecond)
	l.Error("install traefik", "took", time.Second, "err", errors.New("timed out"))
	l.Debug("not shown")
	l.Info("images: built here")
	want := "==> create kind cluster grpclab (1.5s)\n==> failed: install traefik (1s, err: timed out)\n==> images: built here\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
