#!/usr/bin/env bash
# Builds Kubernetes binaries at the pinned version from the k8s.io/kubernetes module and caches
# them under $CACHE_ROOT/kubernetes-<version>/. Prints the cache directory as its last line of
# stdout; progress goes to stderr.
#
# Usage: hack/images/kubernetes.sh [BINARY...]   (default: every binary a kind node needs)
#
# k8s.io/kubernetes is not meant to be required as a module: its go.mod requires every staging
# module (k8s.io/api, k8s.io/client-go, …) at v0.0.0 and replaces them with ./staging paths,
# which Go ignores outside the main module. So the throwaway module here replaces each staging
# module with its published v0.x.y tag, read from the kubernetes go.mod itself.
#
# Cold, all seven binaries on 2 cores: about 8–10 minutes. Warm: a second.
set -o errexit -o nounset -o pipefail
# shellcheck source=hack/images/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

all=(kubeadm kubelet kubectl kube-apiserver kube-controller-manager kube-scheduler kube-proxy)
want=("$@")
[[ ${#want[@]} -gt 0 ]] || want=("${all[@]}")
for b in "${want[@]}"; do
	if [[ " ${all[*]} " != *" ${b} "* ]]; then
		echo "kubernetes.sh: unknown binary '${b}', want one of: ${all[*]}" >&2
		exit 2
	fi
done

V=${KUBERNETES_VERSION}
STAGING_VERSION="v0${V#v1}"
DIR="${CACHE_ROOT}/kubernetes-${V}"
mkdir -p "${DIR}/bin"

missing=()
for b in "${want[@]}"; do
	if ! [[ -x "${DIR}/bin/${b}" ]]; then
		missing+=("${b}")
	fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
	step "kubernetes ${V} (${want[*]}) cached in ${DIR}/bin" >&2
	echo "${DIR}"
	exit 0
fi

cd "${DIR}"
export GOFLAGS=-mod=mod
start=${SECONDS}
step "download k8s.io/kubernetes@${V}" >&2
gomod=$(go mod download -json "k8s.io/kubernetes@${V}" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
if [[ -z "${gomod}" || ! -f "${gomod}" ]]; then
	echo "kubernetes.sh: go mod download k8s.io/kubernetes@${V} gave no go.mod" >&2
	exit 1
fi
goversion=$(sed -n 's/^go \([0-9.]*\)$/\1/p' "${gomod}")
mapfile -t staging < <(sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\1#p' "${gomod}")
if [[ ${#staging[@]} -eq 0 ]]; then
	echo "kubernetes.sh: found no staging replace lines in ${gomod}" >&2
	exit 1
fi
pkgs=()
for b in "${all[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/${b}"); done
if ! [[ -f go.sum && -f go.mod ]] || ! grep -q "require k8s.io/kubernetes ${V}" go.mod; then
	step "write go.mod: ${#staging[@]} staging modules at ${STAGING_VERSION} (go ${goversion})" >&2
	{
		echo "module grpclab.local/kubernetes"
		echo
		echo "go ${goversion}"
		echo
		echo "require k8s.io/kubernetes ${V}"
		echo
		for m in "${staging[@]}"; do
			echo "replace ${m} => ${m} ${STAGING_VERSION}"
		done
	} >go.mod
	{
		echo "//go:build tools"
		echo
		echo "package tools"
		echo
		for p in "${pkgs[@]}"; do echo "import _ \"${p}\""; done
	} >tools.go
	rm -f go.sum
	step "resolve modules" >&2
	go mod tidy -e >&2
fi

# The version stamp is what `--version` reports; kubeadm refuses to run without a real one.
minor=$(cut -d. -f2 <<<"${V}")
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	ldflags+=" -X ${pkg}.gitVersion=${V} -X ${pkg}.gitMajor=1 -X ${pkg}.gitMinor=${minor}"
	ldflags+=" -X ${pkg}.gitTreeState=clean -X ${pkg}.buildDate=1970-01-01T00:00:00Z"
done
targets=()
for b in "${missing[@]}"; do targets+=("k8s.io/kubernetes/cmd/${b}"); done
step "go build ${missing[*]} (slow the first time)" >&2
mkdir -p bin.tmp
CGO_ENABLED=0 go build -trimpath -ldflags "${ldflags}" -o bin.tmp/ "${targets[@]}" >&2
for b in "${missing[@]}"; do mv "bin.tmp/${b}" "bin/${b}"; done
rmdir bin.tmp
step "built kubernetes ${V} ${missing[*]} in $((SECONDS - start))s" >&2
echo "${DIR}"
