# komvux-gateway: multi-stage build. Certificates, keys and configuration are mounted
# at run time (see docker-compose.yml); nothing secret is baked into the image.
FROM rust:1.95-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libpq-dev libssl-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p komvux-gateway \
    && cp target/release/komvux-gateway /usr/local/bin/komvux-gateway

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 libssl3 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home /var/lib/komvux komvux
COPY --from=build /usr/local/bin/komvux-gateway /usr/local/bin/komvux-gateway
USER komvux
EXPOSE 8443 8444 9090
ENTRYPOINT ["komvux-gateway"]
CMD ["serve"]
