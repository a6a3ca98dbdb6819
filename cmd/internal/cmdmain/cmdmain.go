// Package cmdmain is the main function grpclab's commands share: the program runs under a
// context that SIGINT and SIGTERM cancel, and an error becomes one report on stderr and an
// exit code (2 for bad input, 1 for anything else). Only Main exits.
package cmdmain

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// Run is a command's whole program: the arguments after the command's name and the streams
// to use. It returns when it is done or ctx is cancelled; it never exits.
type Run func(ctx context.Context, args []string, stdout, stderr io.Writer) error

// Main runs run with the process's arguments and streams under a context that SIGINT and
// SIGTERM cancel. When run fails, Main prints "name: " and report(err) on stderr and exits
// with code 2 if the error wraps a U, the command's type for bad input, and 1 otherwise.
func Main[U error](name string, run Run, report func(error) string) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err == nil {
		return
	}
	fmt.Fprintf(os.Stderr, "%s: %s\n", name, report(err))
	var usage U
	if errors.As(err, &usage) {
		os.Exit(2)
	}
	os.Exit(1)
}

// AsIs reports an error as it reads, over several lines if it has them: for people at a
// terminal, who read a list of problems better one to a line.
func AsIs(err error) string { return err.Error() }

// OneLine reports an error on one line, its line breaks replaced by "; ", so that scripts
// and log collectors can quote it whole.
func OneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", "; ") }
