'use strict';
// Issue 11 #11 from Node: lone surrogates and bigints are TypeErrors with a
// code that name the field, never merged ids, JSON escape errors or
// uncoded errors.

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { FileBackedLlmUsageTracker, InMemoryLlmUsageTracker, Ledger, ErrorCodes } = require('..');
const { tmpDir } = require('./helpers');

const usage = { promptTokens: 1, completionTokens: 1, totalTokens: 2 };
const invalidNaming = (field) => (e) =>
  e instanceof TypeError && e.code === ErrorCodes.INVALID_ARGUMENT && e.message.includes(field) && /lone surrogate|bigint/.test(e.message);

test('issue 11: lone surrogates in bridge ids are refused, so distinct ids never merge into one', async () => {
  const t = new InMemoryLlmUsageTracker();
  for (const id of ['a\ud800', 'a\udfff', 'a\ud801']) {
    assert.throws(() => t.trackUsage({ bridgeId: id, usage }), invalidNaming('bridgeId'));
  }
  assert.throws(() => t.getUsageStats('a\ud800'), invalidNaming('bridgeId'));
  assert.throws(() => t.trackUsage({ bridgeId: 'a', usage: { input_tokens: 1, output_tokens: 1, ['k\ud800']: 1 } }), invalidNaming('key'));
  assert.equal(t.getUsageStats().totalRequests, 0);
  assert.throws(() => new FileBackedLlmUsageTracker(path.join(tmpDir(), 'x\ud800')), invalidNaming('baseDir'));
  await t.close();
});

test('issue 11: ledger strings with lone surrogates and bigint amounts are TypeErrors with a code', async () => {
  const db = path.join(tmpDir(), 'l.db');
  assert.throws(() => new Ledger(db, { dailyBudgetUsd: 5n }), invalidNaming('dailyBudgetUsd'));
  assert.throws(() => new Ledger(path.join(tmpDir(), 'l\ud800.db')), invalidNaming('path'));
  const l = new Ledger(db);
  const ev = { eventType: 'commit', traceId: 't', provider: 'openai', model: 'gpt-4o', costActualUsd: 0.1 };
  assert.throws(() => l.writeEvent({ ...ev, traceId: 't\ud800' }), invalidNaming('traceId'));
  assert.throws(() => l.writeEvent({ ...ev, costActualUsd: 5n }), invalidNaming('costActualUsd'));
  assert.throws(() => l.writeEvent({ ...ev, usage: { input_tokens: 1, output_tokens: 1, note: 'x\udc00' } }), invalidNaming('note'));
  assert.equal(await l.spendToday(), 0);
  await l.close();
});
