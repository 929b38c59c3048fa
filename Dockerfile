# formance-grpc-gateway: multi-stage build on Debian 12. The runtime stage holds the daemon, the
# CLI and the shared libraries they load (no compiler, no -dev package: tests/deploy checks the
# list against `ldd`), runs as uid 10001 and, by default, listens on 0.0.0.0:50051 (API) and
# 0.0.0.0:9090 / 0.0.0.0:9091 (admin: /healthz /readyz /metrics, grpc.health.v1) inside the
# container: the pod or compose network is the boundary.
#   docker build -t formance-grpc-gateway .
#   docker run -e FORMANCE_URL=https://org.env.formance.cloud -e FORMANCE_CLIENT_ID=... \
#     -e FORMANCE_CLIENT_SECRET_FILE=/secrets/client_secret -v ./secrets:/secrets:ro \
#     -p 127.0.0.1:50051:50051 -p 127.0.0.1:9090:9090 formance-grpc-gateway
# The API on 0.0.0.0 in plaintext is refused at start unless it has TLS (grpc.tls) or callers
# (policy.callers), or you accept the risk on a trusted network: -e FGW_ALLOW_INSECURE_REMOTE=1.
# Arguments replace CMD (the listen addresses): keep --admin_grpc_listen=0.0.0.0:9091 (or a
# loopback one) for the HEALTHCHECK. No ENV sets an address: in a pod the API stays on the
# built-in 127.0.0.1:50051 unless the args say otherwise.
FROM debian:12 AS build
WORKDIR /src
COPY deploy/install_deps.sh deploy/install_deps.sh
RUN bash deploy/install_deps.sh
COPY . .
RUN FGW_BUILD_TESTS=OFF FGW_BUILD_TYPE=Release FGW_BUILD_DIR=/build \
      FGW_TARGETS="formance-grpc-gateway formance-grpc-cli" bash deploy/build.sh \
    && strip /build/server/formance-grpc-gateway /build/client/formance-grpc-cli

FROM debian:12-slim
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      ca-certificates libgrpc++1.51 libprotobuf32 libcpprest2.10 libyaml-cpp0.7 libspdlog1.10 \
      libfmt9 libabsl20220623 libssl3 libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 \
      libcivetweb1 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 gateway \
    && useradd --system --uid 10001 --gid 10001 --home /nonexistent --shell /usr/sbin/nologin gateway
COPY --from=build /build/server/formance-grpc-gateway /build/client/formance-grpc-cli /usr/local/bin/
COPY config/gateway.example.yaml /etc/formance-grpc-gateway/gateway.example.yaml
USER 10001:10001
EXPOSE 50051 9090 9091
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["/usr/local/bin/formance-grpc-cli", "--addr=127.0.0.1:9091", "health"]
ENTRYPOINT ["/usr/local/bin/formance-grpc-gateway"]
CMD ["--listen=0.0.0.0:50051", "--admin_listen=0.0.0.0:9090", "--admin_grpc_listen=0.0.0.0:9091"]
