#!/usr/bin/env bash
# Regenerates the Go code for services/proto/**/*.proto with pinned tools:
# protoc from Debian's protobuf-compiler, protoc-gen-go and protoc-gen-go-grpc
# at the versions pinned in hack/tools/go.mod, built into bin/tools.
#
# Usage: hack/generate.sh [OUT_DIR]
#   OUT_DIR defaults to the repository root; hack/verify-generated.sh passes a
#   temporary directory and diffs it against the committed files.
set -o errexit -o nounset -o pipefail
# shellcheck source=hack/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

out_dir=${1:-${REPO_ROOT}}
module=github.com/grpclab/grpclab
proto_root=services/proto
tools_bin=${REPO_ROOT}/bin/tools

if ! command -v protoc >/dev/null 2>&1; then
  echo "generate: protoc not found: install Debian's protobuf-compiler" >&2
  exit 1
fi

step "build protoc plugins pinned in hack/tools/go.mod into ${tools_bin}"
mkdir -p "${tools_bin}"
# go install tool installs every tool directive of the tools module.
(cd hack/tools && GOBIN=${tools_bin} go install tool)

mapfile -t protos < <(cd "${proto_root}" && find . -name '*.proto' -printf '%P\n' | LC_ALL=C sort)
if [[ ${#protos[@]} -eq 0 ]]; then
  echo "generate: no .proto files under ${proto_root}" >&2
  exit 1
fi

step "protoc $(protoc --version | cut -d' ' -f2) -> ${out_dir} (${protos[*]})"
mkdir -p "${out_dir}"
# module= strips the module path from go_package, so the files land under
# services/<pkg>pb/ relative to out_dir whatever the temp dir is.
PATH="${tools_bin}:${PATH}" protoc \
  --proto_path="${proto_root}" \
  --go_out="${out_dir}" --go_opt=module="${module}" \
  --go-grpc_out="${out_dir}" --go-grpc_opt=module="${module}" \
  "${protos[@]}"
