#!/usr/bin/env bash
# Builds the npm package usagebook from source and runs every Node test:
# npm ci, napi build (release, host platform; nothing prebuilt is
# downloaded), the generated native.d.ts is fresh, then node --test over the
# vectors, behaviour, file-backed, process/worker, TypeScript and npm pack
# suites. Needs node >= 20, npm and a Rust toolchain.
set -euo pipefail
cd "$(dirname "$0")"

echo "== bindings-node: npm ci"
npm ci --no-audit --no-fund

echo "== bindings-node: npm run build"
npm run build

echo "== bindings-node: native.d.ts is the generated one"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1 && git ls-files --error-unmatch native.d.ts >/dev/null 2>&1; then
  git diff --exit-code -- native.d.ts
fi

echo "== bindings-node: node --test"
npm test
