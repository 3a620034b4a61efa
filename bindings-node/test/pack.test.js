'use strict';
// B2: the packed tarballs (scripts/pack.js), installed into a fresh project, `require` and
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

// The release layout (issue 15): scripts/pack.js makes the main package
// (JS only, one optional dependency per platform package) and the platform
// package with the addon. USAGEBOOK_RELEASE_GLIBC (set by run-tests.sh,
// which builds with `npm run build:zig`) is the newest glibc the addon may
// need; without it (a host `npm run build`) that check is skipped.
const MAX_INSTALL_BYTES = 5_000_000;

function glibcMax(file) {
  const out = execFileSync('objdump', ['-T', file], { encoding: 'utf8' });
  const versions = [...out.matchAll(/GLIBC_(\d+)\.(\d+)(?:\.(\d+))?/g)].map((m) => [+m[1], +m[2], +(m[3] || 0)]);
  versions.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]);
  return versions.length ? versions[versions.length - 1] : null;
}

function duBytes(dir) {
  let n = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    n += e.isDirectory() ? duBytes(p) : fs.statSync(p).size;
  }
  return n;
}

test('B2 npm pack output installs and works in a fresh project (require and import)', { timeout: 240000 }, (t) => {
  const work = tmpDir(t);
  const out = execFileSync(process.execPath, [path.join(root, 'scripts', 'pack.js'), work], { cwd: root, encoding: 'utf8' });
  const packed = JSON.parse(out);
  const main = packed.find((p) => p.name === 'usagebook');
  const platform = packed.find((p) => p.name === 'usagebook-linux-x64-gnu');
  assert.ok(main && platform, `packed: ${packed.map((p) => p.name)}`);
  const info = main;
  const files = info.files.map((f) => f.path).sort();
  for (const f of ['index.js', 'index.mjs', 'index.d.ts', 'native.js', 'package.json']) assert.ok(files.includes(f), `${f} not packed: ${files}`);
  assert.ok(!files.some((f) => f.endsWith('.node')), `the main package carries an addon: ${files}`);
  assert.ok(!files.some((f) => f.startsWith('src/') || f.startsWith('test/') || f.startsWith('npm/')), `sources packed: ${files}`);
  assert.deepEqual(platform.files.map((f) => f.path).sort(), ['package.json', 'usagebook.linux-x64-gnu.node']);
  assert.equal(platform.version, info.version);

  const app = path.join(work, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  // --offline: the other platforms' optional packages are not fetched (and
  // nothing is taken from the registry under these names).
  const install = (dir, ...tarballs) =>
    execFileSync(npm, ['install', '--no-audit', '--no-fund', '--offline', ...tarballs.map((p) => path.join(work, p.filename))], { cwd: dir, stdio: 'pipe' });
  install(app, main, platform);
  const installed = JSON.parse(fs.readFileSync(path.join(app, 'node_modules', 'usagebook', 'package.json'), 'utf8'));
  for (const p of ['linux-x64-gnu', 'linux-arm64-gnu', 'darwin-x64', 'darwin-arm64', 'win32-x64-msvc']) {
    assert.equal(installed.optionalDependencies[`usagebook-${p}`], info.version, `optional dependency usagebook-${p}`);
  }

  // Issue 15: the Linux x64 install is under 5 MB; the addon is stripped.
  const bytes = duBytes(path.join(app, 'node_modules', 'usagebook')) + duBytes(path.join(app, 'node_modules', 'usagebook-linux-x64-gnu'));
  console.log(`# install size: ${bytes} bytes (tarballs ${main.size} + ${platform.size} bytes)`);
  assert.ok(bytes < MAX_INSTALL_BYTES, `installed usagebook + usagebook-linux-x64-gnu: ${bytes} bytes >= ${MAX_INSTALL_BYTES}`);
  const addon = path.join(app, 'node_modules', 'usagebook-linux-x64-gnu', 'usagebook.linux-x64-gnu.node');
  const sections = execFileSync('readelf', ['-S', '-W', addon], { encoding: 'utf8' });
  assert.ok(!/\.debug_info/.test(sections), 'the addon keeps debug info');
  const want = process.env.USAGEBOOK_RELEASE_GLIBC;
  if (want) {
    const got = glibcMax(addon);
    const [wMaj, wMin] = want.split('.').map(Number);
    console.log(`# addon needs GLIBC_${got ? got.join('.') : 'none'} (at most ${want})`);
    assert.ok(got && (got[0] < wMaj || (got[0] === wMaj && got[1] <= wMin)), `the addon needs GLIBC_${got && got.join('.')}, newer than ${want}`);
  } else {
    t.diagnostic('USAGEBOOK_RELEASE_GLIBC unset: glibc version of the addon not checked (npm run build:zig builds the release one)');
  }

  // Without its platform package, the loader says which one to install.
  const bare = path.join(work, 'bare');
  fs.mkdirSync(bare);
  fs.writeFileSync(path.join(bare, 'package.json'), JSON.stringify({ name: 'bare', version: '1.0.0', private: true }));
  install(bare, main);
  assert.throws(
    () => execFileSync(process.execPath, ['-e', "require('usagebook')"], { cwd: bare, encoding: 'utf8', stdio: 'pipe' }),
    (e) => {
      assert.match(String(e.stderr), new RegExp(`the package usagebook-linux-x64-gnu, which is not installed: install it with \`npm install usagebook-linux-x64-gnu@${info.version.replace(/\./g, '\\.')}\``));
      return true;
    },
  );

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
