#!/usr/bin/env bash
# Builds the images kubeadm runs the control plane from, under the registry.k8s.io names that
# kubeadm ${KUBERNETES_VERSION} asks for, so a node that has them preloaded never pulls:
# kube-apiserver, kube-controller-manager, kube-scheduler, kube-proxy, etcd, coredns and pause.
# The binaries come from pinned Go modules (and pause.c from the kubernetes module, with gcc);
# kube-proxy's image carries Debian's iptables, nftables and conntrack, which it runs.
# Prints the image references, one a line, on stdout; progress goes to stderr.
set -o errexit -o nounset -o pipefail
# shellcheck source=hack/images/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_cmd docker docker.io
need_cmd gcc gcc
LABEL=$(fingerprint "${REPO_ROOT}/hack/images/control-plane.sh" "${REPO_ROOT}/hack/images/lib.sh")
V=${KUBERNETES_VERSION}
R=registry.k8s.io
refs=(
	"${R}/kube-apiserver:${V}" "${R}/kube-controller-manager:${V}" "${R}/kube-scheduler:${V}"
	"${R}/kube-proxy:${V}" "${R}/etcd:${ETCD_IMAGE_TAG}" "${R}/coredns/coredns:${COREDNS_VERSION}"
	"${R}/pause:${PAUSE_IMAGE_TAG}"
)
missing=0
for ref in "${refs[@]}"; do image_present "${ref}" "${LABEL}" || missing=1; done
if [[ ${missing} -eq 0 ]]; then
	step "control-plane images for kubernetes ${V} present" >&2
	printf '%s\n' "${refs[@]}"
	exit 0
fi

kube=$(hack/images/kubernetes.sh kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubeadm | tail -n 1)
DIR="${CACHE_ROOT}/control-plane-${LABEL}"
mkdir -p "${DIR}"
work=$(mktemp -d)
trap 'rm -rf "${work}"' EXIT

# Static binaries on an empty root: PATH is set because kubeadm's manifests name commands
# ("kube-apiserver", "etcd") rather than paths.
scratch_image() { # scratch_image REF BINARY... (the last --change flags follow "--")
	local ref=$1 root
	root="${work}/$(basename "${1%%:*}")"
	shift
	mkdir -p "${root}/usr/local/bin" "${root}/tmp" "${root}/etc"
	chmod 1777 "${root}/tmp"
	while [[ $# -gt 0 && $1 != -- ]]; do cp "$1" "${root}/usr/local/bin/"; shift; done
	[[ $# -gt 0 ]] && shift
	echo 'root:x:0:0:root:/:/bin/false' >"${root}/etc/passwd"
	echo 'nobody:x:65534:65534:nobody:/:/bin/false' >>"${root}/etc/passwd"
	import_image "${ref}" "${LABEL}" "${root}" --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' "$@"
}

for b in kube-apiserver kube-controller-manager kube-scheduler; do
	timed "image ${R}/${b}:${V}" scratch_image "${R}/${b}:${V}" "${kube}/bin/${b}" -- \
		--change "ENTRYPOINT [\"/usr/local/bin/${b}\"]" >&2
done

# kube-proxy runs iptables-restore, nft and conntrack: a Debian root with those packages.
timed "debian root for kube-proxy" debian_rootfs "${CACHE_ROOT}/rootfs-kube-proxy" iptables nftables conntrack >&2
proxy_root="${work}/kube-proxy"
mkdir -p "${proxy_root}"
tar -C "${proxy_root}" -xf "${CACHE_ROOT}/rootfs-kube-proxy.tar"
cp "${kube}/bin/kube-proxy" "${proxy_root}/usr/local/bin/"
timed "image ${R}/kube-proxy:${V}" import_image "${R}/kube-proxy:${V}" "${LABEL}" "${proxy_root}" \
	--change 'ENTRYPOINT ["/usr/local/bin/kube-proxy"]' >&2

# etcd's server module replaces its sibling modules with local paths, hence the wrapper module.
if ! [[ -x "${DIR}/etcd/bin/etcd" ]]; then
	CGO_ENABLED=0 timed "build etcd ${ETCD_VERSION}" go_wrapper_build "${DIR}/etcd" \
		go.etcd.io/etcd/server/v3 "${ETCD_VERSION}" "-s -w" "" go.etcd.io/etcd/server/v3 >&2
	mv "${DIR}/etcd/bin/server" "${DIR}/etcd/bin/etcd"
fi
timed "image ${R}/etcd:${ETCD_IMAGE_TAG}" scratch_image "${R}/etcd:${ETCD_IMAGE_TAG}" "${DIR}/etcd/bin/etcd" -- \
	--change 'ENTRYPOINT ["/usr/local/bin/etcd"]' >&2

coredns_image "${R}/coredns/coredns:${COREDNS_VERSION}" "${LABEL}" "${COREDNS_VERSION}" "${DIR}/coredns" "${work}/coredns" >&2

# pause: the kubernetes module ships its C source.
kmod=$(cd "${kube}" && go list -m -f '{{.Dir}}' k8s.io/kubernetes)
pause_root="${work}/pause"
mkdir -p "${pause_root}"
gcc -Os -static -Wall -Werror -DVERSION="v${PAUSE_IMAGE_TAG}-grpclab" -o "${pause_root}/pause" \
	"${kmod}/build/pause/linux/pause.c"
timed "image ${R}/pause:${PAUSE_IMAGE_TAG}" import_image "${R}/pause:${PAUSE_IMAGE_TAG}" "${LABEL}" "${pause_root}" \
	--change 'ENTRYPOINT ["/pause"]' --change 'USER 65535:65535' >&2

printf '%s\n' "${refs[@]}"
