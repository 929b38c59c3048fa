#!/usr/bin/env bash
# Installs, from Debian packages, what the protos and the client stubs need but the repository
# does not commit (run by deploy/install_deps.sh; idempotent; no network beyond apt):
#   third_party/googleapis/google/{api,rpc}/*.proto
#       google/api/annotations.proto + http.proto (imported by every service.proto), extracted
#       from Debian's libgoogle-common-protos-java (the jar carries the .proto files, with the
#       go_package Go needs), and google/rpc/status.proto + error_details.proto (ErrorInfo, for
#       clients; the jar's copy predates ErrorInfo) unpacked from Debian's
#       golang-github-gogo-googleapis-dev (plain protos; the package itself is not installed).
#       buf.yaml declares this directory as a module, so `buf lint|breaking|generate` work
#       from the repository root.
#   third_party/go/   with --go: a GOPATH overlay for Go stubs (GO111MODULE=off; needs golang-go
#                     and golang-google-protobuf-dev: deploy/install_deps.sh --clients):
#       bin/protoc-gen-go   google.golang.org/protobuf v1.28's generator, built offline from
#                           golang-google-protobuf-dev (Debian's protoc-gen-go package conflicts
#                           with golang-github-grpc-ecosystem-grpc-gateway-dev, which C++ needs)
#       src/github.com/golang/protobuf   v1.5 from golang-github-golang-protobuf-1-5-dev,
#                           unpacked here (not installed: it conflicts with the 1.3 that
#                           grpc-gateway-dev pulls in); grpc-go and genproto need the 1.5 API.
# Usage: third_party/install.sh [--go] [--check]   (--check: exit 1 when something is missing)
set -euo pipefail
cd "$(dirname "$0")"
HERE="$PWD"
JAR=/usr/share/java/proto-google-common-protos.jar
API_PROTOS=(google/api/annotations.proto google/api/http.proto)
RPC_PROTOS=(google/rpc/status.proto google/rpc/error_details.proto)
PROTOS=("${API_PROTOS[@]}" "${RPC_PROTOS[@]}")

with_go="" check=""
for arg in "$@"; do
  case "$arg" in
    --go) with_go=1 ;;
    --check) check=1 ;;
    *) echo "third_party/install.sh: unknown argument $arg (--go, --check)" >&2; exit 2 ;;
  esac
done
missing() {
  for p in "${PROTOS[@]}"; do [[ -f googleapis/$p ]] || return 0; done
  [[ -z "$with_go" ]] && return 1
  [[ -x go/bin/protoc-gen-go && -f go/src/github.com/golang/protobuf/proto/proto.go ]] || return 0
  return 1
}
if [[ -n "$check" ]]; then
  if missing; then echo "third_party: incomplete (run third_party/install.sh)"; exit 1; fi
  echo "third_party: ok"; exit 0
fi

# googleapis protos from the jar (python3's zipfile: no unzip needed).
if [[ ! -f "$JAR" ]]; then echo "third_party: $JAR missing (apt-get install libgoogle-common-protos-java)" >&2; exit 1; fi
/usr/bin/python3 - "$JAR" "$HERE/googleapis" "${API_PROTOS[@]}" <<'PY'
import os, sys, zipfile
jar, out, names = sys.argv[1], sys.argv[2], sys.argv[3:]
with zipfile.ZipFile(jar) as z:
    for n in names:
        data = z.read(n)
        path = os.path.join(out, n)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if not os.path.exists(path) or open(path, "rb").read() != data:
            with open(path, "wb") as f:
                f.write(data)
PY

tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
# unpack <package>: its files under $tmp/<package> (apt-get download: no install, no conflicts).
unpack() {
  [[ -d "$tmp/$1" ]] && return 0
  (cd "$tmp" && apt-get download -qq "$1" 2>/dev/null)
  dpkg-deb -x "$tmp/$1"_*.deb "$tmp/$1"
}

# google/rpc protos from gogo's googleapis copy.
for p in "${RPC_PROTOS[@]}"; do
  if [[ ! -f googleapis/$p ]]; then
    unpack golang-github-gogo-googleapis-dev
    mkdir -p googleapis/google/rpc
    cp "$tmp/golang-github-gogo-googleapis-dev/usr/share/gocode/src/github.com/gogo/googleapis/$p" \
       "googleapis/$p"
  fi
done

if [[ -z "$with_go" ]]; then
  echo "third_party: ok (googleapis protos)"
  exit 0
fi

# golang/protobuf 1.5, unpacked from its Debian package.
if [[ ! -f go/src/github.com/golang/protobuf/proto/proto.go ]]; then
  unpack golang-github-golang-protobuf-1-5-dev
  mkdir -p go/src/github.com/golang
  rm -rf go/src/github.com/golang/protobuf
  cp -r "$tmp/golang-github-golang-protobuf-1-5-dev/usr/share/gocode/src/github.com/golang/protobuf" \
     go/src/github.com/golang/
fi

# protoc-gen-go v1.28 from golang-google-protobuf-dev's source, offline.
if [[ ! -x go/bin/protoc-gen-go ]]; then
  mkdir -p go/bin go/cache
  GO111MODULE=off GOPATH="$HERE/go:/usr/share/gocode" GOCACHE="$HERE/go/cache" GOFLAGS= \
    go build -o go/bin/protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go
fi
echo "third_party: ok (googleapis protos, go overlay, $(go/bin/protoc-gen-go --version))"
