# syntax=docker/dockerfile:1
# The grpclab server image, grpclab/grpclab-server: a static binary on a
# distroless, non-root base. Build from the repository root:
#   docker build -t grpclab/grpclab-server:dev .
FROM golang:1.26 AS build
WORKDIR /src
COPY . .
# Static (no cgo) so it runs on a base without libc; the caches keep
# rebuilds fast without baking the module cache into a layer.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/grpclab-server ./cmd/grpclab-server

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/grpclab-server /grpclab-server
USER nonroot:nonroot
EXPOSE 50051
ENTRYPOINT ["/grpclab-server"]
