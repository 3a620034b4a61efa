#!/usr/bin/env bash
# A short fuzz run of every target in fuzz/ (docs/fuzzing.md): installs the
# pinned cargo-fuzz if it is missing, makes the seed corpora from the
# repository's fixtures, builds every target (ASan, overflow checks and
# debug assertions on) and runs each for FUZZ_SECONDS (default 12). Exits
# non-zero if any target crashed, and ends with "N passed, M failed".
#
#   bash fuzz/run.sh                       # all targets, 12 s each
#   FUZZ_SECONDS=300 bash fuzz/run.sh prices usage   # longer, two targets
#
# Only the stable toolchain is on our machines; cargo-fuzz passes nightly
# flags (-Zsanitizer=address, ...), which RUSTC_BOOTSTRAP=1 lets a stable
# rustc accept. Set FUZZ_SANITIZER=none for a build without ASan.
set -uo pipefail
cd "$(dirname "$0")"

CARGO_FUZZ_VERSION=0.13.2
SECONDS_EACH=${FUZZ_SECONDS:-12}
SANITIZER=${FUZZ_SANITIZER:-address}
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
# Never the host's own fast linker or flags meant for the main build.
unset RUSTFLAGS CARGO_BUILD_RUSTFLAGS

t0=$(date +%s)
if ! cargo fuzz --version 2>/dev/null | grep -qx "cargo-fuzz $CARGO_FUZZ_VERSION"; then
    echo "== installing cargo-fuzz $CARGO_FUZZ_VERSION"
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked || exit 1
fi
t1=$(date +%s)

echo "== seed corpora from the repository's fixtures"
python3 seeds.py || exit 1

echo "== cargo fuzz build (sanitizer: $SANITIZER)"
build=(-O --debug-assertions --sanitizer "$SANITIZER")
cargo fuzz build "${build[@]}" || exit 1
t2=$(date +%s)

if [ $# -gt 0 ]; then targets=("$@"); else mapfile -t targets < <(cargo fuzz list); fi
passed=0
failed=()
for t in "${targets[@]}"; do
    echo "== fuzz $t for ${SECONDS_EACH}s"
    mkdir -p "corpus/$t" "seeds/$t"
    log=$(mktemp)
    # corpus/<t> collects what this machine's runs found (not committed);
    # seeds/<t> is read only. -timeout: one input running 10 s is a hang.
    if cargo fuzz run "${build[@]}" "$t" "corpus/$t" "seeds/$t" -- \
        -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=4096 \
        -print_final_stats=1 >"$log" 2>&1; then
        grep -E "^stat::number_of_executed_units|^Done " "$log" | tr '\n' ' '
        echo
        passed=$((passed + 1))
    else
        tail -n 60 "$log"
        echo "!! $t FAILED: input saved under fuzz/artifacts/$t/ (see above);"
        echo "!! reproduce with: RUSTC_BOOTSTRAP=1 cargo fuzz run -O -a $t fuzz/artifacts/$t/<file>"
        failed+=("$t")
    fi
    rm -f "$log"
done
t3=$(date +%s)
echo "== times: install $((t1 - t0))s, seeds+build $((t2 - t1))s, runs $((t3 - t2))s"
[ ${#failed[@]} -eq 0 ] || echo "failed: ${failed[*]}"
echo "${passed} passed, ${#failed[@]} failed"
[ ${#failed[@]} -eq 0 ]
