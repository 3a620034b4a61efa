'use strict';
// The tracker in a real Node process: the best-effort final flush at exit
// without holding the event loop open (T8), worker_threads, locking across
// threads (T11), and a real kill -9 in `process` durability (X5).

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const { Worker } = require('node:worker_threads');
const { FileBackedLlmUsageTracker } = require('..');
const { tmpDir } = require('./helpers');

const child = path.join(__dirname, 'fixtures', 'track-and-leave.js');
const worker = path.join(__dirname, 'fixtures', 'worker.js');

function reopenStats(dir) {
  const t = new FileBackedLlmUsageTracker(dir, { persistLogs: true });
  const s = t.getUsageStats();
  const logs = t.getUsageLogs();
  return t.close().then(() => ({ s, logs }));
}

test('T8 a process that never calls close() exits on its own and its usage is flushed', async (t) => {
  const dir = tmpDir(t);
  const started = Date.now();
  const r = spawnSync(process.execPath, [child, dir, '25', 'idle'], { timeout: 20000, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(Date.now() - started < 15000, 'the tracker kept the process alive');
  const { s, logs } = await reopenStats(dir);
  assert.equal(s.totalRequests, 25);
  assert.equal(logs.length, 25);
});

test('T8 process.exit() right after tracking still flushes (queued calls included)', async (t) => {
  const dir = tmpDir(t);
  const r = spawnSync(process.execPath, [child, dir, '7', 'exit'], { timeout: 20000, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal((await reopenStats(dir)).s.totalRequests, 7);
});

test('X5 process durability: every acknowledged call survives kill -9', async (t) => {
  const dir = tmpDir(t);
  const p = spawn(process.execPath, [child, dir, '40', 'hang', 'process'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    p.stdout.on('data', (d) => (String(d).includes('tracked') ? resolve() : null));
    p.on('exit', (code) => reject(new Error(`child exited early (${code})`)));
  });
  p.kill('SIGKILL');
  await new Promise((r) => p.on('exit', r));
  const { s } = await reopenStats(dir);
  assert.equal(s.totalRequests, 40);
});

function runWorker(data) {
  return new Promise((resolve, reject) => {
    const w = new Worker(worker, { workerData: data });
    let msg;
    w.on('message', (m) => (msg = m));
    w.on('error', reject);
    w.on('exit', (code) => (code === 0 ? resolve(msg) : reject(new Error(`worker exit ${code}`))));
  });
}

test('B2 works inside worker_threads, with and without close()', async (t) => {
  const dir = tmpDir(t);
  assert.deepEqual(await runWorker({ dir, n: 5, close: true }), { totalRequests: 5, lastUsedAt: true });
  // The worker ends without close(): its exit flushes and releases the directory.
  assert.deepEqual(await runWorker({ dir, n: 3, close: false }), { totalRequests: 8, lastUsedAt: true });
  const { s } = await reopenStats(dir);
  assert.equal(s.totalRequests, 8);
});

test('T11 a tracker in another thread gets USAGEBOOK_LOCKED', async (t) => {
  const dir = tmpDir(t);
  const mine = new FileBackedLlmUsageTracker(dir);
  const r = await runWorker({ dir, n: 1, close: true });
  assert.equal(r.error, 'USAGEBOOK_LOCKED', JSON.stringify(r));
  await mine.close();
  assert.equal((await runWorker({ dir, n: 1, close: true })).totalRequests, 1);
});

test('T11 a tracker in another process gets USAGEBOOK_LOCKED', async (t) => {
  const dir = tmpDir(t);
  const mine = new FileBackedLlmUsageTracker(dir);
  const r = spawnSync(process.execPath, [child, dir, '1', 'idle'], { timeout: 20000, encoding: 'utf8' });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /USAGEBOOK_LOCKED/);
  await mine.close();
});
