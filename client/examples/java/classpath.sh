#!/usr/bin/env bash
# Prints the class path of Debian's gRPC Java (libgrpc-java, libprotobuf-java,
# libgoogle-common-protos-java, netty, guava, perfmark, gson, geronimo-annotation), for
# LedgerFlow.java.
set -euo pipefail
jars=(grpc-api grpc-core grpc-context grpc-stub grpc-protobuf grpc-protobuf-lite grpc-netty
      protobuf proto-google-common-protos guava failureaccess perfmark-api gson
      netty-buffer netty-codec netty-codec-http netty-codec-http2 netty-codec-socks
      netty-common netty-handler netty-handler-proxy netty-resolver netty-transport
      netty-transport-native-unix-common opencensus-api jsr305 error_prone_annotations
      geronimo-annotation-1.3-spec)  # javax.annotation.Generated, in grpc_java_plugin output
cp=()
for j in "${jars[@]}"; do
  if [[ -f /usr/share/java/$j.jar ]]; then cp+=("/usr/share/java/$j.jar"); fi
done
(IFS=:; echo "${cp[*]}")
