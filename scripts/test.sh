#!/usr/bin/env bash
# The whole test suite: lint, unit and integration tests, differential tests against redis-server 7.0,
# and the real-client tests (redis-cli, redis-py). Installs what it needs when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==== %s\n' "$*"; }
# Servers the tests start here load a snapshot left in the working directory (as redis-server loads dump.rdb), so
# one left by `cargo run --release` would leak into every test.
if [ -e dump.strata ]; then
    echo "dump.strata is in $(pwd): test servers started here would load it. Move it away and run again." >&2
    exit 1
fi

step "dependencies"
source scripts/ensure-redis.sh
redis-server --version
if ! python3 -c 'import redis' 2>/dev/null; then
    python3 -m pip install -q redis || python3 -m pip install -q --break-system-packages redis
fi
python3 -c 'import redis; print("redis-py", redis.__version__)'
# moto's S3 server is the object storage the backup tests upload to.
if ! python3 -c 'import moto.server, flask' 2>/dev/null; then
    python3 -m pip install -q 'moto[server]' || python3 -m pip install -q --break-system-packages 'moto[server]'
fi
python3 -c 'import moto; print("moto", moto.__version__)'
# scipy recomputes EXP.RESULTS from the raw data in the experiment statistics test.
if ! python3 -c 'import scipy, numpy' 2>/dev/null; then
    python3 -m pip install -q scipy numpy || python3 -m pip install -q --break-system-packages scipy numpy
fi
# The Prometheus client library's text parser reads /metrics in the dashboard test.
if ! python3 -c 'import prometheus_client' 2>/dev/null; then
    python3 -m pip install -q prometheus-client || python3 -m pip install -q --break-system-packages prometheus-client
fi
# openssl makes the TLS tests' certificates; iproute2 gives the protected-mode test a second network namespace;
# redis_exporter (Debian's prometheus-redis-exporter) must read Strata's INFO as it reads Redis's.
missing=()
command -v openssl >/dev/null || missing+=(openssl)
command -v ip >/dev/null || missing+=(iproute2)
command -v prometheus-redis-exporter >/dev/null || missing+=(prometheus-redis-exporter)
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
fi

step "format and lint"
cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
# No import cycle among src/ modules: the engine sits below commands/ and server/, the store below the engine.
python3 scripts/module-cycles.py

step "build (release)"
cargo build --release --locked

step "unit and integration tests"
cargo test --locked --all-targets

step "differential tests against redis-server"
python3 tests/differential/run.py --strata target/release/strata-server
# The string families again with every value of 16 bytes or more stored compressed, on the single-threaded
# runtime (worker-threads 1): replies must not change.
python3 tests/differential/run.py --strata target/release/strata-server -k strings -k bitmaps \
    --strata-args "--compression-cold-seconds 0 --compression-min-size 16 --worker-threads 1"
# Once more with the zstd codec forced (trained dictionary, or none while too few values were sampled).
python3 tests/differential/run.py --strata target/release/strata-server -k strings -k bitmaps \
    --strata-args "--compression-cold-seconds 0 --compression-min-size 16 --compression-algorithm zstd --worker-threads 1"
# Keyspace notifications: the messages a subscriber receives under several notify-keyspace-events settings.
python3 tests/differential/notify.py --strata target/release/strata-server

step "real clients: redis-cli, redis-benchmark, redis-py"
bash tests/clients/redis_cli.sh target/release/strata-server
python3 tests/clients/test_redis_py.py target/release/strata-server
python3 tests/clients/test_dump_restore.py target/release/strata-server
python3 tests/clients/test_command_docs.py target/release/strata-server

step "observability: redis_exporter, the Grafana dashboard's metrics"
python3 tests/clients/test_exporter.py target/release/strata-server
python3 tests/clients/test_dashboard.py target/release/strata-server

step "experiments: EXP.RESULTS against scipy, assignment balance"
python3 tests/clients/test_experiment_stats.py target/release/strata-server

step "hardening: signals, protected mode from another host, large pipelines; TLS"
python3 tests/clients/test_hardening.py target/release/strata-server
python3 tests/clients/test_tls.py target/release/strata-server

step "fuzzers: concurrent random transactions, random and damaged frames over many connections"
python3 tests/clients/txn_fuzz.py target/release/strata-server
python3 scripts/netfuzz.py --strata target/release/strata-server --frames 20000 --seconds 30

step "all suites passed"
