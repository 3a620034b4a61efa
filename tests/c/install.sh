#!/usr/bin/env bash
# The C package (issue 15): `cargo xtask install --prefix DIR --target
# x86_64-unknown-linux-gnu.2.17` builds libusagebook (profile dist, linked
# by zig for glibc 2.17) and lays out DIR/include, DIR/lib and
# DIR/lib/pkgconfig; then, against that prefix only:
#   - the shared library needs at most GLIBC_2.17, keeps no debug info,
#     exports only usagebook_* symbols, and both libraries' sizes are bounded;
#   - the README's quick start compiles with
#     `pkg-config --cflags --libs usagebook` and runs twice (totals survive);
#   - it links statically (the .a plus `pkg-config --static`), and, with
#     zig for glibc 2.17, into a program that itself needs only GLIBC_2.17.
# Ends with "<N> passed, <M> failed". The prefix is left in
# ${CARGO_TARGET_DIR:-target}/dist/c/usagebook.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
tools=$(bash scripts/tools-venv.sh) || { echo "0 passed, 1 failed"; exit 1; }
export PATH="$tools:$PATH"
target="${CARGO_TARGET_DIR:-$root/target}"
prefix="$target/dist/c/usagebook"
work=$(mktemp -d "${TMPDIR:-/tmp}/usagebook-c-install.XXXXXX")
trap 'rm -rf "$work"' EXIT

passed=0
failed=0
ok() { echo "ok   $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
check() { # label command...: passes when the command does
  local label=$1
  shift
  if "$@" >"$work/out" 2>&1; then
    ok "$label"
  else
    cat "$work/out"
    fail "$label"
  fi
}

echo "== cargo xtask install --prefix $prefix --target x86_64-unknown-linux-gnu.2.17"
rm -rf "$prefix"
if ! cargo xtask install --prefix "$prefix" --target x86_64-unknown-linux-gnu.2.17; then
  echo "0 passed, 1 failed"
  exit 1
fi

for f in include/usagebook.h lib/libusagebook.so lib/libusagebook.a lib/pkgconfig/usagebook.pc; do
  if [ -f "$prefix/$f" ]; then ok "installed $f"; else fail "$prefix/$f is missing"; fi
done

# The shared library: glibc, size, debug info, exports. Sizes with room
# (now 4.5 MB and 29 MB): they catch debug info or a doubled dependency.
if bash scripts/check-binary.sh --glibc 2.17 --max-bytes 6000000 --exports usagebook_ "$prefix/lib/libusagebook.so"; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
fi
a_bytes=$(stat -c %s "$prefix/lib/libusagebook.a")
if [ "$a_bytes" -lt 35000000 ]; then ok "libusagebook.a: $a_bytes bytes"; else fail "libusagebook.a: $a_bytes bytes, not under 35000000"; fi
if readelf -S -W "$prefix/lib/libusagebook.a" | grep -q '\.debug_info'; then fail "libusagebook.a keeps debug info"; else ok "libusagebook.a keeps no debug info"; fi

export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
version=$(sed -n 's/^#define USAGEBOOK_VERSION "\(.*\)"$/\1/p' include/usagebook.h)
check "pkg-config --modversion usagebook is $version" test "$(pkg-config --modversion usagebook)" = "$version"

# The quick start, built only from what pkg-config says.
cflags=$(pkg-config --cflags usagebook)
libs=$(pkg-config --libs usagebook)
echo "pkg-config: --cflags $cflags; --libs $libs; --static --libs $(pkg-config --static --libs usagebook)"
# shellcheck disable=SC2086 # pkg-config output is a list of flags
check "quick start compiles with pkg-config --cflags --libs usagebook" \
  gcc -Wall -Werror -o "$work/quickstart" tests/c/quickstart.c $cflags $libs
runs_twice() { # label program [env...]
  local label=$1 prog=$2
  rm -rf "$work/data-$label"
  if "$prog" "$work/data-$label" >"$work/first" 2>&1 && "$prog" "$work/data-$label" >"$work/second" 2>&1 &&
    grep -q "requests 2, tokens 440, errors 1" "$work/first" &&
    grep -q "requests 4, tokens 880, errors 2" "$work/second"; then
    ok "$label: run twice, totals survive the restart"
  else
    cat "$work/first" "$work/second" 2>/dev/null
    fail "$label"
  fi
}
[ -x "$work/quickstart" ] && LD_LIBRARY_PATH="$prefix/lib" runs_twice quickstart-shared "$work/quickstart"

# Static: the archive itself, plus its Libs.private.
# shellcheck disable=SC2086
check "quick start links the static library (pkg-config --static)" \
  gcc -Wall -Werror -o "$work/quickstart-static" tests/c/quickstart.c $cflags "$prefix/lib/libusagebook.a" \
  $(pkg-config --static --libs-only-l usagebook | sed 's/-lusagebook//')
if [ -x "$work/quickstart-static" ]; then
  if readelf -d "$work/quickstart-static" | grep -q 'libusagebook'; then
    fail "quickstart-static still needs libusagebook.so"
  else
    runs_twice quickstart-static "$work/quickstart-static"
  fi
fi

# The archive links for glibc 2.17 too: zig's own libc headers and stubs.
# shellcheck disable=SC2086
check "quick start links the static library with zig for glibc 2.17" \
  python3 -m ziglang cc -target x86_64-linux-gnu.2.17 -s -o "$work/quickstart-217" tests/c/quickstart.c $cflags \
  "$prefix/lib/libusagebook.a" -lunwind -lpthread -ldl -lm -lrt -lutil
if [ -x "$work/quickstart-217" ]; then
  if bash scripts/check-binary.sh --glibc 2.17 "$work/quickstart-217"; then
    passed=$((passed + 1))
    runs_twice quickstart-glibc-2.17 "$work/quickstart-217"
  else
    failed=$((failed + 1))
  fi
fi

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
