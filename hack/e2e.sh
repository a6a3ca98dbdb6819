#!/usr/bin/env bash
# The main job: brings a platform up, runs every scenario, writes _artifacts/junit.xml and
# _artifacts/report.md. PLATFORM=kind|local (default: kind when a Docker daemon answers,
# else local); CONTROLLER=envoy-gateway|nginx-gateway-fabric|ingress-nginx for kind.
set -o errexit -o nounset -o pipefail
# shellcheck source=hack/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PLATFORM="${PLATFORM:-}"
if [[ "${PLATFORM}" == "kind" ]] && ! docker info >/dev/null 2>&1; then
  echo "make e2e PLATFORM=kind: no Docker daemon answers here (docker info failed); kind needs one. Use PLATFORM=local." >&2
  exit 1
fi

hack/build.sh
step "build the scenario suite"
go test -c -o bin/scenarios.test ./scenarios

export ARTIFACTS="${ARTIFACTS:-${REPO_ROOT}/_artifacts}"
export GRPCLAB_SERVER="${REPO_ROOT}/bin/grpclab-server"
export PLATFORM
mkdir -p "${ARTIFACTS}"
step "run the scenarios (report in ${ARTIFACTS})"
cd scenarios
# The test binary is run directly so that its progress lines stream as they happen.
exec ../bin/scenarios.test -test.timeout=60m "$@"
