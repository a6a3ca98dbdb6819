# shellcheck shell=bash
# Sourced by the scripts in hack/: finds the repository, moves there, and defines step.
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export REPO_ROOT
cd "${REPO_ROOT}" || exit 1

# step prints one progress line, the way every long step here announces itself.
step() { printf '==> %s\n' "$*"; }
