# Every target is one line that calls a script in hack/ (see ../DESIGN.md, "Contracts").
# PLATFORM=kind|local, CONTROLLER=… and GRPCLAB_IMAGES=pulled|built are read by the scripts from the environment.
export PLATFORM CONTROLLER KEEP_CLUSTER GRPCLAB_IMAGES

.PHONY: build test e2e compare bench images generate verify-generated clean

build:            ; hack/build.sh
test:             ; hack/test.sh
e2e:              ; hack/e2e.sh
compare:          ; hack/compare.sh
bench:            ; hack/bench.sh
images:           ; hack/images.sh
generate:         ; hack/generate.sh
verify-generated: ; hack/verify-generated.sh
clean:            ; hack/clean.sh
