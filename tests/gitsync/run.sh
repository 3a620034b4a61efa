#!/usr/bin/env bash
# The cross-binding git sync test (issue 13, item 7): one remote written by
# a Python, a Node, a C and a Rust device, and the same merged view read
# from each (bindings-python/tests/test_gitsync_cross.py). Builds what it
# needs (debug profile: this checks behaviour, not packaging): the CLI and
# the C library, the npm addon, and the Python module in a virtualenv under
# the target directory; then runs the test with USAGEBOOK_CROSS_REQUIRED=1,
# so a missing piece fails instead of skipping. Needs git, gcc, node >= 18,
# npm and python3 with venv.
#
#   bash tests/gitsync/run.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
target="${CARGO_TARGET_DIR:-$root/target}"
export CARGO_TARGET_DIR="$target"

echo "== cargo build -p usagebook-cli -p usagebook-ffi"
cargo build -p usagebook-cli -p usagebook-ffi

echo "== the npm addon (debug)"
(cd bindings-node && { [ -d node_modules ] || npm ci --no-audit --no-fund; } && npm run build:debug)

echo "== the Python module (maturin develop, debug) in $target/gitsync-venv"
venv="$target/gitsync-venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check maturin==1.16.0 pytest==9.2.0
(cd bindings-python && VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" maturin develop --quiet --profile dev)

echo "== pytest test_gitsync.py test_gitsync_cross.py"
cd "$(mktemp -d)"
USAGEBOOK_REPO="$root" USAGEBOOK_CROSS_REQUIRED=1 USAGEBOOK_NODE_PACKAGE="$root/bindings-node" \
  USAGEBOOK_CLI="$target/debug/usagebook" USAGEBOOK_C_LIB_DIR="$target/debug" \
  "$venv/bin/python" -m pytest -p no:cacheprovider -q \
  "$root/bindings-python/tests/test_gitsync.py" "$root/bindings-python/tests/test_gitsync_cross.py"
