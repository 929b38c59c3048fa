# formance-grpc-gateway: multi-stage build on Debian 12. The runtime image holds the daemon, the
# CLI and their shared libraries; it runs as an unprivileged user and listens on 0.0.0.0:50051
# inside the container (the pod or compose network is the boundary).
#   docker build -t formance-grpc-gateway .
#   docker run -e FORMANCE_URL=https://org.env.formance.cloud -e FORMANCE_CLIENT_ID=... \
#     -e FORMANCE_CLIENT_SECRET_FILE=/secrets/client_secret -v ./secrets:/secrets:ro \
#     -p 127.0.0.1:50051:50051 formance-grpc-gateway
FROM debian:12 AS build
WORKDIR /src
COPY deploy/install_deps.sh deploy/install_deps.sh
RUN bash deploy/install_deps.sh
COPY . .
RUN FGW_BUILD_TESTS=OFF FGW_BUILD_TYPE=Release FGW_BUILD_DIR=/build \
      FGW_TARGETS="formance-grpc-gateway formance-grpc-cli" bash deploy/build.sh

FROM debian:12-slim
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      ca-certificates libgrpc++1.51 libprotobuf32 libcpprest2.10 libyaml-cpp0.7 libspdlog1.10 \
      libfmt9 libabsl20220623 libssl3 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home /nonexistent gateway
COPY --from=build /build/server/formance-grpc-gateway /build/client/formance-grpc-cli /usr/local/bin/
COPY config/gateway.example.yaml /etc/formance-grpc-gateway/gateway.example.yaml
USER 10001
ENV FGW_LISTEN=0.0.0.0:50051
EXPOSE 50051
ENTRYPOINT ["/usr/local/bin/formance-grpc-gateway"]
