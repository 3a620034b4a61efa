'use strict';
// B2/T1: `tsc --noEmit` proves each class assignable to an
// LlmBridgeUsageTracker interface written from T1 (test/types/assignable.ts).
// U2: the SDK fixtures are the SDKs' own types, and usagebook's declarations
// accept those types wherever they take usage (test/types/tsconfig.sdk.json).

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.join(__dirname, '..');

function tsc(project) {
  const bin = require.resolve('typescript/bin/tsc', { paths: [root] });
  const r = spawnSync(process.execPath, [bin, '--noEmit', '-p', project], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
}

test('B2 T1 tsc --noEmit: every class is assignable to LlmBridgeUsageTracker', () => {
  tsc(path.join(__dirname, 'types'));
});

test('U2 tsc --noEmit: the SDK fixtures type-check as OpenAI.ChatCompletion, Anthropic.Message, ...; cost/trackUsage/commit accept the SDK types', () => {
  tsc(path.join(__dirname, 'types', 'tsconfig.sdk.json'));
});
