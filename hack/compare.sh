#!/usr/bin/env bash
# Runs the scenario suite on both platforms and puts the runs side by side: the local
# emulator into _artifacts/local, kind into _artifacts/kind (CONTROLLER, default traefik, and
# GRPCLAB_IMAGES=pulled|built are passed through), then `grpclab compare` writes
# _artifacts/compare.md. The kind run and the comparison happen even when a run failed; the
# exit status is non-zero when either run (or the comparison) failed.
set -o errexit -o nounset -o pipefail
# shellcheck source=hack/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CONTROLLER="${CONTROLLER:-traefik}"
LOCAL="${REPO_ROOT}/_artifacts/local"
KIND="${REPO_ROOT}/_artifacts/kind"
OUT="${REPO_ROOT}/_artifacts/compare.md"

# A run that fails before it reports must not leave an earlier run's results to be compared.
rm -rf "${LOCAL}" "${KIND}" "${OUT}"

kind_args=(CONTROLLER="${CONTROLLER}")
if [[ -n "${GRPCLAB_IMAGES:-}" ]]; then
  kind_args+=(GRPCLAB_IMAGES="${GRPCLAB_IMAGES}")
fi

step "e2e on the local platform (report in ${LOCAL})"
local_status=0
make --no-print-directory e2e PLATFORM=local ARTIFACTS="${LOCAL}" || local_status=$?

step "e2e on kind with ${CONTROLLER} (report in ${KIND})"
kind_status=0
make --no-print-directory e2e PLATFORM=kind ARTIFACTS="${KIND}" "${kind_args[@]}" || kind_status=$?

step "compare the runs"
compare_status=0
for dir in "${LOCAL}" "${KIND}"; do
  if [[ ! -f "${dir}/results.json" ]]; then
    echo "no ${dir}/results.json: that run failed before its scenarios ran (see its output above)" >&2
    compare_status=1
  fi
done
if [[ ${compare_status} -eq 0 ]]; then
  bin/grpclab compare "${LOCAL}" "${KIND}" --out "${OUT}" >/dev/null || compare_status=$?
fi
if [[ ${compare_status} -eq 0 ]]; then
  step "comparison in ${OUT}: $(tail -n 1 "${OUT}")"
fi

step "local: exit ${local_status} · kind (${CONTROLLER}): exit ${kind_status} · compare: exit ${compare_status}"
if [[ ${local_status} -ne 0 || ${kind_status} -ne 0 || ${compare_status} -ne 0 ]]; then
  exit 1
fi
