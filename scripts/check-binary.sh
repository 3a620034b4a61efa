#!/usr/bin/env bash
# Checks a shipped ELF binary (issue 15): the newest GLIBC symbol version it
# needs (objdump -T), its size, that it keeps no debug info, and, for the C
# library, that it exports nothing but the C ABI's symbols.
#
#   bash scripts/check-binary.sh [--glibc 2.17] [--max-bytes N] [--exports PREFIX] FILE
# Prints one line about FILE; exits non-zero when a check fails.
set -euo pipefail
glibc="" max_bytes="" exports=""
while [ $# -gt 1 ]; do
  case "$1" in
    --glibc) glibc=$2; shift 2 ;;
    --max-bytes) max_bytes=$2; shift 2 ;;
    --exports) exports=$2; shift 2 ;;
    *) echo "check-binary: unknown option $1" >&2; exit 2 ;;
  esac
done
file=${1:?usage: check-binary.sh [--glibc X.Y] [--max-bytes N] [--exports PREFIX] FILE}
fail=0
bytes=$(stat -c %s "$file")
newest=$(objdump -T "$file" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1)
msg="$(basename "$file"): $bytes bytes, needs GLIBC_${newest:-none}"
if [ -n "$glibc" ] && [ -n "$newest" ] && [ "$(printf '%s\n%s\n' "$newest" "$glibc" | sort -V | tail -1)" != "$glibc" ]; then
  msg+=" (FAIL: newer than $glibc)"; fail=1
fi
if [ -n "$max_bytes" ] && [ "$bytes" -ge "$max_bytes" ]; then
  msg+=" (FAIL: not under $max_bytes bytes)"; fail=1
fi
if readelf -S -W "$file" | grep -q '\.debug_info'; then
  msg+=" (FAIL: keeps debug info)"; fail=1
fi
if [ -n "$exports" ]; then
  all=$(nm -D --defined-only "$file" | awk '{print $3}')
  others=$(echo "$all" | grep -v "^$exports" || true)
  msg+=", exports $(echo "$all" | grep -c "^$exports") $exports* symbols"
  if [ -n "$others" ]; then
    msg+=" (FAIL: and also $(echo "$others" | head -5 | tr '\n' ' '))"; fail=1
  fi
fi
if [ $fail = 0 ]; then echo "ok   $msg"; else echo "FAIL $msg"; fi
exit $fail
