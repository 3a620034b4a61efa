#!/usr/bin/env bash
# The release build tools, from PyPI, in one virtualenv that the test
# scripts share: zig (the `ziglang` wheel) as the C compiler and linker that
# targets glibc 2.17, cargo-zigbuild (the npm addon and the C library),
# maturin (the wheels, with its own zig support) and auditwheel (checks the
# wheels' platform tag). Pinned: a different zig may link differently; bump
# on purpose and rerun tests/packaging checks.
#
# Prints the virtualenv's bin directory; put it first on PATH so that
# `cargo zigbuild`, `maturin --zig` and `python3 -m ziglang` are these.
#   bin=$(bash scripts/tools-venv.sh)
# Kept under the Cargo target directory (a build cache) and rebuilt when the
# pins change.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-python3}"
pins=(ziglang==0.15.2 cargo-zigbuild==0.24.1 maturin==1.16.0 auditwheel==6.8.2)
venv="${CARGO_TARGET_DIR:-$root/target}/tools-venv"
stamp="$venv/.pins"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "${pins[*]}" ]; then
  rm -rf "$venv"
  "$python" -m venv "$venv" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${pins[@]}" >&2
  echo "${pins[*]}" >"$stamp"
fi
echo "$venv/bin"
