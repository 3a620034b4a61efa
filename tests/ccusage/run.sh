#!/usr/bin/env bash
# E6: `usagebook import --from claude-code` and `usagebook report --by
# day|month` against the real ccusage (pinned in package.json) on the same
# Claude Code session logs: tokens exactly equal, cost within 1e-9 USD a
# request (compare.mjs says why). Prints "N passed, 0 failed"; exits
# non-zero on any mismatch.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

echo "-- npm ci (ccusage $(node -p "require('$here/package.json').devDependencies.ccusage"))"
(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)

echo "-- cargo build -p usagebook-cli"
(cd "$root" && cargo build -q -p usagebook-cli)
target="${CARGO_TARGET_DIR:-target}"
case "$target" in /*) ;; *) target="$root/$target" ;; esac
bin="$target/debug/usagebook"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
node "$here/make-corpus.mjs" "$work/claude"

# ccusage reads $CLAUDE_CONFIG_DIR/projects/**/*.jsonl; its days are in
# --timezone (else the system's), so both are set. It runs in $work so no
# .ccusage/ccusage.json of the caller's directory changes its options.
ccusage() {
  (cd "$work" && TZ=UTC CLAUDE_CONFIG_DIR="$work/claude" \
    "$here/node_modules/.bin/ccusage" "$@" --json --offline)
}
echo "-- ccusage daily / monthly --json --offline"
ccusage daily --timezone UTC >"$work/ccusage-daily.json"
ccusage monthly --timezone UTC >"$work/ccusage-monthly.json"
ccusage daily --timezone Asia/Tokyo >"$work/ccusage-daily-tokyo.json"

echo "-- compare"
node "$here/compare.mjs" "$bin" "$work"
