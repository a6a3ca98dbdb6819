#!/usr/bin/env bash
# Builds the grpcurl CLI at the version go.mod pins (github.com/fullstorydev/grpcurl, also a
# library of the scenarios) and caches it under $CACHE_ROOT/grpcurl-<version>/. The tests run
# every grpcurl line grpclab prints with it (GRPCLAB_GRPCURL, exported by hack/test.sh).
# Prints the binary's path as its last line of stdout; progress goes to stderr.
set -o errexit -o nounset -o pipefail
# shellcheck source=hack/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CACHE_ROOT=${GRPCLAB_CACHE:-${XDG_CACHE_HOME:-${HOME}/.cache}/grpclab}
version=$(go list -m -f '{{.Version}}' github.com/fullstorydev/grpcurl)
bin="${CACHE_ROOT}/grpcurl-${version}/bin/grpcurl"
if [[ -x ${bin} ]]; then
	step "grpcurl ${version} cached in ${bin}" >&2
	echo "${bin}"
	exit 0
fi
step "build grpcurl ${version} (go.mod's pin) into ${bin}" >&2
mkdir -p "$(dirname "${bin}")"
# From this module, so the CLI builds against exactly the versions go.sum records.
CGO_ENABLED=0 go build -trimpath -ldflags "-X main.version=${version}" -o "${bin}.tmp" \
	github.com/fullstorydev/grpcurl/cmd/grpcurl
mv "${bin}.tmp" "${bin}"
echo "${bin}"
