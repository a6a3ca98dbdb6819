#!/usr/bin/env bash
# make images: builds the hermetic kind image set here, with no registry, from the pins in
# images/pins.env: the kind node (control-plane images preloaded), the NetworkPolicy enforcer,
# Traefik, the grpclab-server image, and the images the upstream conformance suite's base
# manifests run (echo-basic and CoreDNS under their upstream names, for make conformance).
# What was built is cached (Go builds under ~/.cache/grpclab, images in Docker, each labelled
# with a fingerprint of its inputs), so a warm run takes seconds. One progress line per
# image, with its duration.
set -o errexit -o nounset -o pipefail
# shellcheck source=hack/images/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/images/lib.sh"

hack/deps.sh images
if ! docker info >/dev/null 2>&1; then
	echo "make images: no Docker daemon answers (docker info failed); start one first" >&2
	exit 1
fi
start=${SECONDS}
# The server image is made from the binary the build leaves in bin/.
hack/build.sh
for image in node kube-router traefik server conformance; do
	t=${SECONDS}
	ref=$("hack/images/${image}.sh" | tail -n 1)
	step "image ${ref} ($((SECONDS - t))s)"
done
step "images ready ($((SECONDS - start))s)"
