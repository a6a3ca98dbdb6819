# Every target is one line that calls a script in hack/ (see ../DESIGN.md, "Contracts").
# PLATFORM=kind|local, CONTROLLER=…, GRPCLAB_IMAGES=pulled|built and CONFORMANCE=1 are read by the scripts from the environment.
export PLATFORM CONTROLLER KEEP_CLUSTER GRPCLAB_IMAGES CONFORMANCE

.PHONY: build test e2e conformance compare bench images generate verify-generated clean

build:            ; hack/build.sh
test:             ; hack/test.sh
e2e:              ; hack/e2e.sh
conformance:      ; PLATFORM=kind CONFORMANCE=1 hack/e2e.sh
compare:          ; hack/compare.sh
bench:            ; hack/bench.sh
images:           ; hack/images.sh
generate:         ; hack/generate.sh
verify-generated: ; hack/verify-generated.sh
clean:            ; hack/clean.sh
