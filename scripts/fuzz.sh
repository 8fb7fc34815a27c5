#!/usr/bin/env bash
# Runs every fuzz target (decode, inline, config, commands; see fuzz/src/lib.rs) for a bounded time and prints
# executions and crashes per target.
#
# With cargo-fuzz installed (`cargo install cargo-fuzz`) the targets run under libFuzzer with AddressSanitizer,
# starting from the seed corpora in fuzz/corpus/ and growing a working corpus in fuzz/work/ (not committed);
# a crash leaves its input in fuzz/artifacts/<target>/. cargo-fuzz needs nightly flags, which a stable toolchain
# accepts with RUSTC_BOOTSTRAP=1 (set here). Without cargo-fuzz, the deterministic harness (tests/fuzz.rs) runs
# each target for the same time instead (STRATA_FUZZ_SECONDS).
#
# Usage: scripts/fuzz.sh [seconds-per-target]        (default 60)
#   FUZZ_MODE=libfuzzer|harness   force a mode
#   CARGO_WRAPPER="flock /tmp/cargo.lock"   a prefix for every cargo command (machines whose builds must queue)
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${1:-60}
targets=(decode inline config commands)
cargo_() { ${CARGO_WRAPPER:-} cargo "$@"; }

mode=${FUZZ_MODE:-}
if [ -z "$mode" ]; then
    if cargo fuzz --version >/dev/null 2>&1; then mode=libfuzzer; else mode=harness; fi
fi

total_execs=0
total_crashes=0
report() { # target, execs, crashes
    printf '%-10s %12s execs %4s crashes\n' "$1" "$2" "$3"
    total_execs=$((total_execs + $2))
    total_crashes=$((total_crashes + $3))
}

if [ "$mode" = libfuzzer ]; then
    export RUSTC_BOOTSTRAP=1
    export LSAN_OPTIONS=suppressions=$PWD/fuzz/lsan.supp
    echo "==== building the libFuzzer targets"
    cargo_ fuzz build
    target_dir=${CARGO_TARGET_DIR:-fuzz/target}
    for t in "${targets[@]}"; do
        bin=$(ls "$target_dir"/*/release/"$t" 2>/dev/null | head -1)
        [ -x "$bin" ] || { echo "no binary for $t under $target_dir" >&2; exit 1; }
        mkdir -p "fuzz/work/$t" "fuzz/artifacts/$t"
        before=$(ls "fuzz/artifacts/$t" | wc -l)
        extra=()
        [ "$t" = commands ] && extra+=(-dict=fuzz/commands.dict)
        log=$(mktemp)
        echo "==== $t: ${secs}s"
        # A timeout is a hang (an input taking over 10 s); rss_limit_mb catches runaway allocations.
        set +e
        "$bin" "fuzz/work/$t" "fuzz/corpus/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=4096 \
            -print_final_stats=1 -artifact_prefix="fuzz/artifacts/$t/" "${extra[@]}" >"$log" 2>&1
        rc=$?
        set -e
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
        crashes=$(( $(ls "fuzz/artifacts/$t" | wc -l) - before ))
        if [ "$rc" -ne 0 ]; then
            grep -E '^(==[0-9]+==|SUMMARY|thread .* panicked|artifact_prefix|Test unit written)' "$log" | head -20 || true
            [ "$crashes" -gt 0 ] || crashes=1
        fi
        rm -f "$log"
        report "$t" "${execs:-0}" "$crashes"
    done
else
    echo "==== cargo-fuzz not available: deterministic harness, ${secs}s per target"
    log=$(mktemp)
    set +e
    STRATA_FUZZ_SECONDS="$secs" cargo_ test --locked --test fuzz -- --test-threads=1 --nocapture fuzz_ 2>&1 | tee "$log"
    set -e
    for t in "${targets[@]}"; do
        # The harness's summary line can share a line with libtest's "test fuzz_x ... " prefix.
        line=$(grep -oE "fuzz $t: .*" "$log" | tail -1 || true)
        # "fuzz decode: 321 seeds + 123456 inputs in ..." / "fuzz commands: 1234 commands (...)"
        execs=$(echo "$line" | sed -E 's/^fuzz [a-z]+: ([0-9]+) seeds \+ ([0-9]+) inputs.*/\1+\2/; s/^fuzz [a-z]+: ([0-9]+) commands.*/\1/')
        execs=$((${execs:-0}))
        # The summary is printed only when the target got through its whole budget without a failure.
        crashes=0
        [ -n "$line" ] || crashes=1
        report "$t" "$execs" "$crashes"
    done
    rm -f "$log"
fi

echo "total: $total_execs execs, $total_crashes crashes ($mode)"
[ "$total_crashes" -eq 0 ]
