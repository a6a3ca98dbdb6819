// Package platforms picks, builds and brings up a cluster.Platform: the one place that knows
// the platforms by name, and the one bring-up (Lab) that the CLI and the scenarios share. It
// also builds a platform from the state an earlier bring-up saved (Open), so that `grpclab
// status` and `grpclab down` work through the cluster interfaces alone.
package platforms

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/grpclab/grpclab/cluster"
	"github.com/grpclab/grpclab/cluster/kind"
	"github.com/grpclab/grpclab/cluster/kind/addon"
	"github.com/grpclab/grpclab/cluster/local"
)

// Platform names.
const (
	Kind  = "kind"
	Local = "local"
)

// Options configure New.
type Options struct {
	// StateDir holds the local platform's processes, certificates and nginx.
	StateDir string
	// ServerBinary is the grpclab-server the local platform runs (default: next to the
	// executable or on PATH).
	ServerBinary string
	// Controller is the kind platform's gateway/ingress controller (CONTROLLER=).
	Controller string
	// RepoRoot holds the Dockerfile the kind platform builds the server image from.
	RepoRoot string
	// Artifacts is where the kind platform exports cluster logs before teardown.
	Artifacts string
	// Logger receives progress; nil is silent.
	Logger *slog.Logger
}

// Choose returns the platform to run and why. An explicit name is taken as is (kind without
// Docker or images then fails in New, with one line saying so); no name means kind when a
// Docker daemon answers and the controller's images can be pulled or were built here
// (`make images`), else local.
func Choose(ctx context.Context, requested, controller string) (name, why string, err error) {
	switch requested {
	case Kind, Local:
		return requested, "PLATFORM=" + requested, nil
	case "":
		if err := kind.CheckDocker(ctx); err != nil {
			return Local, "no Docker daemon answers, so the local platform runs; set PLATFORM=kind to insist", nil
		}
		c, err := kind.ChooseImages(ctx, os.Getenv(kind.ImagesEnv), controller)
		if err != nil {
			return Local, "a Docker daemon answers but kind cannot run: " + err.Error() + "; so the local platform runs", nil
		}
		return Kind, "a Docker daemon answers and " + c.Why + "; set PLATFORM=local for the local platform", nil
	default:
		return "", "", fmt.Errorf("PLATFORM=%q: want kind or local", requested)
	}
}

// CheckController says whether the kind platform knows the named gateway or ingress
// controller, for files that name controllers (the scenarios' findings.yaml).
func CheckController(name string) error {
	_, err := addon.Controller(name)
	return err
}

// New builds the named platform.
func New(ctx context.Context, name string, o Options) (cluster.Platform, error) {
	switch name {
	case Local:
		var opts []local.Option
		if o.ServerBinary != "" {
			opts = append(opts, local.WithServerBinary(o.ServerBinary))
		}
		if o.Logger != nil {
			opts = append(opts, local.WithLogger(o.Logger))
		}
		return local.New(o.StateDir, opts...)
	case Kind:
		if err := kind.CheckDocker(ctx); err != nil {
			return nil, err
		}
		return newKind(ctx, o)
	default:
		return nil, fmt.Errorf("platform %q: want kind or local", name)
	}
}

// Open builds the named platform to inspect or take down what an earlier bring-up from the
// same state started (o.StateDir for local; the cluster's name, GRPCLAB_KIND_CLUSTER or the
// default, for kind), in this process or another. It needs no server binary and no images,
// and starts nothing. An unknown name is an error saying what it wants.
func Open(name string, o Options) (cluster.Platform, error) {
	switch name {
	case Local:
		var opts []local.Option
		if o.Logger != nil {
			opts = append(opts, local.WithLogger(o.Logger))
		}
		return local.New(o.StateDir, opts...)
	case Kind:
		var opts []kind.Option
		if name := os.Getenv("GRPCLAB_KIND_CLUSTER"); name != "" {
			opts = append(opts, kind.WithClusterName(name))
		}
		if o.Logger != nil {
			opts = append(opts, kind.WithLogger(o.Logger))
		}
		return kind.New(opts...)
	default:
		return nil, fmt.Errorf("platform %q: want kind or local", name)
	}
}
