package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc/credentials"

	"github.com/grpclab/grpclab/services"
	"github.com/grpclab/grpclab/services/serve"
	"github.com/grpclab/grpclab/services/user"
)

// usageError marks bad flags, arguments and input files: main exits 2.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// options are the parsed server flags.
type options struct {
	addr            string
	reflection      bool
	auth            bool
	usersFile       string
	name            string
	tlsCert         string
	tlsKey          string
	logLevel        string
	shutdownTimeout time.Duration
}

// run is the whole program; it returns when ctx is cancelled (SIGTERM,
// SIGINT) and the server has stopped.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "probe" {
		return runProbe(ctx, args[1:], stdout)
	}
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	return serveUntilDone(ctx, o, stdout, stderr)
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("grpclab-server", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned as one line; -h prints usage below
	fs.StringVar(&o.addr, "addr", fmt.Sprintf(":%d", services.DefaultPort), "listen address host:port (port 0 picks a free port)")
	fs.BoolVar(&o.reflection, "reflection", true, "register server reflection (v1 and v1alpha)")
	fs.BoolVar(&o.auth, "auth", true, "require username/password metadata on com.example.User")
	fs.StringVar(&o.usersFile, "users", "", "users file (YAML or JSON, see services/README.md); default: built-in demo users")
	fs.StringVar(&o.name, "name", "", "identity sent in x-served-by (default $POD_NAME, else the hostname)")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "TLS certificate PEM file (with --tls-key; default plaintext)")
	fs.StringVar(&o.tlsKey, "tls-key", "", "TLS private key PEM file (with --tls-cert)")
	fs.StringVar(&o.logLevel, "log-level", envOr("LOG_LEVEL", "info"), "log level: debug, info, warn or error (env LOG_LEVEL)")
	fs.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 10*time.Second, "how long in-flight calls may run after SIGTERM before a hard stop")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			fs.Usage()
			return o, err
		}
		return o, usageError{err}
	}
	if fs.NArg() > 0 {
		return o, usagef("unexpected argument %q (the only subcommand is probe)", fs.Arg(0))
	}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return o, usagef("--tls-cert and --tls-key must be given together")
	}
	if o.shutdownTimeout <= 0 {
		return o, usagef("--shutdown-timeout: must be positive, got %s", o.shutdownTimeout)
	}
	return o, nil
}

func serveUntilDone(ctx context.Context, o options, stdout, stderr io.Writer) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return usagef("--log-level %q: want debug, info, warn or error", o.logLevel)
	}
	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))

	cfg := serve.Config{Auth: o.auth, Reflection: o.reflection, Logger: logger, Name: o.name}
	if cfg.Name == "" {
		cfg.Name = defaultName()
	}
	if o.usersFile != "" {
		store, err := user.LoadFile(o.usersFile)
		if err != nil {
			return usagef("--users: %w", err)
		}
		cfg.Users = store
	}
	if o.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
		if err != nil {
			return usagef("--tls-cert %s / --tls-key %s: %w", o.tlsCert, o.tlsKey, err)
		}
		cfg.Creds = credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	}
	srv, err := serve.New(cfg)
	if err != nil {
		return fmt.Errorf("build server: %w", err)
	}

	lis, err := new(net.ListenConfig).Listen(ctx, "tcp", o.addr)
	if err != nil {
		return fmt.Errorf("listen on --addr %s: %w", o.addr, err)
	}
	// The listening line: its format is documented (and kept stable) at
	// serve.ListeningPrefix.
	if _, err := fmt.Fprintf(stdout, "%s%s\n", serve.ListeningPrefix, lis.Addr()); err != nil {
		lis.Close()
		return fmt.Errorf("print listening line: %w", err)
	}
	logger.Info("serving", "addr", lis.Addr().String(), "name", cfg.Name, "auth", o.auth,
		"reflection", o.reflection, "tls", o.tlsCert != "")

	served := make(chan error, 1)
	go func() { served <- srv.GRPC.Serve(lis) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down", "timeout", o.shutdownTimeout.String())
	// The signal context is done; the drain gets its own deadline.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		logger.Warn("shutdown", "error", err.Error())
	}
	if err := <-served; err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	logger.Info("stopped")
	return nil
}

func envOr(key, def string) string {
	if v := strings.TrimSpace(os.Getenv(key)); v != "" {
		return v
	}
	return def
}

// defaultName is $POD_NAME, else the hostname, else "grpclab-server".
func defaultName() string {
	if n := os.Getenv("POD_NAME"); n != "" {
		return n
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "grpclab-server"
}
