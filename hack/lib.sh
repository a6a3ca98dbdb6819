# shellcheck shell=bash
# Sourced by the scripts in hack/: finds the repository, moves there, and defines step.
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export REPO_ROOT
cd "${REPO_ROOT}" || exit 1

# step prints one progress line, the way every long step here announces itself.
step() { printf '==> %s\n' "$*"; }

# refresh_server_image: where the kind platform may run on the hermetic images (a Docker daemon
# answers and `make images` made the node), makes the server image from the binary just built,
# so the cluster runs the code under test (seconds; skipped when it is current).
refresh_server_image() {
	if [[ "${PLATFORM:-}" != "local" && "${GRPCLAB_IMAGES:-}" != "pulled" ]] && docker info >/dev/null 2>&1 &&
		docker image inspect "grpclab.local/kind-node:$(sed -n 's/^KUBERNETES_VERSION=//p' "${REPO_ROOT}/images/pins.env")" >/dev/null 2>&1; then
		"${REPO_ROOT}/hack/images/server.sh" >/dev/null
	fi
}
