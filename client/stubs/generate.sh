#!/usr/bin/env bash
# Generates client stubs for the gateway's API with protoc and Debian's plugins, offline:
#   client/stubs/generate.sh LANG OUT_DIR [PROTO ...]
# LANG: go | python | node | java. PROTO: paths under proto/ (default: every formance/**.proto).
# Needs `bash deploy/install_deps.sh --clients` (third_party/install.sh: googleapis protos,
# protoc-gen-go; Go and Java tool chains).
#   go      protoc-gen-go v1.28 (third_party/go/bin) + protoc-gen-go-grpc (Debian); OUT_DIR is a
#           GOPATH src/ (files land in OUT_DIR/github.com/formance-grpc-gateway/proto/...).
#           google/api comes from golang-google-genproto-dev.
#   python  protoc's python_out + grpc_python_plugin (Debian protobuf-compiler-grpc), and the
#           google/api + google/rpc modules (Debian has no python googleapis-common-protos).
#   node    TypeScript types for @grpc/grpc-js + @grpc/proto-loader (proto-loader-gen-types);
#           at run time proto-loader reads the .proto files (include dirs: proto/,
#           third_party/googleapis, /usr/include).
#   java    protoc's java_out + grpc_java_plugin (Debian protobuf-compiler-grpc-java-plugin);
#           com.google.api / com.google.rpc come from libgoogle-common-protos-java.
# `buf generate` (buf.gen.yaml) runs the same plugins for go, python and java.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
lang="${1:?usage: generate.sh go|python|node|java OUT_DIR [PROTO ...]}"
out="${2:?usage: generate.sh LANG OUT_DIR [PROTO ...]}"
shift 2
GOOGLEAPIS="$ROOT/third_party/googleapis"
[[ -f "$GOOGLEAPIS/google/api/annotations.proto" ]] || bash "$ROOT/third_party/install.sh"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
cd "$ROOT/proto"
if (($#)); then protos=("$@"); else mapfile -t protos < <(find formance -name '*.proto' | sort); fi
inc=(-I "$ROOT/proto" -I "$GOOGLEAPIS" -I /usr/include)
case "$lang" in
  go)
    [[ -x "$ROOT/third_party/go/bin/protoc-gen-go" ]] || bash "$ROOT/third_party/install.sh" --go
    protoc "${inc[@]}" --plugin=protoc-gen-go="$ROOT/third_party/go/bin/protoc-gen-go" \
      --go_out="$out" --go-grpc_out="$out" "${protos[@]}" ;;
  python)
    protoc "${inc[@]}" --python_out="$out" --grpc_python_out="$out" \
      --plugin=protoc-gen-grpc_python="$(command -v grpc_python_plugin)" "${protos[@]}"
    (cd "$GOOGLEAPIS" && protoc -I . -I /usr/include --python_out="$out" \
      google/api/annotations.proto google/api/http.proto google/rpc/status.proto \
      google/rpc/error_details.proto) ;;
  node)
    gen="$ROOT/tests/node_modules/.bin/proto-loader-gen-types"
    # The file names go first: -I takes every argument after it.
    "$gen" "${protos[@]}" --grpcLib=@grpc/grpc-js --longs=String --enums=String --keepCase \
      --outDir="$out" -I "$ROOT/proto" "$GOOGLEAPIS" /usr/include ;;
  java)
    # grpc_java_plugin 1.41 writes @javax.annotation.Generated: compile with
    # libgeronimo-annotation-1.3-spec-java (client/examples/java/classpath.sh).
    protoc "${inc[@]}" --java_out="$out" --grpc-java_out="$out" \
      --plugin=protoc-gen-grpc-java="$(command -v grpc_java_plugin)" "${protos[@]}" ;;
  *) echo "unknown language: $lang (go, python, node, java)" >&2; exit 2 ;;
esac
echo "generated $lang stubs for ${#protos[@]} protos in $out"
