#!/usr/bin/env bash
# Tests of the Python binding against the *installed* release wheels, as a
# user gets them: `maturin sdist`, then the release wheels built from that
# sdist (so the sdist is proven to build from source) with maturin's zig
# support for manylinux2014 (glibc 2.17), `auditwheel show` confirms the
# tag, the extension module's glibc symbols, size and debug info are
# checked, then each wheel is `pip install`ed into a fresh virtualenv and
# (from a directory where `import usagebook` can only come from
# site-packages) mypy.stubtest of the stubs, mypy --strict on a typed
# example, a smoke run of the bench, and pytest. Both wheels are tested: the
# CPython 3.9 one (`--features abi3-py39`) first, the default (>= 3.10) one
# last, so pytest's closing line is the main run's.
#
#   bash bindings-python/run-tests.sh        (needs python3 >= 3.10 with venv)
# The wheels are left in ${CARGO_TARGET_DIR:-target}/dist/python.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
python="${PYTHON:-python3}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "== fresh virtualenv ($("$python" --version))"
"$python" -m venv "$work/venv"
venv_py="$work/venv/bin/python"
# Pinned: stubtest's checks and mypy's grow with releases; bump on purpose.
"$venv_py" -m pip install --quiet --disable-pip-version-check pytest==9.2.0 mypy==2.4.1
# The real things the tests compare with (U2, U4): the provider SDKs'
# usage objects, and LiteLLM's shipped price file and cost_per_token as the
# pricing oracle. Pinned: the bundled price snapshot is this litellm's
# (core/prices/SOURCE); bump them together.
"$venv_py" -m pip install --quiet --disable-pip-version-check litellm==1.110.2 openai==3.60.0 anthropic==2.16.0
# usagebook.otel records through the host's OpenTelemetry SDK (O2): the tests
# are that host, with the SDK's in-memory metric reader. Pinned together.
"$venv_py" -m pip install --quiet --disable-pip-version-check opentelemetry-api==1.45.2 opentelemetry-sdk==1.45.2

echo "== release build tools (ziglang, maturin, auditwheel from PyPI)"
tools="$(bash "$repo/scripts/tools-venv.sh")"
export PATH="$tools:$PATH"
# One target directory for both wheels (maturin would otherwise build inside
# the unpacked sdist), so the second build reuses the first one's crates;
# its own one, since maturin's zig linker is not cargo-zigbuild's and Cargo
# rebuilds every crate when the linker changes (the npm and C builds).
target="${CARGO_TARGET_DIR:-$repo/target}"
export CARGO_TARGET_DIR="$target/wheels-build"

echo "== maturin sdist"
rm -rf "$target/dist/python"
mkdir -p "$target/dist/python"
(cd "$here" && maturin sdist -o "$target/dist/python")
sdist="$(ls "$target"/dist/python/usagebook-*.tar.gz)"
tar tzf "$sdist" >"$work/sdist.txt"
grep -q '/core/src/lib.rs$' "$work/sdist.txt" || { echo "FAIL: the sdist lacks the core's sources"; exit 1; }

echo "== the release wheels, built from the sdist: maturin build --zig --compatibility manylinux2014 (profile dist; abi3 >= 3.10, and the CPython 3.9 one)"
# Unpacked at a fixed path: Cargo keys a path crate's artifacts by its path.
src="$CARGO_TARGET_DIR/sdist"
rm -rf "$src"
mkdir -p "$src"
# --touch: the sdist's files carry fixed times, and Cargo decides by mtime
# whether a path crate changed; with a reused target directory it would
# otherwise build the previous sdist's sources.
tar xzf "$sdist" -C "$src" --touch
src="$(ls -d "$src"/usagebook-*)"
zig=(--zig --compatibility manylinux2014 --target x86_64-unknown-linux-gnu)
(cd "$src" && maturin build --quiet "${zig[@]}" -o "$work/wheels39" --features abi3-py39)
(cd "$src" && maturin build --quiet "${zig[@]}" -o "$work/wheels")
cp "$work"/wheels39/*.whl "$work"/wheels/*.whl "$target/dist/python/"
ls -l "$target/dist/python"

echo "== wheels: auditwheel show, glibc symbol versions, sizes"
for whl in "$work"/wheels39/*.whl "$work"/wheels/*.whl; do
  name="$(basename "$whl")"
  case "$name" in
    *-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl | *-abi3-manylinux2014_x86_64.manylinux_2_17_x86_64.whl) ;;
    *) echo "FAIL: $name is not an abi3 manylinux2014 wheel"; exit 1 ;;
  esac
  auditwheel show "$whl" | tee "$work/audit.txt"
  grep -q '"manylinux_2_17_x86_64"' "$work/audit.txt" || { echo "FAIL: auditwheel does not place $name at manylinux_2_17_x86_64"; exit 1; }
  # A wheel is a zip: the module inside it, unpacked.
  rm -rf "$work/unzipped"
  "$venv_py" -m zipfile -e "$whl" "$work/unzipped"
  bash "$repo/scripts/check-binary.sh" --glibc 2.17 --max-bytes 5000000 "$work/unzipped/usagebook/_native.abi3.so"
  size=$(stat -c %s "$whl")
  [ "$size" -lt 3000000 ] || { echo "FAIL: $name is $size bytes, not under 3000000"; exit 1; }
  echo "ok   $name: $size bytes"
done

# Everything below runs from an empty directory: no source tree on sys.path.
mkdir "$work/run"
cd "$work/run"
export USAGEBOOK_REPO="$repo"
# The cross-binding git sync test needs the Node addon, the C library and
# the CLI built beside the wheel: tests/gitsync/run.sh (run by the README's
# test command) builds them and runs it, so it is left out here rather than
# shown as skipped.
pytest_args=(-p no:cacheprovider -q "$here/tests" --ignore="$here/tests/test_gitsync_cross.py")

install() {
  "$venv_py" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps "$1"
  "$venv_py" -c 'import usagebook, sys; f = usagebook.__file__; print("usagebook", usagebook.__version__, "from", f); sys.exit("site-packages" not in f)'
}

echo "== pytest against the CPython 3.9 wheel"
install "$(ls "$work"/wheels39/*.whl)"
"$venv_py" -m pytest "${pytest_args[@]}"

echo "== the default wheel"
install "$(ls "$work"/wheels/*.whl)"

echo "== mypy.stubtest usagebook"
"$venv_py" -m mypy.stubtest usagebook   # the package and usagebook._native

echo "== mypy --strict: a typed example against the wheel (then run it), the facade, the bench"
cp "$here/examples/typed_example.py" .
mypy=("$venv_py" -m mypy --strict --no-incremental --cache-dir=/dev/null)
"${mypy[@]}" typed_example.py
"$venv_py" typed_example.py
"${mypy[@]}" "$here/python/usagebook" "$here/bench/bench.py"

echo "== bench smoke run (python bench/bench.py for the real figures)"
"$venv_py" "$here/bench/bench.py" --quick --rounds 1

echo "== pytest against the default wheel"
"$venv_py" -m pytest "${pytest_args[@]}"
