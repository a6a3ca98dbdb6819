// Command userclient makes one com.example.User call with the article's username/password
// metadata and prints the outcome as one JSON line: {"method":…,"code":…,"message":…}.
// The data-plane test runs it inside a workload's namespace to show that a connection
// NetworkPolicy allows still meets the interceptor's per-method check.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/grpclab/grpclab/services/userpb"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "userclient: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("userclient", flag.ContinueOnError)
	addr := fs.String("addr", "", "server host:port")
	user := fs.String("user", "", "username metadata")
	password := fs.String("password", "", "password metadata")
	method := fs.String("method", "DeleteUser", "Login, GetProfile or DeleteUser")
	timeout := fs.Duration("timeout", 2*time.Second, "call deadline")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *addr == "" {
		return fmt.Errorf("--addr: required")
	}
	conn, err := grpc.NewClient("passthrough:///"+*addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("dial %s: %w", *addr, err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, "username", *user, "password", *password)
	c := userpb.NewUserClient(conn)
	switch *method {
	case "Login":
		_, err = c.Login(ctx, &userpb.LoginRequest{})
	case "GetProfile":
		_, err = c.GetProfile(ctx, &userpb.GetProfileRequest{Username: *user})
	case "DeleteUser":
		_, err = c.DeleteUser(ctx, &userpb.DeleteUserRequest{Username: "bob"})
	default:
		return fmt.Errorf("--method: unknown %q", *method)
	}
	st := status.Convert(err)
	return json.NewEncoder(os.Stdout).Encode(map[string]string{
		"method": *method, "code": st.Code().String(), "message": st.Message(),
	})
}
