#!/usr/bin/env bash
# Runs every test of usagebook: the Rust workspace (unit, vectors, file
# behaviour, corruption, kill -9 crash tests, CLI), the comparison with
# ccusage (npm), the header freshness check, one version in every package,
# the C/C++ programs over the C ABI under sanitizers and valgrind, and the
# release packages (issue 15, docs/packaging.md): the manylinux2014 wheels
# built from the sdist, the npm tarballs and the installed C prefix, each
# checked for glibc symbol versions, size and exports, then tested as
# installed.
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

echo "== the OTLP/HTTP exporter (cargo feature otlp, O2): a real receiver, two processes, the C ABI"
cargo test -p usagebook-core --features otlp --test otlp
cargo test -p usagebook-ffi --features otlp --test otlp

echo "== the wheel and the npm addon never build the OTLP exporter (O2)"
cargo xtask check-features

echo "== include/usagebook.h is fresh"
cargo xtask check-header

echo "== one version in every package (B5)"
cargo xtask check-version

echo "== C and C++ over the C ABI"
bash tests/c/run.sh

echo "== README C quick start: run twice, totals survive the restart"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
debug="${CARGO_TARGET_DIR:-target}/debug"
gcc -Wall -Werror -o "$work/quickstart" tests/c/quickstart.c -I include -L "$debug" -lusagebook
LD_LIBRARY_PATH="$debug" "$work/quickstart" "$work/data" | tee "$work/first"
LD_LIBRARY_PATH="$debug" "$work/quickstart" "$work/data" | tee "$work/second"
grep -q "requests 2, tokens 440, errors 1" "$work/first"
grep -q "requests 4, tokens 880, errors 2" "$work/second"
echo "1 passed, 0 failed"

echo "== Python binding: sdist, manylinux2014 wheels (auditwheel, glibc, sizes), then in a fresh virtualenv: stubtest, mypy, pytest"
bash bindings-python/run-tests.sh

echo "== Node binding: npm ci, napi build for glibc 2.17, node --test (vectors, behaviour, files, workers, tsc, the packed tarballs: size, glibc, missing platform package)"
bash bindings-node/run-tests.sh

echo "== git sync across bindings: one remote written by Python, Node, C and Rust devices, the same merged view from each (issue 13)"
bash tests/gitsync/run.sh

echo "== C package: cargo xtask install for glibc 2.17, symbols and sizes, the quick start via pkg-config"
bash tests/c/install.sh
