#!/usr/bin/env bash
# Tests of the Python binding against the *installed* wheel, as a user gets
# it: a fresh virtualenv, `maturin build --release`, `pip install` of the
# built wheel, then (from a directory where `import usagebook` can only come
# from site-packages) mypy.stubtest of the stubs, mypy --strict on a typed
# example, a smoke run of the bench, and pytest. Both wheels are tested: the
# CPython 3.9 one (`--features abi3-py39`) first, the default (>= 3.10) one
# last, so pytest's closing line is the main run's.
#
#   bash bindings-python/run-tests.sh        (needs python3 >= 3.10 with venv)
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
"$venv_py" -m pip install --quiet --disable-pip-version-check maturin==1.16.0 pytest==9.2.0 mypy==2.4.1
# The real things the tests compare with (U2, U4): the provider SDKs'
# usage objects, and LiteLLM's shipped price file and cost_per_token as the
# pricing oracle. Pinned: the bundled price snapshot is this litellm's
# (core/prices/SOURCE); bump them together.
"$venv_py" -m pip install --quiet --disable-pip-version-check litellm==1.110.2 openai==3.60.0 anthropic==2.16.0
# usagebook.otel records through the host's OpenTelemetry SDK (O2): the tests
# are that host, with the SDK's in-memory metric reader. Pinned together.
"$venv_py" -m pip install --quiet --disable-pip-version-check opentelemetry-api==1.45.2 opentelemetry-sdk==1.45.2

echo "== maturin build --release (abi3, CPython >= 3.10; and the CPython 3.9 wheel)"
(cd "$here" && "$work/venv/bin/maturin" build --release --quiet -o "$work/wheels39" --features abi3-py39)
(cd "$here" && "$work/venv/bin/maturin" build --release --quiet -o "$work/wheels")
ls "$work/wheels" "$work/wheels39"

# Everything below runs from an empty directory: no source tree on sys.path.
mkdir "$work/run"
cd "$work/run"
export USAGEBOOK_REPO="$repo"
pytest_args=(-p no:cacheprovider -q "$here/tests")

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
