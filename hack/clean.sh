#!/usr/bin/env bash
set -o errexit -o nounset -o pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

rm -rf bin _artifacts
