'use strict';
// B2/T1: `tsc --noEmit` proves each class assignable to an
// LlmBridgeUsageTracker interface written from T1 (test/types/assignable.ts).

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

test('B2 T1 tsc --noEmit: every class is assignable to LlmBridgeUsageTracker', () => {
  const root = path.join(__dirname, '..');
  const tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
  const r = spawnSync(process.execPath, [tsc, '--noEmit', '-p', path.join(__dirname, 'types')], {
    cwd: root,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
});
