package call

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// WatchServing opens a watch on the server's overall health and returns it once the first
// answer is SERVING, so that the caller's next Recv is the first change; any other first
// answer is an error that names it.
func WatchServing(ctx context.Context, conn *grpc.ClientConn) (healthpb.Health_WatchClient, error) {
	watch, err := healthpb.NewHealthClient(conn).Watch(ctx, &healthpb.HealthCheckRequest{})
	if err == nil {
		var first *healthpb.HealthCheckResponse
		if first, err = watch.Recv(); err == nil && first.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			err = fmt.Errorf("health is %s, want SERVING", first.GetStatus())
		}
	}
	if err != nil {
		return nil, fmt.Errorf("health watch: %w", err)
	}
	return watch, nil
}
