#!/usr/bin/env bash
# Makes the grpclab-server image, grpclab/grpclab-server:dev, from the static binary that
# hack/build.sh built (its callers build first: make images, make e2e, make bench), without the Dockerfile's base images (which need a registry): the binary
# on an empty root, non-root, the same entrypoint as the Dockerfile. Prints the reference.
set -o errexit -o nounset -o pipefail
# shellcheck source=hack/images/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_cmd docker docker.io
REF=grpclab/grpclab-server:dev
if ! [[ -x bin/grpclab-server ]]; then
	echo "server.sh: no bin/grpclab-server; run hack/build.sh (make build) first" >&2
	exit 1
fi
LABEL=$(fingerprint "${REPO_ROOT}/hack/images/server.sh" "${REPO_ROOT}/bin/grpclab-server")
exit_if_present "${REF}" "${LABEL}"
root=$(mktemp -d)
trap 'rm -rf "${root}"' EXIT
mkdir -p "${root}/etc" "${root}/tmp"
chmod 1777 "${root}/tmp"
install -m 0755 bin/grpclab-server "${root}/grpclab-server"
echo 'nonroot:x:65532:65532:nonroot:/:/bin/false' >"${root}/etc/passwd"
timed "image ${REF}" import_image "${REF}" "${LABEL}" "${root}" \
	--change 'USER 65532:65532' --change 'EXPOSE 50051' --change 'ENTRYPOINT ["/grpclab-server"]' >&2
echo "${REF}"
