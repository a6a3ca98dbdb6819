#!/usr/bin/env bash
# Latency benchmarks: brings a platform of its own up (PLATFORM=kind|local, default: kind
# when a Docker daemon answers, else local; CONTROLLER=… on kind), measures every path with
# ghz, takes the platform down and writes _artifacts/bench/ (bench.json, bench.md, plots).
# Extra flags for `grpclab bench` go in BENCH_FLAGS, e.g. BENCH_FLAGS="--duration 2s".
set -o errexit -o nounset -o pipefail
# shellcheck source=hack/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PLATFORM="${PLATFORM:-}"
CONTROLLER="${CONTROLLER:-}"
ARTIFACTS="${ARTIFACTS:-${REPO_ROOT}/_artifacts}"

hack/build.sh
refresh_server_image
args=(--controller "${CONTROLLER}" --server "${REPO_ROOT}/bin/grpclab-server" --out "${ARTIFACTS}/bench")
if [[ -n "${PLATFORM}" ]]; then
  args+=(--platform "${PLATFORM}")
fi
# shellcheck disable=SC2206 # BENCH_FLAGS is split into words on purpose.
extra=(${BENCH_FLAGS:-})
step "grpclab bench ${args[*]} ${extra[*]:-}"
exec bin/grpclab bench "${args[@]}" "${extra[@]}"
