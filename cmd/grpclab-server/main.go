// Command grpclab-server is the one grpclab server binary: the public
// helloworld.Greeter, the authenticated com.example.User, health and
// reflection. "grpclab-server probe" is a connectivity prober for the
// isolation suite.
package main

import "github.com/grpclab/grpclab/cmd/internal/cmdmain"

// main reports an error on one line, whatever it holds, so scripts can quote it.
func main() { cmdmain.Main[usageError]("grpclab-server", run, cmdmain.OneLine) }
