'use strict';
// File-backed behaviour (T5-T11, X2) on real temp directories. Interval
// flushes are driven by the testing clock (`__testClockMs` + `__tick()`),
// plus one real-time check.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { FileBackedLlmUsageTracker } = require('..');
const { T0, tmpDir, log, json, statsFile, logLines, until } = require('./helpers');

const never = { flushIntervalMs: 3600000, flushEveryNLogs: 1000000 };

function open(dir, opts = {}) {
  return new FileBackedLlmUsageTracker(dir, { __testClockMs: T0, ...never, ...opts });
}

function trackMix(u, n, start = 0) {
  for (let i = start; i < start + n; i++) {
    u.__setClock(T0 + i * 1000);
    u.trackUsage(log(['openai', 'anthropic', 'local'][i % 3], i, i % 5, {
      status: i % 4 === 3 ? 'error' : 'success',
      ...(i % 2 ? { durationMs: i * 10.5 } : {}),
    }));
  }
}

test('T7 layout: <baseDir>/llm-usage/usage-stats.json with perBridge and updatedAt', async (t) => {
  const dir = tmpDir(t);
  const u = open(dir);
  trackMix(u, 4);
  await u.flush();
  const snap = statsFile(dir);
  assert.deepEqual(Object.keys(snap.perBridge).sort(), ['anthropic', 'local', 'openai']);
  assert.deepEqual(snap.perBridge.openai, json(u.getUsageStats('openai')));
  assert.equal(typeof snap.updatedAt, 'string');
  await u.close();
});

test('T8 flushes after flushEveryNLogs logs, on the writer thread', async (t) => {
  const dir = tmpDir(t);
  const u = open(dir, { flushEveryNLogs: 3 });
  u.trackUsage(log('a', 1, 1));
  u.trackUsage(log('a', 1, 1));
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(u.health().flushCount, 0, 'not before N');
  assert.equal(statsFile(dir), undefined);
  u.trackUsage(log('a', 1, 1));
  await until('the N-th log to flush', () => u.health().flushCount >= 1);
  assert.equal(statsFile(dir).perBridge.a.totalRequests, 3);
  await u.close();
});

test('T8 flushes on the interval (testing clock)', async (t) => {
  const dir = tmpDir(t);
  const u = open(dir, { flushIntervalMs: 1000 });
  u.trackUsage(log('a', 1, 1));
  u.__tick();
  assert.equal(u.health().flushCount, 0, 'the interval has not passed');
  u.__setClock(T0 + 1000);
  u.__tick();
  assert.equal(u.health().flushCount, 1);
  assert.equal(statsFile(dir).perBridge.a.totalRequests, 1);
  await u.close();
});

test('T8 flushes on the interval (real clock), with no help from the caller', async (t) => {
  const dir = tmpDir(t);
  const u = new FileBackedLlmUsageTracker(dir, { flushIntervalMs: 50 });
  u.trackUsage(log('a', 1, 1));
  await until('an interval flush', () => statsFile(dir)?.perBridge?.a?.totalRequests === 1);
  assert.ok(u.health().lastFlushAt instanceof Date);
  await u.close();
});

test('T8 flush() resolves once on disk; close() writes the rest', async (t) => {
  const dir = tmpDir(t);
  const u = open(dir, { persistLogs: true });
  trackMix(u, 5);
  assert.equal(await u.flush(), undefined);
  assert.equal(statsFile(dir).nextSeq ?? 6, 6);
  assert.equal(logLines(dir).length, 5);
  trackMix(u, 2, 5);
  await u.close();
  assert.equal(logLines(dir).length, 7);
  assert.equal(Object.values(statsFile(dir).perBridge).reduce((s, b) => s + b.totalRequests, 0), 7);
});

test('T9 a new tracker on the directory shows equal stats and logs', async (t) => {
  const dir = tmpDir(t);
  const u = open(dir, { persistLogs: true });
  trackMix(u, 30);
  const stats = ['openai', 'anthropic', 'local', undefined].map((b) => u.getUsageStats(b));
  const logs = u.getUsageLogs();
  await u.close();
  const again = open(dir, { persistLogs: true });
  assert.deepEqual(['openai', 'anthropic', 'local', undefined].map((b) => again.getUsageStats(b)), stats);
  assert.deepEqual(again.getUsageLogs(), logs);
  assert.ok(again.getUsageLogs()[0].timestamp instanceof Date);
  // Ids continue after a restart (T2).
  again.trackUsage(log('a', 1, 1));
  assert.match(again.getUsageLogs('a')[0].id, /^llm_log_31_/);
  await again.close();
});

test('T6 persistLogs false (the default) writes no JSONL; totals still survive', async (t) => {
  const dir = tmpDir(t);
  const u = open(dir);
  trackMix(u, 6);
  const stats = u.getUsageStats();
  await u.close();
  assert.equal(logLines(dir), undefined, 'no usage-logs.jsonl');
  const again = open(dir);
  assert.deepEqual(again.getUsageStats(), stats);
  assert.deepEqual(again.getUsageLogs(), [], 'logs were not persisted');
  await again.close();
});

test('T7 maxLogs: the log rolls, the newest are kept, totals are not touched', async (t) => {
  const dir = tmpDir(t);
  const u = open(dir, { persistLogs: true, maxLogs: 5, flushEveryNLogs: 4 });
  trackMix(u, 40);
  await u.close();
  assert.ok(logLines(dir).length <= 5 + 4 + 2, `${logLines(dir).length} lines`);
  const again = open(dir, { persistLogs: true, maxLogs: 5 });
  assert.deepEqual(again.getUsageLogs().map((l) => l.id.split('_')[2]), ['36', '37', '38', '39', '40']);
  assert.equal(again.getUsageStats().totalRequests, 40);
  await again.close();
});

test('T5 clearLogs() and clearLogs(olderThan) are persisted across restarts', async (t) => {
  const dir = tmpDir(t);
  let u = open(dir, { persistLogs: true });
  trackMix(u, 6);
  u.clearLogs(new Date(T0 + 3000));
  const kept = u.getUsageStats();
  assert.equal(kept.totalRequests, 3);
  await u.close();
  u = open(dir, { persistLogs: true });
  assert.deepEqual(u.getUsageStats(), kept);
  assert.deepEqual(u.getUsageLogs().map((l) => l.timestamp.getTime()), [T0 + 3000, T0 + 4000, T0 + 5000]);
  u.clearLogs();
  await u.close();
  u = open(dir, { persistLogs: true });
  assert.equal(u.getUsageStats().totalRequests, 0);
  assert.ok(!('lastUsedAt' in u.getUsageStats()));
  assert.deepEqual(u.getUsageLogs(), []);
  await u.close();
});

test('T10 a corrupt snapshot is moved aside and recovered from the backup plus the log', async (t) => {
  const dir = tmpDir(t);
  let u = open(dir, { persistLogs: true });
  trackMix(u, 10);
  await u.flush();
  trackMix(u, 5, 10);
  await u.flush();
  trackMix(u, 3, 15);
  const stats = u.getUsageStats();
  await u.close();
  const snap = path.join(dir, 'llm-usage', 'usage-stats.json');
  fs.writeFileSync(snap, '\u0000garbage{{{');
  u = open(dir, { persistLogs: true });
  assert.deepEqual(u.getUsageStats(), stats);
  const notes = u.health().recovery.join('; ');
  assert.match(notes, /moved aside/);
  const aside = fs.readdirSync(path.join(dir, 'llm-usage')).filter((f) => f.startsWith('usage-stats.json.corrupt-'));
  assert.equal(aside.length, 1, 'the unreadable file is kept, not deleted');
  assert.equal(fs.readFileSync(path.join(dir, 'llm-usage', aside[0]), 'utf8'), '\u0000garbage{{{');
  await u.close();
});

test('T11 a second tracker on the directory gets USAGEBOOK_LOCKED until the first closes', async (t) => {
  const dir = tmpDir(t);
  const u = open(dir);
  assert.throws(
    () => new FileBackedLlmUsageTracker(dir),
    (e) => e instanceof Error && !(e instanceof TypeError) && e.code === 'USAGEBOOK_LOCKED' && /locked/.test(e.message),
  );
  await u.close();
  const again = new FileBackedLlmUsageTracker(dir);
  await again.close();
});

test('X2 health reports queue depth, flushes and durability', async (t) => {
  const dir = tmpDir(t);
  const u = open(dir);
  const h0 = u.health();
  assert.equal(h0.kind, 'file');
  assert.equal(h0.durability, 'interval');
  assert.equal(h0.closed, false);
  trackMix(u, 3);
  const h1 = u.health();
  assert.equal(h1.queueDepth, 3);
  assert.ok(h1.pendingBytes > 0);
  assert.equal(h1.retainedLogs, 3);
  await u.flush();
  const h2 = u.health();
  assert.equal(h2.queueDepth, 0);
  assert.equal(h2.flushCount, 1);
  assert.ok(h2.lastFlushAt instanceof Date);
  assert.equal(h2.lastError, null);
  assert.deepEqual(h2.recovery, []);
  await u.close();
});

test('X5 process and power durability record each call before it returns', async (t) => {
  for (const durability of ['process', 'power']) {
    const dir = tmpDir(t);
    const u = open(dir, { durability, persistLogs: true });
    trackMix(u, 7);
    assert.equal(u.health().durability, durability);
    assert.equal(u.health().retainedLogs, 7, 'recorded by trackUsage itself, not queued');
    const logs = u.getUsageLogs();
    await u.close();
    const again = open(dir, { durability, persistLogs: true });
    assert.deepEqual(again.getUsageLogs(), logs);
    await again.close();
  }
});
