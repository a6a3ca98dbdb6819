#!/usr/bin/env bash
# Builds the images the upstream Gateway API conformance suite's base manifests run, under the
# exact names those manifests give, so the suite's own YAML runs unmodified on the hermetic
# cluster (make conformance, CONFORMANCE=1 make e2e PLATFORM=kind):
#   - registry.k8s.io/gateway-api/echo-basic:<tag>, every tag the base manifests name, from the
#     echo-basic main package that the sigs.k8s.io/gateway-api/conformance module ships, at the
#     version go.mod pins (one binary: its environment picks the HTTP, gRPC or TCP echo server);
#   - registry.k8s.io/coredns/coredns:<tag>, from the github.com/coredns/coredns module at that tag.
# The names are read from base/manifests.yaml in the module cache; an image the script cannot
# build fails it, naming the image. Prints the references, one a line, on stdout; progress
# goes to stderr.
#
# The echo-basic tags are older than the module the binary comes from (v1.5.1, v1.6.0-dev.3):
# upstream publishes the image separately. The build label records the module version.
set -o errexit -o nounset -o pipefail
# shellcheck source=hack/images/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_cmd go golang-go
need_cmd docker docker.io

MODULE=sigs.k8s.io/gateway-api/conformance
# go list reads the version from go.mod and downloads the module if the cache lacks it.
read -r mod_version mod_dir < <(go list -m -f '{{.Version}} {{.Dir}}' "${MODULE}")
if [[ -z "${mod_dir:-}" || ! -f "${mod_dir}/base/manifests.yaml" ]]; then
	echo "conformance.sh: ${MODULE} ${mod_version:-?} has no base/manifests.yaml in the module cache" >&2
	exit 1
fi
mapfile -t refs < <(sed -n 's/^[[:space:]]*image:[[:space:]]*\([^[:space:]]*\).*/\1/p' "${mod_dir}/base/manifests.yaml" | sort -u)
if [[ ${#refs[@]} -eq 0 ]]; then
	echo "conformance.sh: no image: lines in ${mod_dir}/base/manifests.yaml" >&2
	exit 1
fi
LABEL=$(fingerprint "${REPO_ROOT}/hack/images/conformance.sh" "${REPO_ROOT}/hack/images/lib.sh" <(echo "${MODULE} ${mod_version}"))

missing=()
for ref in "${refs[@]}"; do
	case "${ref}" in
	registry.k8s.io/gateway-api/echo-basic:* | registry.k8s.io/coredns/coredns:*) ;;
	*)
		echo "conformance.sh: ${mod_dir}/base/manifests.yaml runs ${ref}, which this script cannot build" >&2
		exit 1
		;;
	esac
	if [[ "${GRPCLAB_REBUILD:-}" == 1 ]] || ! image_present "${ref}" "${LABEL}"; then missing+=("${ref}"); fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
	step "conformance images for ${MODULE} ${mod_version} present" >&2
	printf '%s\n' "${refs[@]}"
	exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "${work}"' EXIT
DIR="${CACHE_ROOT}/conformance-${mod_version}"
mkdir -p "${DIR}"

# echo_basic_root: the binary on an empty root, as upstream's image runs it (as root: the TCP
# echo server of the base manifests listens on its ports without capabilities).
echo_basic_root() {
	local root="${work}/echo-basic"
	mkdir -p "${root}/tmp"
	chmod 1777 "${root}/tmp"
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "${root}/echo-basic" "${MODULE}/echo-basic"
}

for ref in "${missing[@]}"; do
	tag=${ref##*:}
	case "${ref}" in
	registry.k8s.io/gateway-api/echo-basic:*)
		[[ -d "${work}/echo-basic" ]] || timed "build echo-basic from ${MODULE} ${mod_version}" echo_basic_root >&2
		timed "image ${ref}" import_image "${ref}" "${LABEL}" "${work}/echo-basic" \
			--change 'ENTRYPOINT ["/echo-basic"]' >&2
		;;
	registry.k8s.io/coredns/coredns:*)
		coredns_image "${ref}" "${LABEL}" "${tag}" "${DIR}/coredns-${tag}" "${work}/coredns-${tag}" >&2
		;;
	esac
done
printf '%s\n' "${refs[@]}"
