#!/usr/bin/env bash
# Builds the C ABI (cargo build -p usagebook-ffi), compiles the C and C++
# test programs with only `-I include -L target/<profile> -lusagebook`, and
# runs them (B1, B4):
#   - built with -fsanitize=address,undefined (ASan + LeakSanitizer + UBSan);
#   - built plain and run under valgrind memcheck (leaks: definite and
#     possible are errors; tests/c/valgrind.supp documents the one
#     suppression, a Rust std allocation);
#   - the vector runner also linked against the static library.
# Also checks that every symbol the library exports is called from C (by
# test_api.c or test_ledger.c) and from C++ (test_api.cpp), and compiles and
# runs the README's ledger example (ledger_example.c; its text must match
# the README's). Ends with "<N> passed, <M> failed"; exits non-zero on any failure.
#
# Usage: bash tests/c/run.sh            (PROFILE=release for target/release)
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
profile=${PROFILE:-debug}
cargo_flags=()
[ "$profile" = release ] && cargo_flags=(--release)

echo "== cargo build -p usagebook-ffi ${cargo_flags[*]}"
cargo build -p usagebook-ffi "${cargo_flags[@]}" || { echo "0 passed, 1 failed"; exit 1; }
libdir="${CARGO_TARGET_DIR:-$root/target}/$profile"
export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

work=$(mktemp -d "${TMPDIR:-/tmp}/usagebook-c-tests.XXXXXX")
trap 'rm -rf "$work"' EXIT

passed=0
failed=0
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }

CFLAGS=(-std=c11 -Wall -Wextra -Werror -g -I include)
CXXFLAGS=(-std=c++17 -Wall -Wextra -Werror -g -I include)
LINK=(-L "$libdir" -lusagebook)
SAN=(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)

# Sanitizers and valgrind are used when this machine has them.
have_san=0
if echo 'int main(void){return 0;}' | gcc -x c - "${SAN[@]}" -o "$work/probe" 2>/dev/null; then
  have_san=1
else
  echo "note: gcc cannot build with ASan/UBSan here; skipping sanitizer builds"
fi
have_valgrind=0
if command -v valgrind >/dev/null; then have_valgrind=1; else echo "note: valgrind not found; skipping"; fi

build() { # name compiler flags... -- sources...
  local name=$1 cc=$2
  shift 2
  if ! "$cc" "$@" -o "$work/$name" -pthread -lm; then
    fail "compiling $name"
    return 1
  fi
}

build test_api gcc "${CFLAGS[@]}" tests/c/test_api.c "${LINK[@]}"
build test_api_cpp g++ "${CXXFLAGS[@]}" tests/c/test_api.cpp "${LINK[@]}"
build test_ledger gcc "${CFLAGS[@]}" tests/c/test_ledger.c "${LINK[@]}"
build ledger_example gcc "${CFLAGS[@]}" tests/c/ledger_example.c "${LINK[@]}"
build vectors gcc "${CFLAGS[@]}" tests/c/vectors.c "${LINK[@]}"
build vectors_static gcc "${CFLAGS[@]}" tests/c/vectors.c -L "$libdir" \
  -Wl,-Bstatic -lusagebook -Wl,-Bdynamic -ldl
if [ $have_san = 1 ]; then
  build test_api_san gcc "${CFLAGS[@]}" "${SAN[@]}" tests/c/test_api.c "${LINK[@]}"
  build test_api_cpp_san g++ "${CXXFLAGS[@]}" "${SAN[@]}" tests/c/test_api.cpp "${LINK[@]}"
  build test_ledger_san gcc "${CFLAGS[@]}" "${SAN[@]}" tests/c/test_ledger.c "${LINK[@]}"
  build vectors_san gcc "${CFLAGS[@]}" "${SAN[@]}" tests/c/vectors.c "${LINK[@]}"
fi

# Every exported symbol is exercised from C and from C++.
exports=$(nm -D --defined-only "$libdir/libusagebook.so" | awk '{print $3}' | grep '^usagebook_' | sort)
if [ -z "$exports" ]; then
  fail "no usagebook_ symbols exported by $libdir/libusagebook.so"
fi
for sym in $exports; do
  for srcs in "tests/c/test_api.c tests/c/test_ledger.c" "tests/c/test_api.cpp"; do
    # shellcheck disable=SC2086 # $srcs is a list of files
    if grep -q "\b$sym(" $srcs; then
      passed=$((passed + 1))
    else
      fail "none of $srcs calls $sym"
    fi
  done
done
echo "exports: $(echo "$exports" | wc -l) symbols, each called from C and C++"

# The README's ledger example is tests/c/ledger_example.c, verbatim.
readme_example=$(awk '/^<!-- ledger_example.c -->$/{on=1; next} on && /^```c$/{inside=1; next} inside && /^```$/{exit} inside' README.md)
if [ "$readme_example" = "$(cat tests/c/ledger_example.c)" ]; then
  passed=$((passed + 1))
else
  fail "README.md's ledger example differs from tests/c/ledger_example.c"
fi

shopt -s nullglob
vectors=(tests/vectors/*.json)
shopt -u nullglob
[ ${#vectors[@]} -eq 0 ] && echo "note: no tests/vectors/*.json yet"

# Runs one program; adds its "N passed, M failed" and fails on a non-zero exit.
run() { # label command...
  local label=$1
  shift
  local log="$work/$label.log" rc
  "$@" >"$log" 2>&1
  rc=$?
  local summary
  summary=$(grep -E '^[^:]*: [0-9]+ passed, [0-9]+ failed$' "$log" | tail -1)
  if [ -n "$summary" ]; then
    local p f
    p=$(echo "$summary" | sed -E 's/.*: ([0-9]+) passed.*/\1/')
    f=$(echo "$summary" | sed -E 's/.* ([0-9]+) failed$/\1/')
    passed=$((passed + p))
    failed=$((failed + f))
  fi
  if [ $rc -ne 0 ] || [ -z "$summary" ]; then
    cat "$log"
    fail "$label exited with $rc"
  else
    grep -v '^[^:]*: [0-9]* passed, [0-9]* failed$' "$log" || true
    echo "ok   $label: $summary"
  fi
}

scratch() { local d="$work/scratch-$1"; mkdir -p "$d"; echo "$d"; }

VG=(valgrind -q --num-callers=60 --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,possible
  --suppressions=tests/c/valgrind.supp)
export ASAN_OPTIONS=detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

[ -x "$work/test_api" ] && run c "$work/test_api" "$(scratch c)"
[ -x "$work/test_api_cpp" ] && run cpp "$work/test_api_cpp" "$(scratch cpp)"
[ -x "$work/test_ledger" ] && run ledger "$work/test_ledger" "$(scratch ledger)"
if [ -x "$work/ledger_example" ]; then
  # Run twice: the second run sees the first run's spend after reopening.
  d=$(scratch example)
  if "$work/ledger_example" "$d/ledger.db" >"$work/example1.log" 2>&1 &&
    "$work/ledger_example" "$d/ledger.db" >"$work/example2.log" 2>&1 &&
    grep -q "spent today: \$0.040000, reserved: \$0.000000" "$work/example1.log" &&
    grep -q "spent today: \$0.080000, reserved: \$0.000000" "$work/example2.log" &&
    grep -q "refused: budget exceeded" "$work/example1.log"; then
    passed=$((passed + 1))
    echo "ok   ledger-example: run twice, spend survives the restart"
  else
    cat "$work/example1.log" "$work/example2.log" 2>/dev/null
    fail "ledger_example"
  fi
fi
[ -x "$work/vectors" ] && run vectors "$work/vectors" "${vectors[@]}"
[ -x "$work/vectors_static" ] && run vectors-static-lib "$work/vectors_static" "${vectors[@]}"
if [ $have_san = 1 ]; then
  [ -x "$work/test_api_san" ] && run c-asan-ubsan "$work/test_api_san" "$(scratch c-san)"
  [ -x "$work/test_api_cpp_san" ] && run cpp-asan-ubsan "$work/test_api_cpp_san" "$(scratch cpp-san)"
  [ -x "$work/test_ledger_san" ] && run ledger-asan-ubsan "$work/test_ledger_san" "$(scratch ledger-san)"
  [ -x "$work/vectors_san" ] && run vectors-asan-ubsan "$work/vectors_san" "${vectors[@]}"
fi
if [ $have_valgrind = 1 ]; then
  [ -x "$work/test_api" ] && run c-valgrind "${VG[@]}" "$work/test_api" "$(scratch c-vg)"
  [ -x "$work/test_api_cpp" ] && run cpp-valgrind "${VG[@]}" "$work/test_api_cpp" "$(scratch cpp-vg)"
  [ -x "$work/test_ledger" ] && run ledger-valgrind "${VG[@]}" "$work/test_ledger" "$(scratch ledger-vg)"
  [ -x "$work/vectors" ] && run vectors-valgrind "${VG[@]}" "$work/vectors" "${vectors[@]}"
fi

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
