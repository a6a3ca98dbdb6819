#!/usr/bin/env bash
# Fails when the committed generated Go differs from what hack/generate.sh
# makes now: regenerates into a temporary directory and diffs every generated
# package (services/*pb) both ways, so stale, edited, missing and extra files
# all fail.
set -o errexit -o nounset -o pipefail
# shellcheck source=hack/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

tmp=$(mktemp -d)
trap 'rm -rf "${tmp}"' EXIT

hack/generate.sh "${tmp}"

step "diff generated code against the committed services/*pb"
mkdir -p "${tmp}/services"
status=0
# Union of generated package dirs on either side, so a deleted or an extra
# package is drift too.
mapfile -t dirs < <( { (cd "${tmp}" && find services -maxdepth 1 -type d -name '*pb'); \
  find services -maxdepth 1 -type d -name '*pb'; } | LC_ALL=C sort -u)
for dir in "${dirs[@]}"; do
  if ! diff -ru "${dir}" "${tmp}/${dir}"; then
    status=1
  fi
done
if [[ ${status} -ne 0 ]]; then
  echo "verify-generated: generated code is out of date: run 'make generate' and commit the result" >&2
  exit 1
fi
step "generated code is current"
