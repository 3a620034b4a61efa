'use strict';
// Behaviour of the LlmBridgeUsageTracker interface (T1-T5, T12, X1, B5),
// the same for every class. Deterministic: the testing clock
// (`__testClockMs`, a native manual clock) stamps the logs.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const usagebook = require('..');
const { FileBackedLlmUsageTracker, InMemoryLlmUsageTracker, NoOpLlmUsageTracker, ErrorCodes, VERSION } = usagebook;
const { T0, tmpDir, log, json } = require('./helpers');

const makers = {
  InMemoryLlmUsageTracker: (t, opts = {}) => new InMemoryLlmUsageTracker({ __testClockMs: T0, ...opts }),
  FileBackedLlmUsageTracker: (t, opts = {}) => {
    const dir = tmpDir();
    const tracker = new FileBackedLlmUsageTracker(dir, { __testClockMs: T0, ...opts });
    t.after(async () => {
      await tracker.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });
    return tracker;
  },
};

for (const [name, make] of Object.entries(makers)) {
  test(`${name}: T1 logs and stats have the exact fields and types`, (t) => {
    const u = make(t);
    u.trackUsage(log('openai', 10, 5, { durationMs: 120, status: 'success' }));
    u.trackUsage(log('anthropic', 1, 2, { status: 'error' }));
    const [a, b] = u.getUsageLogs();
    assert.deepEqual(Object.keys(a), ['id', 'timestamp', 'bridgeId', 'usage', 'durationMs', 'status']);
    assert.deepEqual(Object.keys(b), ['id', 'timestamp', 'bridgeId', 'usage', 'status'], 'durationMs absent when not given');
    assert.ok(a.timestamp instanceof Date);
    assert.deepEqual(a.usage, { promptTokens: 10, completionTokens: 5, totalTokens: 15 });
    assert.equal(b.status, 'error');
    const s = u.getUsageStats();
    assert.deepEqual(Object.keys(s), [
      'totalRequests', 'promptTokens', 'completionTokens', 'totalTokens',
      'cacheReadTokens', 'cacheWriteTokens', 'reasoningTokens',
      'averageTokensPerRequest', 'lastUsedAt', 'errorCount',
    ]);
    assert.ok(s.lastUsedAt instanceof Date);
  });

  test(`${name}: T2 stamps llm_log_<n>_<ms> ids and timestamps; totalTokens kept as given`, (t) => {
    const u = make(t);
    u.trackUsage(log('a', 1, 1));
    u.__setClock(T0 + 5);
    u.trackUsage({ bridgeId: 'a', usage: { promptTokens: 1, completionTokens: 1, totalTokens: 7 } });
    const logs = u.getUsageLogs();
    assert.deepEqual(logs.map((l) => l.id), [`llm_log_1_${T0}`, `llm_log_2_${T0 + 5}`]);
    assert.deepEqual(logs.map((l) => l.timestamp.getTime()), [T0, T0 + 5]);
    assert.equal(u.getUsageStats().totalTokens, 9, 'summed as given, never recomputed');
    // Ids stay unique across clearLogs (T2, T5).
    u.clearLogs();
    u.trackUsage(log('a', 1, 1));
    assert.equal(u.getUsageLogs()[0].id, `llm_log_3_${T0 + 5}`);
  });

  test(`${name}: T3 filters by exact bridge id, oldest first, and returns copies`, (t) => {
    const u = make(t);
    for (const b of ['a', 'b', 'a', 'ab', 'A']) u.trackUsage(log(b, 1, 1));
    assert.deepEqual(u.getUsageLogs('a').map((l) => l.id), [`llm_log_1_${T0}`, `llm_log_3_${T0}`]);
    assert.equal(u.getUsageLogs().length, 5);
    assert.equal(u.getUsageLogs('').length, 5, 'empty id means all');
    assert.equal(u.getUsageLogs(null).length, 5);
    assert.deepEqual(u.getUsageLogs('zzz'), []);
    const copy = u.getUsageLogs('a');
    copy[0].usage.promptTokens = 999;
    copy[0].timestamp.setTime(0);
    copy.pop();
    assert.equal(u.getUsageLogs('a')[0].usage.promptTokens, 1);
    assert.equal(u.getUsageLogs('a')[0].timestamp.getTime(), T0);
    assert.equal(u.getUsageLogs('a').length, 2);
  });

  test(`${name}: T4 empty stats have zeros and no lastUsedAt key`, (t) => {
    const u = make(t);
    for (const s of [u.getUsageStats(), u.getUsageStats('nobody')]) {
      assert.deepEqual(s, {
        totalRequests: 0, promptTokens: 0, completionTokens: 0, totalTokens: 0,
        cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0,
        averageTokensPerRequest: 0, errorCount: 0,
      });
      assert.ok(!('lastUsedAt' in s), 'absent, not undefined or null');
    }
  });

  test(`${name}: T4 sums, unrounded averages, error counts, latest lastUsedAt`, (t) => {
    const u = make(t);
    u.trackUsage(log('a', 3, 0, { status: 'error' }));
    u.__setClock(T0 + 50);
    u.trackUsage(log('a', 3, 1));
    u.__setClock(T0 + 20);
    u.trackUsage(log('a', 3, 0, { status: 'error' }));
    u.trackUsage(log('b', 100, 0));
    const a = u.getUsageStats('a');
    assert.equal(a.totalRequests, 3);
    assert.equal(a.totalTokens, 10);
    assert.equal(a.averageTokensPerRequest, 10 / 3);
    assert.equal(a.errorCount, 2);
    assert.equal(a.lastUsedAt.getTime(), T0 + 50, 'the latest, not the last tracked');
    const all = u.getUsageStats();
    assert.equal(all.totalRequests, 4);
    assert.equal(all.averageTokensPerRequest, 110 / 4);
  });

  test(`${name}: T4/T6 the 10k cap trims logs but keeps lifetime totals`, (t) => {
    const u = make(t);
    for (let i = 0; i < 10050; i++) u.trackUsage(log(i % 2 ? 'a' : 'b', 1, 1));
    const logs = u.getUsageLogs();
    assert.equal(logs.length, 10000, 'maxLogs defaults to 10000');
    assert.equal(logs[0].id, `llm_log_51_${T0}`, 'the newest are kept');
    assert.equal(u.getUsageStats().totalRequests, 10050);
    assert.equal(u.getUsageStats('a').totalRequests, 5025);
  });

  test(`${name}: T6 maxLogs option`, (t) => {
    const u = make(t, { maxLogs: 2 });
    for (let i = 0; i < 5; i++) u.trackUsage(log('a', i, 0));
    assert.deepEqual(u.getUsageLogs().map((l) => l.usage.promptTokens), [3, 4]);
    assert.equal(u.getUsageStats().promptTokens, 10);
  });

  test(`${name}: T5 clearLogs() empties logs and totals`, (t) => {
    const u = make(t);
    u.trackUsage(log('a', 1, 1));
    u.trackUsage(log('b', 1, 1));
    u.clearLogs();
    assert.deepEqual(u.getUsageLogs(), []);
    assert.equal(u.getUsageStats().totalRequests, 0);
    assert.ok(!('lastUsedAt' in u.getUsageStats('a')));
  });

  test(`${name}: T5 clearLogs(olderThan) keeps timestamp >= olderThan and fixes totals`, (t) => {
    const u = make(t);
    for (let i = 0; i < 4; i++) {
      u.__setClock(T0 + i * 10);
      u.trackUsage(log('a', 1, i, { status: i === 0 ? 'error' : 'success' }));
    }
    u.clearLogs(new Date(T0 + 10));
    assert.deepEqual(u.getUsageLogs().map((l) => l.timestamp.getTime()), [T0 + 10, T0 + 20, T0 + 30], 'inclusive keep');
    const s = u.getUsageStats('a');
    assert.equal(s.totalRequests, 3);
    assert.equal(s.completionTokens, 6);
    assert.equal(s.errorCount, 0);
    u.clearLogs(T0 + 30); // epoch ms, as the seed's comparison allowed
    assert.equal(u.getUsageStats().totalRequests, 1);
    assert.throws(() => u.clearLogs(new Date('nope')), (e) => e instanceof TypeError && /olderThan/.test(e.message));
    assert.throws(() => u.clearLogs('2025-01-01'), (e) => e instanceof TypeError && /olderThan/.test(e.message));
    assert.equal(u.getUsageStats().totalRequests, 1, 'a refused clear clears nothing');
  });

  test(`${name}: X1 bad input is a TypeError naming the field, and records nothing`, (t) => {
    const u = make(t);
    badInputs(u);
    assert.equal(u.getUsageStats().totalRequests, 0);
    assert.deepEqual(u.getUsageLogs(), []);
    u.trackUsage(log('a', 1, 1, { durationMs: null }));
    assert.equal(u.getUsageLogs()[0].id, `llm_log_1_${T0}`, 'refused calls use no id');
    assert.throws(() => u.getUsageStats(5), (e) => e instanceof TypeError && /bridgeId/.test(e.message));
    assert.throws(() => u.getUsageLogs({}), (e) => e instanceof TypeError && /bridgeId/.test(e.message));
  });

  test(`${name}: after close() every call fails with USAGEBOOK_CLOSED; closing twice is fine`, async (t) => {
    const u = make(t);
    u.trackUsage(log('a', 1, 1));
    const closing = u.close();
    const closed = (e) => e.code === 'USAGEBOOK_CLOSED' && /closed/.test(e.message);
    assert.throws(() => u.trackUsage(log('a', 1, 1)), closed);
    assert.throws(() => u.getUsageLogs(), closed);
    assert.throws(() => u.getUsageStats(), closed);
    assert.throws(() => u.clearLogs(), closed);
    await assert.rejects(u.flush(), closed);
    await closing;
    await u.close();
    assert.equal(u.health().closed, true);
  });
}

function badInputs(u) {
  const ok = { bridgeId: 'a', usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 } };
  const cases = [
    [undefined, 'log'],
    ['a log', 'log'],
    [{ usage: ok.usage }, 'bridgeId'],
    [{ ...ok, bridgeId: '' }, 'bridgeId'],
    [{ ...ok, bridgeId: 5 }, 'bridgeId'],
    [{ bridgeId: 'a' }, 'usage'],
    [{ ...ok, usage: null }, 'usage'],
    [{ ...ok, usage: { ...ok.usage, promptTokens: -1 } }, 'usage.promptTokens'],
    [{ ...ok, usage: { ...ok.usage, promptTokens: 1.5 } }, 'usage.promptTokens'],
    [{ ...ok, usage: { ...ok.usage, completionTokens: NaN } }, 'usage.completionTokens'],
    [{ ...ok, usage: { ...ok.usage, completionTokens: Infinity } }, 'usage.completionTokens'],
    [{ ...ok, usage: { ...ok.usage, totalTokens: '2' } }, 'usage.totalTokens'],
    [{ ...ok, usage: { promptTokens: 1, completionTokens: 1 } }, 'usage.totalTokens'],
    [{ ...ok, usage: { ...ok.usage, totalTokens: 2n ** 60n } }, 'usage.totalTokens'],
    [{ ...ok, usage: { ...ok.usage, totalTokens: 2 ** 53 } }, 'usage.totalTokens'],
    [{ ...ok, status: 'ok' }, 'status'],
    [{ ...ok, status: null }, 'status'],
    [{ ...ok, durationMs: -1 }, 'durationMs'],
    [{ ...ok, durationMs: NaN }, 'durationMs'],
    [{ ...ok, durationMs: 'fast' }, 'durationMs'],
  ];
  for (const [input, field] of cases) {
    assert.throws(
      () => u.trackUsage(input),
      (e) => e instanceof TypeError && e.code === 'USAGEBOOK_INVALID_ARGUMENT' && e.message.includes(field),
      `${JSON.stringify(input, (k, v) => (typeof v === 'bigint' ? `${v}n` : v))} should name ${field}`,
    );
  }
}

test('NoOpLlmUsageTracker: T12 records nothing, reports empty stats, still refuses bad input', async () => {
  const u = new NoOpLlmUsageTracker();
  u.trackUsage(log('a', 5, 5, { durationMs: 1 }));
  assert.deepEqual(u.getUsageLogs(), []);
  assert.deepEqual(u.getUsageLogs('a'), []);
  const s = u.getUsageStats('a');
  assert.equal(s.totalRequests, 0);
  assert.ok(!('lastUsedAt' in s));
  badInputs(u);
  u.clearLogs();
  u.clearLogs(new Date());
  await u.flush();
  assert.equal(u.health().kind, 'noop');
  await u.close();
  assert.throws(() => u.trackUsage(log('a', 1, 1)), (e) => e.code === 'USAGEBOOK_CLOSED');
});

test('T2 with the real clock: timestamps are Date.now() at the call', () => {
  const u = new InMemoryLlmUsageTracker();
  const before = Date.now();
  u.trackUsage(log('a', 1, 1));
  const after = Date.now();
  const [l] = u.getUsageLogs();
  assert.ok(l.timestamp.getTime() >= before && l.timestamp.getTime() <= after);
  assert.match(l.id, new RegExp(`^llm_log_1_${l.timestamp.getTime()}$`));
});

test('T2 calls queued in one synchronous job are visible at once, in order', async () => {
  const u = new InMemoryLlmUsageTracker({ __testClockMs: T0 });
  for (let i = 0; i < 1000; i++) u.trackUsage(log(`b${i % 7}`, i, 0));
  assert.equal(u.getUsageStats().totalRequests, 1000, 'reads see everything tracked before them');
  u.trackUsage(log('b0', 1, 0));
  await Promise.resolve(); // the queue drains at the end of the job as well
  assert.equal(u.health().retainedLogs, 1001);
  const ids = u.getUsageLogs().map((l) => Number(l.id.split('_')[2]));
  assert.deepEqual(ids, Array.from({ length: 1001 }, (_, i) => i + 1));
});

test('T6/X1 options are checked: unknown keys and wrong types are TypeErrors naming them', (t) => {
  const bad = [
    [{ maxLogs: 0 }, 'maxLogs'],
    [{ maxLogs: '10' }, 'maxLogs'],
    [{ maxLogs: NaN }, 'maxLogs'],
    [{ flushEvery: 1 }, 'flushEvery'],
    [{ durability: 'disk' }, 'durability'],
    [{ persistLogs: 'yes' }, 'persistLogs'],
    [{ flushIntervalMs: -5 }, 'flushIntervalMs'],
    [[1], 'options'],
    ['x', 'options'],
  ];
  for (const [opts, field] of bad) {
    for (const make of [() => new InMemoryLlmUsageTracker(opts), () => new FileBackedLlmUsageTracker(tmpDir(t), opts)]) {
      assert.throws(make, (e) => e instanceof TypeError && e.code === 'USAGEBOOK_INVALID_ARGUMENT' && e.message.includes(field), JSON.stringify(opts));
    }
  }
  for (const dir of [undefined, '', 5]) {
    assert.throws(() => new FileBackedLlmUsageTracker(dir), (e) => e instanceof TypeError && /baseDir/.test(e.message));
  }
  // undefined values are absent keys, as in any JS options object
  new InMemoryLlmUsageTracker({ maxLogs: undefined });
});

test('errors have stable codes; B5 one version across Cargo and package.json', () => {
  assert.deepEqual(Object.values(ErrorCodes).sort(), [
    'USAGEBOOK_BUDGET_EXCEEDED', 'USAGEBOOK_CLOSED', 'USAGEBOOK_INVALID_ARGUMENT', 'USAGEBOOK_IO_ERROR',
    'USAGEBOOK_LOCKED', 'USAGEBOOK_PANIC', 'USAGEBOOK_RATE_LIMITED', 'USAGEBOOK_UNSUPPORTED_FORMAT',
  ]);
  const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8'));
  const cargo = fs.readFileSync(path.join(__dirname, '..', '..', 'Cargo.toml'), 'utf8');
  const cargoVersion = /\[workspace\.package\][^[]*?version\s*=\s*"([^"]+)"/.exec(cargo)[1];
  assert.equal(VERSION, cargoVersion);
  assert.equal(pkg.version, cargoVersion);
  assert.equal(json(usagebook.VERSION), pkg.version);
});
