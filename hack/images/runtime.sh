#!/usr/bin/env bash
# Builds the node's container runtime from pinned Go modules: containerd (+ ctr and the runc
# shim), runc (cgo, seccomp), crictl and the CNI plugins kind nodes carry. Caches them under
# $CACHE_ROOT/runtime-<fingerprint>/bin and prints that directory as its last line of stdout.
# Cold on 2 cores: about 2 minutes. Needs gcc and libseccomp-dev (runc).
set -o errexit -o nounset -o pipefail
# shellcheck source=hack/images/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DIR="${CACHE_ROOT}/runtime-$(fingerprint "${REPO_ROOT}/hack/images/runtime.sh" "${REPO_ROOT}/hack/images/lib.sh")"
BIN="${DIR}/bin"
want=(containerd ctr containerd-shim-runc-v2 runc crictl host-local loopback ptp portmap bridge)
have=1
for b in "${want[@]}"; do [[ -x "${BIN}/${b}" ]] || have=0; done
if [[ ${have} -eq 1 ]]; then
	step "runtime (containerd ${CONTAINERD_VERSION}, runc ${RUNC_VERSION}, crictl ${CRICTL_VERSION}, CNI plugins ${CNI_PLUGINS_VERSION}) cached in ${BIN}" >&2
	echo "${DIR}"
	exit 0
fi
need_cmd gcc gcc
if ! [[ -f /usr/include/seccomp.h ]]; then
	echo "runtime.sh: runc needs libseccomp's headers; install them with: apt-get install -y libseccomp-dev" >&2
	exit 1
fi
mkdir -p "${BIN}"
start=${SECONDS}

# containerd: the snapshotters kind never selects are left out, as kind's own build does.
CGO_ENABLED=1 timed "containerd ${CONTAINERD_VERSION}" go_wrapper_build "${DIR}/containerd" \
	github.com/containerd/containerd/v2 "${CONTAINERD_VERSION}" \
	"-s -w -X github.com/containerd/containerd/v2/version.Version=${CONTAINERD_VERSION}" \
	"no_btrfs no_devmapper no_zfs no_aufs" \
	github.com/containerd/containerd/v2/cmd/containerd \
	github.com/containerd/containerd/v2/cmd/ctr \
	github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2 >&2
CGO_ENABLED=1 timed "runc ${RUNC_VERSION}" go_wrapper_build "${DIR}/runc" \
	github.com/opencontainers/runc "${RUNC_VERSION}" \
	"-s -w -X main.version=${RUNC_VERSION#v}" "seccomp" \
	github.com/opencontainers/runc >&2
CGO_ENABLED=0 timed "crictl ${CRICTL_VERSION}" go_wrapper_build "${DIR}/crictl" \
	sigs.k8s.io/cri-tools "${CRICTL_VERSION}" \
	"-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=${CRICTL_VERSION}" "" \
	sigs.k8s.io/cri-tools/cmd/crictl >&2
CGO_ENABLED=0 timed "CNI plugins ${CNI_PLUGINS_VERSION}" go_wrapper_build "${DIR}/cni" \
	github.com/containernetworking/plugins "${CNI_PLUGINS_VERSION}" \
	"-s -w -X github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion=${CNI_PLUGINS_VERSION}" "" \
	github.com/containernetworking/plugins/plugins/ipam/host-local \
	github.com/containernetworking/plugins/plugins/main/loopback \
	github.com/containernetworking/plugins/plugins/main/ptp \
	github.com/containernetworking/plugins/plugins/main/bridge \
	github.com/containernetworking/plugins/plugins/meta/portmap >&2
for d in containerd runc crictl cni; do
	cp "${DIR}/${d}/bin/"* "${BIN}/"
done
step "runtime built in ${BIN} in $((SECONDS - start))s" >&2
echo "${DIR}"
