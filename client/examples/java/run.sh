#!/usr/bin/env bash
# Generates the ledger v2 Java stubs, compiles them with LedgerFlow.java and runs it:
#   bash client/examples/java/run.sh [ADDR] [LEDGER]     (work dir: $FGW_JAVA_DIR, default /tmp/fgw-java)
# Debian: openjdk-17-jdk-headless, libgrpc-java, libprotobuf-java, protobuf-compiler-grpc-java-plugin
# (bash deploy/install_deps.sh --clients).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
work="${FGW_JAVA_DIR:-/tmp/fgw-java}"
rm -rf "$work/src" "$work/classes"
bash "$root/client/stubs/generate.sh" java "$work/src" formance/gateway/v1/options.proto \
  formance/ledger/v2/models.proto formance/ledger/v2/service.proto >/dev/null
cp="$(bash "$here/classpath.sh")"
find "$work/src" -name '*.java' > "$work/sources.txt"
javac -nowarn -d "$work/classes" -cp "$cp" @"$work/sources.txt" "$here/LedgerFlow.java"
exec java -cp "$work/classes:$cp" LedgerFlow "$@"
