#!/usr/bin/env bash
# Builds the NetworkPolicy enforcer image grpclab.local/kube-router:<KUBE_ROUTER_VERSION> from
# the github.com/cloudnativelabs/kube-router/v2 module, for the hermetic kind cluster where no
# registry (docker.io/cloudnativelabs/kube-router) can be reached. Prints the image reference
# as its last line of stdout; progress goes to stderr.
#
# Usage: hack/images/kube-router.sh
#
# The cluster runs only kube-router's firewall (its NetworkPolicy controller); see the comment
# atop cluster/kind/addon/yaml/kube-router.yaml. The module's go.mod has no replace lines, so
# ./cmd/kube-router is `go install`ed at the pin, static (CGO_ENABLED=0) as upstream builds it,
# with the version stamp upstream's Makefile sets (the binary logs it at start).
#
# The firewall execs iptables, iptables-save, iptables-restore and ipset (found on PATH);
# conntrack only the service proxy runs, and that stays off. So the image is a minimal Debian
# with the iptables and ipset packages. Debian's default alternative makes iptables the
# nf_tables backend (iptables-nft), as on the node and in the kube-proxy image built here, so
# kube-router and kube-proxy write the same rule set. Upstream's image instead picks a
# backend at start (iptables-wrapper); ours does not need to: the node here is always nft.
#
# The image keeps upstream's path, /usr/local/bin/kube-router, so the DaemonSet runs
# unchanged on either image.
#
# Cold on 2 cores beside other builds: the binary under 3 minutes, the root filesystem 35 to
# 75 s (debootstrap from the Debian mirror), the import 7 s. Both stay cached under
# $CACHE_ROOT/kube-router-<version>/. Warm (image present, same fingerprint): a second.
set -o errexit -o nounset -o pipefail
# shellcheck source=hack/images/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_cmd go golang-go
need_cmd docker docker.io

V=${KUBE_ROUTER_VERSION}
MODULE=github.com/cloudnativelabs/kube-router/v2
REF="grpclab.local/kube-router:${V}"
DIR="${CACHE_ROOT}/kube-router-${V}"
# What the firewall execs (see above).
PACKAGES=(iptables ipset)
# debian_rootfs caches by directory name only, so the name carries the suite and the packages.
ROOTFS="${DIR}/rootfs-${NODE_DEBIAN_SUITE}-$(echo "${PACKAGES[*]}" | sha256sum | cut -c1-8)"
LABEL=$(fingerprint "${REPO_ROOT}/hack/images/kube-router.sh" "${REPO_ROOT}/hack/images/lib.sh")

exit_if_present "${REF}" "${LABEL}"
start=${SECONDS}
mkdir -p "${DIR}/bin"

# The version stamp upstream's Makefile sets; the build date is the pin's commit time, so the
# same pin gives the same binary.
build_binary() {
	local pkg="${MODULE}/pkg/version" built gobin="${DIR}/gobin"
	built=$(go list -m -f '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' "${MODULE}@${V}")
	rm -rf "${gobin}"
	mkdir -p "${gobin}"
	# go's download lines go to a log, so the build stays one progress line.
	if ! CGO_ENABLED=0 GOBIN="${gobin}" go install -trimpath \
		-ldflags "-s -w -X ${pkg}.Version=${V} -X ${pkg}.BuildDate=${built}" "${MODULE}/cmd/kube-router@${V}" \
		>"${DIR}/go-install.log" 2>&1; then
		echo "kube-router.sh: go install ${MODULE}/cmd/kube-router@${V} failed; last lines of ${DIR}/go-install.log:" >&2
		tail -n 20 "${DIR}/go-install.log" >&2
		return 1
	fi
	mv "${gobin}/kube-router" "${DIR}/bin/kube-router"
	rmdir "${gobin}"
}
if [[ -x "${DIR}/bin/kube-router" ]]; then
	step "kube-router ${V} cached in ${DIR}/bin" >&2
else
	timed "go install ${MODULE}/cmd/kube-router@${V} -> ${DIR}/bin/kube-router" build_binary >&2
fi

if [[ -f "${ROOTFS}.tar" ]]; then
	step "debian ${NODE_DEBIAN_SUITE} root filesystem (${PACKAGES[*]}) cached in ${ROOTFS}.tar" >&2
else
	timed "debootstrap ${NODE_DEBIAN_SUITE} with ${PACKAGES[*]}" debian_rootfs "${ROOTFS}" "${PACKAGES[@]}" >&2
fi

# The binary and the root filesystem stay cached, so a rerun with dockerd up only imports.
if ! docker info >/dev/null 2>&1; then
	echo "kube-router.sh: the Docker daemon does not answer (docker info); rerun when it does" >&2
	exit 1
fi

# The image's tree: the cached root filesystem plus the binary, imported without a registry.
make_image() {
	local tree="${DIR}/image"
	rm -rf "${tree}"
	mkdir -p "${tree}"
	tar -C "${tree}" --numeric-owner -xf "${ROOTFS}.tar"
	install -D -m 0755 "${DIR}/bin/kube-router" "${tree}/usr/local/bin/kube-router"
	import_image "${REF}" "${LABEL}" "${tree}" --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		--change 'ENTRYPOINT ["/usr/local/bin/kube-router"]'
	rm -rf "${tree}"
}
timed "docker import ${REF}" make_image >&2
step "built ${REF} (build ${LABEL}) in $((SECONDS - start))s" >&2
echo "${REF}"
