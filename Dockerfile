# Multi-stage build: compile in the Rust image, run on a slim Debian with only the binary and redis-cli for the
# health check.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked && strip target/release/strata-server

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends redis-tools && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /data strata && mkdir -p /data && chown strata /data
COPY --from=build /src/target/release/strata-server /usr/local/bin/strata-server
COPY conf/strata.conf /etc/strata/strata.conf
COPY scripts/docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
USER strata
WORKDIR /data
EXPOSE 6379
# Served from inside the container even in protected mode; NOAUTH also proves the server answers.
HEALTHCHECK --interval=10s --timeout=3s CMD redis-cli -p 6379 ping | grep -qE 'PONG|NOAUTH' || exit 1
# Set STRATA_PASSWORD (or mount a config): without a password only clients inside the container are served.
ENTRYPOINT ["docker-entrypoint.sh"]
