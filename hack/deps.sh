#!/usr/bin/env bash
# Makes sure the system packages a make target needs are installed. As root on Debian it
# installs the missing ones with apt-get (one `apt-get update` first); otherwise it prints the one
# apt-get line to run, naming what is missing, and fails.
#
# Usage: hack/deps.sh test|e2e|images
set -o errexit -o nounset -o pipefail
# shellcheck source=hack/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# command:package pairs, by target.
case "${1:-}" in
test)
	# nginx: the local platform; nft + ip: the isolation suite; etcd: the control-plane test;
	# protoc: the generated-code check; tmux: the interactive demo test (a person at a terminal);
	# curl: the demo prints a curl line for the ssl-redirect, and its test runs it.
	need=(nginx:nginx nft:nftables ip:iproute2 etcd:etcd-server protoc:protobuf-compiler git:git tmux:tmux curl:curl)
	;;
e2e)
	need=(nginx:nginx nft:nftables ip:iproute2)
	;;
images)
	need=(docker:docker.io debootstrap:debootstrap jq:jq gcc:gcc)
	[[ -f /usr/include/seccomp.h ]] || need+=(/usr/include/seccomp.h:libseccomp-dev)
	;;
*)
	echo "usage: hack/deps.sh test|e2e|images" >&2
	exit 2
	;;
esac

missing=()
for pair in "${need[@]}"; do
	cmd=${pair%%:*} pkg=${pair#*:}
	if [[ ${cmd} == /* ]]; then
		[[ -e ${cmd} ]] || missing+=("${pkg}")
	elif ! command -v "${cmd}" >/dev/null 2>&1; then
		missing+=("${pkg}")
	fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

line="apt-get install -y --no-install-recommends ${missing[*]}"
if [[ ${EUID} -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
	step "installing what make $1 needs: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	exit 0
fi
echo "make $1 needs ${missing[*]}: run (as root) ${line}" >&2
exit 1
