#!/usr/bin/env bash
# Copies the standard Gateway API CRDs from the pinned sigs.k8s.io/gateway-api module into
# manifests/crds/, where go:embed can reach them: the module ships no Go package that embeds its
# CRDs, and `grpclab up -f DIR` must validate without a module cache. manifests' tests fail when
# the copies drift from the module go.mod pins; run this after changing that pin.
set -o errexit -o nounset -o pipefail

# shellcheck source=hack/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

module_dir=$(go list -m -f '{{.Dir}}' sigs.k8s.io/gateway-api)
version=$(go list -m -f '{{.Version}}' sigs.k8s.io/gateway-api)
if [[ -z "${module_dir}" || ! -d "${module_dir}/config/crd/standard" ]]; then
	echo "sigs.k8s.io/gateway-api ${version} is not in the module cache; run: go mod download sigs.k8s.io/gateway-api" >&2
	exit 1
fi

step "copy Gateway API ${version} standard CRDs into manifests/crds"
dest="${REPO_ROOT}/manifests/crds"
mkdir -p "${dest}"
rm -f "${dest}"/*.yaml
for f in "${module_dir}"/config/crd/standard/*.yaml; do
	# The module cache is read-only; the copies must be writable for the next update.
	install -m 0644 "${f}" "${dest}/$(basename "${f}")"
done
printf '%s\n' "${version}" >"${dest}/VERSION"
