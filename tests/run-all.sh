#!/usr/bin/env bash
# Runs every test of usagebook: the Rust workspace (unit, vectors, file
# behaviour, corruption, kill -9 crash tests, CLI), the comparison with
# ccusage (npm), the header freshness check, and the C/C++ programs over
# the C ABI under sanitizers and valgrind.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo test --workspace"
cargo test --workspace --all-targets --exclude xtask
# Benchmarks are compiled above (--all-targets) but not timed here: speed is
# measured by `cargo bench` (docs/BENCHMARKS.md), never asserted in tests.

echo "== a short fuzz run of every parser (cargo fuzz, ASan, overflow checks; docs/fuzzing.md)"
FUZZ_SECONDS=${FUZZ_SECONDS:-8} bash fuzz/run.sh

echo "== Claude Code import and day/month reports against the real ccusage (E6)"
bash tests/ccusage/run.sh

echo "== include/usagebook.h is fresh"
cargo xtask check-header

echo "== C and C++ over the C ABI"
bash tests/c/run.sh

echo "== README C quick start: run twice, totals survive the restart"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gcc -Wall -Werror -o "$work/quickstart" tests/c/quickstart.c -I include -L target/debug -lusagebook
LD_LIBRARY_PATH=target/debug "$work/quickstart" "$work/data" | tee "$work/first"
LD_LIBRARY_PATH=target/debug "$work/quickstart" "$work/data" | tee "$work/second"
grep -q "requests 2, tokens 440, errors 1" "$work/first"
grep -q "requests 4, tokens 880, errors 2" "$work/second"
echo "1 passed, 0 failed"

echo "== Python binding: wheels in a fresh virtualenv, stubtest, mypy, pytest"
bash bindings-python/run-tests.sh

echo "== Node binding: npm ci, napi build, node --test (vectors, behaviour, files, workers, tsc, npm pack)"
bash bindings-node/run-tests.sh
