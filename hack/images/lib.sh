# shellcheck shell=bash
# Sourced by hack/images/*.sh: the pins (images/pins.env), the cache, and the helpers every
# image build shares. Nothing here is needed by the kind platform when it pulls upstream images.
# shellcheck source=hack/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
# shellcheck source=images/pins.env
source "${REPO_ROOT}/images/pins.env"

# Ctrl-C stops a build even when the command it interrupts (docker's CLI) takes the signal and
# exits 0; the scripts' EXIT traps then remove their build containers and temporary images.
trap 'exit 130' INT TERM

CACHE_ROOT=${GRPCLAB_CACHE:-${XDG_CACHE_HOME:-${HOME}/.cache}/grpclab}
export CACHE_ROOT
export GOTOOLCHAIN=local GOWORK=off

# need_cmd fails with the apt line that brings a missing command.
need_cmd() { # need_cmd COMMAND DEBIAN_PACKAGE
	if ! command -v "$1" >/dev/null 2>&1; then
		echo "$(basename "$0"): '$1' not found; install it with: apt-get install -y $2" >&2
		exit 1
	fi
}

# go_wrapper_build builds packages of a module that cannot be `go install`ed directly (its
# go.mod has replace lines, or requires modules it replaces locally): a throwaway module in DIR
# requires MODULE@VERSION, copies MODULE's replace lines that point at other modules, and
# builds the packages into DIR/bin.
#   go_wrapper_build DIR MODULE VERSION "LDFLAGS" "TAGS" PKG...
go_wrapper_build() {
	local dir=$1 module=$2 version=$3 ldflags=$4 tags=$5
	shift 5
	mkdir -p "${dir}/bin"
	local gomod
	gomod=$(cd "${dir}" && go mod download -json "${module}@${version}" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
	if [[ -z "${gomod}" || ! -f "${gomod}" ]]; then
		echo "$(basename "$0"): go mod download ${module}@${version} gave no go.mod" >&2
		return 1
	fi
	local goversion
	goversion=$(sed -n 's/^go \([0-9.]*\)$/\1/p' "${gomod}" | head -n 1)
	{
		echo "module grpclab.local/build/$(basename "${dir}")"
		echo
		echo "go ${goversion}"
		echo
		echo "require ${module} ${version}"
		echo
		# Replace lines to other modules (not to local ./paths) carry over.
		awk '
			/^replace \(/ { inblock = 1; next }
			inblock && /^\)/ { inblock = 0; next }
			inblock { line = $0 } !inblock && /^replace / { line = substr($0, 9) }
			(inblock || /^replace /) && line !~ /=>[[:space:]]*\.\.?\// && line ~ /=>/ { print "replace " line }
			{ line = "" }
		' "${gomod}"
	} >"${dir}/go.mod"
	{
		echo "//go:build tools"
		echo
		echo "package tools"
		echo
		local p
		for p in "$@"; do echo "import _ \"${p}\""; done
	} >"${dir}/tools.go"
	rm -f "${dir}/go.sum"
	# tidy may complain about test-only dependencies; the build below says what really fails.
	(cd "${dir}" && { GOFLAGS=-mod=mod go mod tidy -e >/dev/null 2>&1 || true; })
	(cd "${dir}" && GOFLAGS=-mod=mod go build -trimpath -tags "${tags}" -ldflags "${ldflags}" -o bin/ "$@")
}

# timed NAME CMD...: runs CMD and prints one line with NAME and its duration.
timed() {
	local name=$1 start=${SECONDS}
	shift
	"$@"
	step "${name} ($((SECONDS - start))s)"
}

# debian_rootfs DIR PACKAGE...: a minimal Debian ($NODE_DEBIAN_SUITE) root filesystem with the
# packages, bootstrapped once and cached as DIR.tar (debootstrap needs only Debian's mirror).
debian_rootfs() {
	local dir=$1
	shift
	need_cmd debootstrap debootstrap
	if [[ -f "${dir}.tar" ]]; then
		return 0
	fi
	rm -rf "${dir}" "${dir}.tmp"
	local include
	include=$(IFS=,; echo "$*")
	debootstrap --variant=minbase ${include:+--include="${include}"} "${NODE_DEBIAN_SUITE}" "${dir}.tmp" \
		>"${dir}.debootstrap.log" 2>&1 || {
		echo "$(basename "$0"): debootstrap ${NODE_DEBIAN_SUITE} failed; last lines of ${dir}.debootstrap.log:" >&2
		tail -n 5 "${dir}.debootstrap.log" >&2
		return 1
	}
	# Image hygiene: no apt lists or caches in the image.
	rm -rf "${dir}.tmp/var/lib/apt/lists/"* "${dir}.tmp/var/cache/apt/"*.bin "${dir}.tmp/var/cache/apt/archives/"*.deb
	tar -C "${dir}.tmp" --numeric-owner -cf "${dir}.tar.tmp" .
	mv "${dir}.tar.tmp" "${dir}.tar"
	rm -rf "${dir}.tmp"
}

# image_present REF LABEL: true when the Docker image REF exists with label grpclab.build=LABEL,
# the fingerprint of what it was built from, so a pin or script change rebuilds it.
image_present() {
	[[ "$(docker image inspect --format '{{index .Config.Labels "grpclab.build"}}' "$1" 2>/dev/null)" == "$2" ]]
}

# exit_if_present REF LABEL: ends the calling script, printing REF as its last line, when the
# image is there and current; a build script's first step. GRPCLAB_REBUILD=1 builds anyway.
exit_if_present() {
	if [[ "${GRPCLAB_REBUILD:-}" != 1 ]] && docker info >/dev/null 2>&1 && image_present "$1" "$2"; then
		step "$1 present (build $2)" >&2
		echo "$1"
		exit 0
	fi
}

# import_image REF LABEL DIR [--change INSTRUCTION]...: makes the Docker image REF from the
# root filesystem in DIR with `docker import` (no registry, no base image), labelled LABEL.
import_image() {
	local ref=$1 label=$2 dir=$3
	shift 3
	tar -C "${dir}" --numeric-owner -c . |
		docker import --change "LABEL grpclab.build=${label}" "$@" - "${ref}" >/dev/null
}

# fingerprint FILE...: a short hash of the pins and the given build inputs.
fingerprint() {
	cat "${REPO_ROOT}/images/pins.env" "$@" | sha256sum | cut -c1-12
}

# coredns_image REF LABEL VERSION CACHE_DIR ROOT: the image REF of coredns VERSION, built once
# into CACHE_DIR/bin from the github.com/coredns/coredns module, on an empty root at ROOT with
# the CA bundle (for forwarding over TLS), run as coredns's own image runs it (65532).
coredns_image() {
	local ref=$1 label=$2 version=$3 dir=$4 root=$5
	if ! [[ -x "${dir}/bin/coredns" ]]; then
		CGO_ENABLED=0 timed "build coredns ${version}" go_wrapper_build "${dir}" \
			github.com/coredns/coredns "${version}" "-s -w" "" github.com/coredns/coredns
	fi
	mkdir -p "${root}/etc/ssl/certs"
	cp "${dir}/bin/coredns" "${root}/coredns"
	cp /etc/ssl/certs/ca-certificates.crt "${root}/etc/ssl/certs/"
	timed "image ${ref}" import_image "${ref}" "${label}" "${root}" \
		--change 'ENTRYPOINT ["/coredns"]' --change 'USER 65532:65532'
}
