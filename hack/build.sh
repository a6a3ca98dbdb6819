#!/usr/bin/env bash
# Builds bin/grpclab and bin/grpclab-server (static, no cgo).
set -o errexit -o nounset -o pipefail
# shellcheck source=hack/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

step "build bin/grpclab bin/grpclab-server"
mkdir -p bin
CGO_ENABLED=0 go build -trimpath -o bin/ ./cmd/grpclab ./cmd/grpclab-server
