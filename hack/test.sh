#!/usr/bin/env bash
# Unit and integration tests, including the whole scenario suite on the local platform.
# Runs as root on Debian after .ci/run has installed nginx, nftables, iproute2 and etcd.
set -o errexit -o nounset -o pipefail
# shellcheck source=hack/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

step "verify the generated protobuf code is current"
hack/verify-generated.sh

step "go vet"
go vet ./...

# The control-plane test runs the kind platform's apply step against a real kube-apiserver;
# the first build takes minutes, later runs reuse the cached binary.
step "kube-apiserver for the control-plane test"
GRPCLAB_KUBE_APISERVER="$(hack/kube-apiserver.sh | tail -n 1)"
export GRPCLAB_KUBE_APISERVER

step "go test (the scenarios run on the local platform; report in _artifacts/)"
PLATFORM=local ARTIFACTS="${REPO_ROOT}/_artifacts" go test -count=1 ./...

step "go test -race ./services/..."
go test -count=1 -race ./services/...
