#!/usr/bin/env bash
# Builds kube-apiserver at the pinned Kubernetes version (images/pins.env) for the control-plane
# test (cluster/kind/controlplane_test.go), through hack/images/kubernetes.sh, which caches it
# with the other Kubernetes binaries the hermetic node image needs.
#
# Cold: about 8 minutes on a 2-core machine. Warm: prints the cached path in a second.
# Prints the binary's path as its last line of stdout; progress goes to stderr.
set -o errexit -o nounset -o pipefail
# shellcheck source=hack/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

dir=$(hack/images/kubernetes.sh kube-apiserver | tail -n 1)
echo "${dir}/bin/kube-apiserver"
