#!/usr/bin/env bash
# Builds kube-apiserver at the pinned Kubernetes version from the k8s.io/kubernetes module and
# caches the binary, for the control-plane test (cluster/kind/controlplane_test.go).
#
# k8s.io/kubernetes is not meant to be required as a module: its go.mod requires every staging
# module (k8s.io/api, k8s.io/client-go, …) at v0.0.0 and replaces them with ./staging paths,
# which Go ignores outside the main module. So the throwaway module here replaces each staging
# module with its published v0.x.y tag, read from the kubernetes go.mod itself.
#
# Cold: about 8 minutes on a 2-core machine. Warm: prints the cached path in a second.
# Prints the binary's path as its last line of stdout; progress goes to stderr.
set -o errexit -o nounset -o pipefail
# shellcheck source=hack/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# One pin: the Kubernetes release whose staging modules match go.mod's k8s.io/* v0.37.2.
KUBE_VERSION=${KUBE_VERSION:-v1.37.2}
STAGING_VERSION="v0${KUBE_VERSION#v1}"
CACHE_DIR=${GRPCLAB_CACHE:-${XDG_CACHE_HOME:-${HOME}/.cache}/grpclab}/kube-apiserver-${KUBE_VERSION}
BIN="${CACHE_DIR}/kube-apiserver"

if [[ -x "${BIN}" ]] && "${BIN}" --version 2>/dev/null | grep -qx "Kubernetes ${KUBE_VERSION}"; then
	step "kube-apiserver ${KUBE_VERSION} cached at ${BIN}" >&2
	echo "${BIN}"
	exit 0
fi

mkdir -p "${CACHE_DIR}"
cd "${CACHE_DIR}"
export GOWORK=off GOFLAGS=-mod=mod GOTOOLCHAIN=local

start=${SECONDS}
step "download k8s.io/kubernetes@${KUBE_VERSION}" >&2
gomod=$(go mod download -json "k8s.io/kubernetes@${KUBE_VERSION}" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
if [[ -z "${gomod}" || ! -f "${gomod}" ]]; then
	echo "kube-apiserver.sh: go mod download k8s.io/kubernetes@${KUBE_VERSION} gave no go.mod" >&2
	exit 1
fi
goversion=$(sed -n 's/^go \([0-9.]*\)$/\1/p' "${gomod}")

# Staging modules are the ones kubernetes replaces with ./staging/src/k8s.io/<name>.
mapfile -t staging < <(sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\1#p' "${gomod}")
if [[ ${#staging[@]} -eq 0 ]]; then
	echo "kube-apiserver.sh: found no staging replace lines in ${gomod}" >&2
	exit 1
fi
step "write go.mod: ${#staging[@]} staging modules at ${STAGING_VERSION} (go ${goversion})" >&2
{
	echo "module grpclab.local/kube-apiserver"
	echo
	echo "go ${goversion}"
	echo
	echo "require k8s.io/kubernetes ${KUBE_VERSION}"
	echo
	for m in "${staging[@]}"; do
		echo "replace ${m} => ${m} ${STAGING_VERSION}"
	done
} >go.mod
cat >tools.go <<'GO'
//go:build tools

package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
GO
rm -f go.sum

step "resolve modules" >&2
go mod tidy -e >&2 2>&1 || go get "k8s.io/kubernetes/cmd/kube-apiserver@${KUBE_VERSION}" >&2

step "go build k8s.io/kubernetes/cmd/kube-apiserver (slow the first time)" >&2
# The version stamp is what `kube-apiserver --version` reports; discovery clients read it too.
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=${KUBE_VERSION} -X k8s.io/component-base/version.gitMajor=1"
ldflags+=" -X k8s.io/component-base/version.gitMinor=$(cut -d. -f2 <<<"${KUBE_VERSION}")"
ldflags+=" -X k8s.io/client-go/pkg/version.gitVersion=${KUBE_VERSION}"
CGO_ENABLED=0 go build -trimpath -ldflags "${ldflags}" -o "${BIN}.tmp" k8s.io/kubernetes/cmd/kube-apiserver
mv "${BIN}.tmp" "${BIN}"
step "built ${BIN} in $((SECONDS - start))s" >&2
echo "${BIN}"
