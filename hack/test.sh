#!/usr/bin/env bash
# Unit and integration tests, including the whole scenario suite on the local platform.
# Runs as root on Debian; hack/deps.sh installs nginx, nftables, iproute2, etcd and protoc first.
set -o errexit -o nounset -o pipefail
# shellcheck source=hack/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

hack/deps.sh test
step "verify the generated protobuf code is current"
hack/verify-generated.sh

step "go vet"
go vet ./...

# The control-plane test runs the kind platform's apply step against a real kube-apiserver;
# the first build takes minutes, later runs reuse the cached binary.
step "kube-apiserver for the control-plane test"
GRPCLAB_KUBE_APISERVER="$(hack/kube-apiserver.sh | tail -n 1)"
export GRPCLAB_KUBE_APISERVER

# The CLI tests run every grpcurl line grpclab prints with the real grpcurl at go.mod's pin.
step "grpcurl CLI for the printed-command tests"
GRPCLAB_GRPCURL="$(hack/grpcurl.sh | tail -n 1)"
export GRPCLAB_GRPCURL

step "go test (the scenarios run on the local platform; report in _artifacts/)"
# -v goes to a log so that every skipped test can be listed with its reason: a skip is never
# silently counted as a pass.
mkdir -p _artifacts
status=0
PLATFORM=local ARTIFACTS="${REPO_ROOT}/_artifacts" go test -count=1 -v ./... >_artifacts/go-test.log 2>&1 || status=$?
grep -E '^(ok|FAIL|panic:)|^\s*--- FAIL' _artifacts/go-test.log || true
skips=$(grep -cE '^\s*--- SKIP' _artifacts/go-test.log || true)
step "${skips} tests skipped, each with its reason (scenario cases: _artifacts/report.md; full log: _artifacts/go-test.log)"
grep -E -B1 '^\s*--- SKIP' _artifacts/go-test.log | grep -v -- '^--$' || true
if [[ ${status} -ne 0 ]]; then
  grep -E -B2 -A30 '^\s*--- FAIL' _artifacts/go-test.log || tail -n 100 _artifacts/go-test.log
  step "go test failed (exit ${status}); see _artifacts/go-test.log"
  exit "${status}"
fi

step "go test -race ./services/..."
go test -count=1 -race ./services/...
