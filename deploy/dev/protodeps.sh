#!/usr/bin/env bash
# Copies the dependency protos our contracts import from their Go modules in
# the module cache into a git-ignored folder that buf reads as a second module.
# Usage: protodeps.sh OUT_DIR PROTOVALIDATE_VERSION GATEWAY_V1_VERSION GATEWAY_V2_VERSION
set -euo pipefail
out=$1 pv=$2 gw1=$3 gw2=$4

# Resolve (downloading through the module proxy when needed) a module's
# directory in the module cache, outside any go.mod/go.work.
moddir() {
  (cd "$(mktemp -d)" && GOWORK=off GOFLAGS=-mod=mod go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
}

pvdir=$(moddir "github.com/bufbuild/protovalidate@$pv")
gw1dir=$(moddir "github.com/grpc-ecosystem/grpc-gateway@$gw1")
gw2dir=$(moddir "github.com/grpc-ecosystem/grpc-gateway/v2@$gw2")

rm -rf "$out"
mkdir -p "$out/buf/validate" "$out/google/api" "$out/protoc-gen-openapiv2/options"
install -m 0644 "$pvdir/proto/protovalidate/buf/validate/validate.proto" "$out/buf/validate/"
install -m 0644 "$gw1dir/third_party/googleapis/google/api/annotations.proto" \
                "$gw1dir/third_party/googleapis/google/api/http.proto" "$out/google/api/"
install -m 0644 "$gw2dir/protoc-gen-openapiv2/options/annotations.proto" \
                "$gw2dir/protoc-gen-openapiv2/options/openapiv2.proto" "$out/protoc-gen-openapiv2/options/"

echo "dependency protos in $out (protovalidate $pv, googleapis from grpc-gateway $gw1, openapiv2 options $gw2)"
