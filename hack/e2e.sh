#!/usr/bin/env bash
# The main job: brings a platform up, runs every scenario, writes _artifacts/junit.xml and
# _artifacts/report.md. PLATFORM=kind|local (default: kind when a Docker daemon answers and
# the kind images can be pulled or were built here by `make images`, else local);
# CONTROLLER=traefik|envoy-gateway|nginx-gateway-fabric|ingress-nginx for kind;
# GRPCLAB_IMAGES=pulled|built forces the kind platform's image source; CONFORMANCE=1 (make
# conformance) also runs the upstream Gateway API conformance suite's GATEWAY-GRPC profile on
# the kind cluster after the scenarios, its ConformanceReport in ${ARTIFACTS}/conformance-report.yaml.
set -o errexit -o nounset -o pipefail
# shellcheck source=hack/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

hack/deps.sh e2e
PLATFORM="${PLATFORM:-}"
if [[ "${PLATFORM}" == "kind" ]] && ! docker info >/dev/null 2>&1; then
  echo "make e2e PLATFORM=kind: no Docker daemon answers here (docker info failed); kind needs one. Use PLATFORM=local." >&2
  exit 1
fi

hack/build.sh
refresh_server_image
step "build the scenario suite"
go test -c -o bin/scenarios.test ./scenarios

export ARTIFACTS="${ARTIFACTS:-${REPO_ROOT}/_artifacts}"
export GRPCLAB_SERVER="${REPO_ROOT}/bin/grpclab-server"
export PLATFORM
mkdir -p "${ARTIFACTS}"
step "run the scenarios (report in ${ARTIFACTS})"
cd scenarios
# The test binary is run directly so that its progress lines stream as they happen; its whole
# output goes to ${ARTIFACTS}/scenarios.log. Known findings of a real controller
# (scenarios/findings.yaml) are failed cases in the report that do not fail the run; any other
# failure does, and then the failures' output is shown here too.
set +o errexit
../bin/scenarios.test -test.timeout=60m "$@" 2>&1 | tee "${ARTIFACTS}/scenarios.log" | grep --line-buffered '^==> '
codes=("${PIPESTATUS[@]}")
set -o errexit
status=${codes[0]}
if [[ ${status} -ne 0 ]]; then
  grep -E -B2 -A20 '^\s*--- FAIL' "${ARTIFACTS}/scenarios.log" | head -n 200 || tail -n 50 "${ARTIFACTS}/scenarios.log"
  step "make e2e failed (exit ${status}); full output in ${ARTIFACTS}/scenarios.log"
  exit "${status}"
fi
step "full output in ${ARTIFACTS}/scenarios.log"
