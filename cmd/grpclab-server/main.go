// Command grpclab-server is the one grpclab server binary: the public
// helloworld.Greeter, the authenticated com.example.User, health and
// reflection. "grpclab-server probe" is a connectivity prober for the
// isolation suite.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		// One line, whatever the error holds, so scripts can quote it.
		fmt.Fprintf(os.Stderr, "grpclab-server: %s\n", strings.ReplaceAll(err.Error(), "\n", "; "))
		var u usageError
		if errors.As(err, &u) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}
