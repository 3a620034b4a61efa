'use strict';
// B2: `npm pack`, install the tarball into a fresh project, `require` and
// `import` it, track, close, reopen: the numbers survive the restart. The
// Done-when swap: the same calls on InMemory and FileBacked trackers.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { tmpDir } = require('./helpers');

const root = path.join(__dirname, '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

test('B2 npm pack output installs and works in a fresh project (require and import)', { timeout: 240000 }, (t) => {
  const work = tmpDir(t);
  const out = execFileSync(npm, ['pack', '--json', '--pack-destination', work], { cwd: root, encoding: 'utf8' });
  const [info] = JSON.parse(out);
  const files = info.files.map((f) => f.path).sort();
  for (const f of ['index.js', 'index.mjs', 'index.d.ts', 'native.js', 'package.json']) assert.ok(files.includes(f), `${f} not packed: ${files}`);
  assert.ok(files.some((f) => f.endsWith('.node')), 'the addon is not packed');
  assert.ok(!files.some((f) => f.startsWith('src/') || f.startsWith('test/')), `sources packed: ${files}`);

  const app = path.join(work, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  execFileSync(npm, ['install', '--no-audit', '--no-fund', '--offline', path.join(work, info.filename)], { cwd: app, stdio: 'pipe' });

  const data = path.join(work, 'data');
  // CommonJS: the host's code, first with the in-memory tracker, then the swap.
  fs.writeFileSync(
    path.join(app, 'app.cjs'),
    `const { InMemoryLlmUsageTracker, FileBackedLlmUsageTracker } = require('usagebook');
const which = process.argv[2];
const tracker = which === 'memory' ? new InMemoryLlmUsageTracker() : new FileBackedLlmUsageTracker(process.argv[3]);
tracker.trackUsage({ bridgeId: 'openai', usage: { promptTokens: 10, completionTokens: 5, totalTokens: 15 }, durationMs: 100, status: 'success' });
tracker.trackUsage({ bridgeId: 'openai', usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 }, status: 'error' });
const s = tracker.getUsageStats('openai');
console.log(JSON.stringify({ requests: s.totalRequests, tokens: s.totalTokens, errors: s.errorCount, date: s.lastUsedAt instanceof Date, logs: tracker.getUsageLogs().length }));
tracker.close();
`,
  );
  // ES module import of the same package.
  fs.writeFileSync(
    path.join(app, 'app.mjs'),
    `import usagebook, { FileBackedLlmUsageTracker, VERSION } from 'usagebook';
if (usagebook.FileBackedLlmUsageTracker !== FileBackedLlmUsageTracker) throw new Error('default export differs');
const tracker = new FileBackedLlmUsageTracker(process.argv[2]);
tracker.trackUsage({ bridgeId: 'openai', usage: { promptTokens: 3, completionTokens: 0, totalTokens: 3 }, status: 'success' });
const s = tracker.getUsageStats();
await tracker.close();
console.log(JSON.stringify({ version: VERSION, requests: s.totalRequests, tokens: s.totalTokens }));
`,
  );
  const run = (...args) => JSON.parse(execFileSync(process.execPath, args, { cwd: app, encoding: 'utf8' }));
  assert.deepEqual(run('app.cjs', 'memory'), { requests: 2, tokens: 17, errors: 1, date: true, logs: 2 });
  assert.deepEqual(run('app.cjs', 'file', data), { requests: 2, tokens: 17, errors: 1, date: true, logs: 2 });
  // Restart: the totals survive (logs are not persisted by default).
  assert.deepEqual(run('app.cjs', 'file', data), { requests: 4, tokens: 34, errors: 2, date: true, logs: 2 });
  assert.deepEqual(run('app.mjs', data), { version: info.version, requests: 5, tokens: 37 });
});
