# Sourced by the scripts in hack/: finds the repository and says what runs.
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export REPO_ROOT
cd "${REPO_ROOT}"

# step prints one progress line, the way every long step here announces itself.
step() { printf '==> %s\n' "$*"; }
