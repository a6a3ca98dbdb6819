package services

// DefaultPort is where grpclab-server listens without --addr: the port a container that
// declares none serves on.
const DefaultPort = 50051
