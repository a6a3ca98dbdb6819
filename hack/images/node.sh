#!/usr/bin/env bash
# Builds the kind node image without a registry: grpclab.local/kind-node:${KUBERNETES_VERSION}.
#
# What `kind build node-image` does, offline: a Debian ${NODE_DEBIAN_SUITE} root (debootstrap) with
# kind's base package list and the files of kind ${KIND_VERSION}'s images/base (read from the module
# cache), the container runtime (runtime.sh), the Kubernetes binaries (kubernetes.sh), and the
# control-plane images (control-plane.sh) preloaded into the node's containerd the way kind does:
# the image runs with containerd only, `ctr images import`, then `docker commit`.
#
# Two changes to kind's base files, both harmless elsewhere and needed on this CI host
# (docs/ci-host.md): containerd restricts oom_score_adj (the host lacks CAP_SYS_RESOURCE), and a
# kubelet drop-in makes kubelet's cgroups in every cgroup v1 hierarchy systemd mounts inside the
# node. Prints the image reference as its last line of stdout; progress goes to stderr.
set -o errexit -o nounset -o pipefail
# shellcheck source=hack/images/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_cmd docker docker.io
need_cmd jq jq
REF="grpclab.local/kind-node:${KUBERNETES_VERSION}"
# lib.sh moved to REPO_ROOT: name the inputs from there, whatever directory this ran from.
HERE="${REPO_ROOT}/hack/images"
LABEL=$(fingerprint "${HERE}/node.sh" "${HERE}/lib.sh" "${HERE}/runtime.sh" "${HERE}/control-plane.sh" "${HERE}/kubernetes.sh")
exit_if_present "${REF}" "${LABEL}"

kind_dir=$(go list -m -f '{{.Dir}}' "sigs.k8s.io/kind@${KIND_VERSION}" 2>/dev/null || true)
if [[ -z "${kind_dir}" || ! -d "${kind_dir}/images/base/files" ]]; then
	go mod download "sigs.k8s.io/kind@${KIND_VERSION}"
	kind_dir=$(go list -m -f '{{.Dir}}' "sigs.k8s.io/kind@${KIND_VERSION}")
fi
kube=$(hack/images/kubernetes.sh kubeadm kubelet kubectl | tail -n 1)
runtime=$(hack/images/runtime.sh | tail -n 1)
mapfile -t preload < <(hack/images/control-plane.sh)

# kind's base package list (images/base/Dockerfile), minus nothing.
timed "debian root for the node" debian_rootfs "${CACHE_ROOT}/rootfs-node" \
	systemd conntrack iptables nftables iproute2 ethtool util-linux mount kmod \
	libseccomp2 pigz fuse-overlayfs nfs-common open-iscsi e2fsprogs bash ca-certificates curl jq procps >&2

work=$(mktemp -d)
build_container=""
cleanup() {
	if [[ -n "${build_container}" ]]; then docker rm -f "${build_container}" >/dev/null 2>&1 || true; fi
	docker image rm "${REF}-base" "${REF}-preloaded" >/dev/null 2>&1 || true
	rm -rf "${work}"
}
trap cleanup EXIT
root="${work}/root"
mkdir -p "${root}"
tar -C "${root}" -xf "${CACHE_ROOT}/rootfs-node.tar"

# kind's files, with the modes its Dockerfile gives them (the module cache is read-only).
cp -r "${kind_dir}/images/base/files/." "${root}/"
chmod -R u+w "${root}/kind" "${root}/etc" "${root}/usr/local/bin" "${root}/LICENSES"
find "${root}/kind" "${root}/LICENSES" -type d -exec chmod 0755 {} +
find "${root}/kind" "${root}/LICENSES" -type f -exec chmod 0644 {} +
chmod 0755 "${root}"/usr/local/bin/* "${root}"/kind/bin/*
for f in $(cd "${kind_dir}/images/base/files" && find etc -type f); do chmod 0644 "${root}/${f}"; done

# The systemd clean-up and enables of kind's base Dockerfile.
find "${root}/lib/systemd/system/sysinit.target.wants/" -name "systemd-tmpfiles-setup.service" -delete
rm -f "${root}"/lib/systemd/system/multi-user.target.wants/* "${root}"/etc/systemd/system/*.wants/* \
	"${root}"/lib/systemd/system/local-fs.target.wants/* "${root}"/lib/systemd/system/sockets.target.wants/*udev* \
	"${root}"/lib/systemd/system/sockets.target.wants/*initctl* "${root}"/lib/systemd/system/basic.target.wants/*
echo "ReadKMsg=no" >>"${root}/etc/systemd/journald.conf"
ln -sf /usr/lib/systemd/systemd "${root}/sbin/init"
chroot "${root}" systemctl enable kubelet.service containerd.service undo-mount-hacks.service >/dev/null 2>&1
chroot "${root}" systemctl mask systemd-binfmt.service >/dev/null 2>&1
mkdir -p "${root}/etc/kubernetes/manifests" "${root}/opt/cni/bin" "${root}/usr/local/sbin" "${root}/kind/manifests"

# The runtime and Kubernetes, where kind's images put them.
for b in containerd ctr containerd-shim-runc-v2 crictl; do install -m 0755 "${runtime}/bin/${b}" "${root}/usr/local/bin/"; done
install -m 0755 "${runtime}/bin/runc" "${root}/usr/local/sbin/runc"
for b in host-local loopback ptp portmap bridge; do install -m 0755 "${runtime}/bin/${b}" "${root}/opt/cni/bin/"; done
for b in kubeadm kubelet kubectl; do install -m 0755 "${kube}/bin/${b}" "${root}/usr/bin/"; done
"${runtime}/bin/ctr" oci spec |
	jq '.hooks.createContainer[.hooks.createContainer|length] |= . + {"path": "/kind/bin/mount-product-files.sh"}' |
	jq 'del(.process.rlimits)' >"${root}/etc/containerd/cri-base.json"
echo "${KUBERNETES_VERSION}" >"${root}/kind/version"
# No image behind the default StorageClass: kind's legacy host-path class, which needs none.
cat >"${root}/kind/manifests/default-storage.yaml" <<'YAML'
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: standard
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: kubernetes.io/host-path
YAML

# containerd: the pause image kubeadm ${KUBERNETES_VERSION} expects, and oom_score_adj restricted.
sed -i \
	-e "s#sandbox_image = .*#sandbox_image = \"registry.k8s.io/pause:${PAUSE_IMAGE_TAG}\"#" \
	-e 's#restrict_oom_score_adj = false#restrict_oom_score_adj = true#' \
	"${root}/etc/containerd/config.toml"
grep -q "pause:${PAUSE_IMAGE_TAG}" "${root}/etc/containerd/config.toml"
grep -q 'restrict_oom_score_adj = true' "${root}/etc/containerd/config.toml"

# kubelet's cgroups in every v1 hierarchy (kind's entrypoint makes them only in those the host
# mounted; systemd inside the node mounts the rest, e.g. hugetlb, net_cls, perf_event).
cat >"${root}/kind/bin/grpclab-kubelet-cgroup-v1.sh" <<'SH'
#!/bin/sh
set -eu
for d in /sys/fs/cgroup/*/; do
	case "${d}" in /sys/fs/cgroup/unified/) continue ;; esac
	[ -e "${d}cgroup.procs" ] || continue
	mkdir -p "${d}kubelet" "${d}kubelet.slice"
done
SH
chmod 0755 "${root}/kind/bin/grpclab-kubelet-cgroup-v1.sh"
cat >"${root}/etc/systemd/system/kubelet.service.d/12-grpclab-cgroup-v1.conf" <<'UNIT'
# grpclab: on a cgroup v1 host, make kubelet's cgroups in every hierarchy (see node.sh).
[Service]
ExecStartPre=/bin/sh -euc "if [ ! -f /sys/fs/cgroup/cgroup.controllers ]; then /kind/bin/grpclab-kubelet-cgroup-v1.sh; fi"
UNIT

timed "import the node root" import_image "${REF}-base" "${LABEL}" "${root}" \
	--change 'ENV container=docker' \
	--change 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' >&2
rm -rf "${root}"

# Preload the control-plane images into the node's containerd, as kind's node-image build does.
preload_images() {
	docker save --output "${work}/images.tar" "${preload[@]}"
	build_container=$(docker run -d --privileged --entrypoint=sleep "${REF}-base" infinity)
	docker cp "${work}/images.tar" "${build_container}:/images.tar"
	rm -f "${work}/images.tar"
	docker exec "${build_container}" sh -c 'containerd >/var/log/containerd-preload.log 2>&1 &'
	local i
	for i in $(seq 1 60); do
		docker exec "${build_container}" ctr version >/dev/null 2>&1 && break
		[[ ${i} -eq 60 ]] && { docker exec "${build_container}" tail -n 5 /var/log/containerd-preload.log >&2; return 1; }
		sleep 0.5
	done
	docker exec "${build_container}" ctr -n k8s.io images import --label=io.cri-containerd.pinned=pinned \
		--all-platforms --no-unpack --digests /images.tar >/dev/null
	# The container's PID 1 (sleep) reaps nothing: containerd is done once it is a zombie.
	docker exec "${build_container}" sh -c 'pkill containerd; while ps -C containerd -o stat= | grep -qv Z; do sleep 0.2; done; rm -f /images.tar /var/log/containerd-preload.log'
	docker commit --change 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' --change 'CMD []' \
		"${build_container}" "${REF}-preloaded" >/dev/null
	# systemd stops on SIGRTMIN+3, not SIGTERM; neither import nor commit can set STOPSIGNAL, a
	# one-line build on the local image can (the classic builder needs no registry for it).
	printf 'FROM %s\nSTOPSIGNAL SIGRTMIN+3\n' "${REF}-preloaded" | DOCKER_BUILDKIT=0 docker build --quiet --tag "${REF}" - >/dev/null
	docker image rm "${REF}-preloaded" >/dev/null
}
timed "preload ${#preload[@]} control-plane images into ${REF}" preload_images >&2
echo "${REF}"
