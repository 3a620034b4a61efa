#!/usr/bin/env bash
# Builds the npm packages usagebook and usagebook-linux-x64-gnu from source
# and runs every Node test against the release addon: npm ci, napi build
# (profile dist, stripped, linked by zig for glibc 2.17 with cargo-zigbuild:
# `npm run build:zig`; nothing prebuilt is downloaded), the generated
# native.d.ts is fresh, then node --test over the vectors, behaviour,
# file-backed, process/worker, TypeScript and packed-tarballs suites (the
# last checks the install size, the glibc version and the missing-platform
# error). Needs node >= 20, npm, a Rust toolchain and python3 with venv (for
# zig and cargo-zigbuild from PyPI, scripts/tools-venv.sh).
set -euo pipefail
cd "$(dirname "$0")"

echo "== bindings-node: release build tools (ziglang, cargo-zigbuild from PyPI)"
tools="$(bash ../scripts/tools-venv.sh)"
export PATH="$tools:$PATH"

echo "== bindings-node: npm ci"
npm ci --no-audit --no-fund

echo "== bindings-node: npm run build:zig (x86_64-unknown-linux-gnu, glibc 2.17)"
npm run build:zig

echo "== bindings-node: native.d.ts is the generated one"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1 && git ls-files --error-unmatch native.d.ts >/dev/null 2>&1; then
  git diff --exit-code -- native.d.ts
fi

echo "== bindings-node: node --test"
USAGEBOOK_RELEASE_GLIBC=2.17 npm test
