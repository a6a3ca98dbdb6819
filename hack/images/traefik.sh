#!/usr/bin/env bash
# Builds the controller image grpclab.local/traefik:<TRAEFIK_VERSION> from the
# github.com/traefik/traefik/v3 module, for the hermetic kind cluster where no registry
# (docker.io/library/traefik) can be reached. Prints the image reference as its last line of
# stdout; progress goes to stderr.
#
# Usage: hack/images/traefik.sh
#
# Traefik's go.mod replaces three modules with Containous forks, so ./cmd/traefik cannot be
# `go install`ed at the pin; go_wrapper_build carries the replace lines into a throwaway module.
# The binary is static (CGO_ENABLED=0) with the version stamp upstream's Makefile sets, so
# `traefik version` reports the pin, not "dev". The module ships webui/static empty, so the
# dashboard is not built in; the addon does not enable it.
#
# The image is the binary, the host's CA bundle and a world-writable /tmp, run as 65532; the
# addon's pod lets it bind ports below 1024 (the ip_unprivileged_port_start sysctl), so it needs
# no capability. /usr/local/bin/traefik is the entrypoint, so the Deployment's args run
# unchanged on this image and on upstream's (whose entrypoint script passes flags to traefik).
#
# Cold on 2 cores: about 5 minutes alone, 15 beside other builds. The binary stays cached under
# $CACHE_ROOT/traefik-<version>/bin. Warm (image present, same fingerprint): a second.
set -o errexit -o nounset -o pipefail
# shellcheck source=hack/images/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_cmd go golang-go
need_cmd docker docker.io

V=${TRAEFIK_VERSION}
MODULE=github.com/traefik/traefik/v3
REF="grpclab.local/traefik:${V}"
DIR="${CACHE_ROOT}/traefik-${V}"
CA=/etc/ssl/certs/ca-certificates.crt
LABEL=$(fingerprint "${REPO_ROOT}/hack/images/traefik.sh" "${REPO_ROOT}/hack/images/lib.sh")

exit_if_present "${REF}" "${LABEL}"
start=${SECONDS}

# The build date is the pin's commit time, so the same pin gives the same binary.
build_binary() {
	local pkg="${MODULE}/pkg/version" built
	built=$(go list -m -f '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' "${MODULE}@${V}")
	CGO_ENABLED=0 go_wrapper_build "${DIR}" "${MODULE}" "${V}" \
		"-s -w -X ${pkg}.Version=${V} -X ${pkg}.BuildDate=${built}" "" "${MODULE}/cmd/traefik"
}
if [[ -x "${DIR}/bin/traefik" ]]; then
	step "traefik ${V} cached in ${DIR}/bin" >&2
else
	timed "build ${MODULE}/cmd/traefik@${V} -> ${DIR}/bin/traefik" build_binary >&2
fi

# The binary stays cached, so a rerun with dockerd up only imports.
if ! docker info >/dev/null 2>&1; then
	echo "traefik.sh: the Docker daemon does not answer (docker info); rerun when it does" >&2
	exit 1
fi
if ! [[ -f "${CA}" ]]; then
	echo "traefik.sh: no ${CA}; install it with: apt-get install -y ca-certificates" >&2
	exit 1
fi

make_image() {
	local tree="${DIR}/image"
	rm -rf "${tree}"
	install -D -m 0755 "${DIR}/bin/traefik" "${tree}/usr/local/bin/traefik"
	install -D -m 0644 "${CA}" "${tree}/etc/ssl/certs/ca-certificates.crt"
	install -d -m 1777 "${tree}/tmp"
	import_image "${REF}" "${LABEL}" "${tree}" \
		--change 'ENTRYPOINT ["/usr/local/bin/traefik"]' \
		--change 'USER 65532:65532' \
		--change 'ENV PATH=/usr/local/bin'
	rm -rf "${tree}"
}
timed "docker import ${REF}" make_image >&2
step "built ${REF} (build ${LABEL}) in $((SECONDS - start))s" >&2
echo "${REF}"
