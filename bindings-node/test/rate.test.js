'use strict';
// Rate limits from Node (R1-R3): the refusal's code and fields, token
// estimates and their correction at commit, limits changed on an open
// ledger, and a waiting reservation that leaves the event loop running.

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { Ledger, RateLimitedError, ErrorCodes } = require('..');
const { tmpDir } = require('./helpers');

// SQL on the ledger file from outside (Node 20 has no node:sqlite; CI and
// these machines have Python's sqlite3).
function sql(db, statement) {
  const code = 'import sqlite3, sys, json\nc = sqlite3.connect(sys.argv[1])\nrows = c.execute(sys.argv[2]).fetchall()\nc.commit()\nprint(json.dumps(rows))';
  return JSON.parse(execFileSync('python3', ['-c', code, db, statement], { encoding: 'utf8' }));
}

const args = (traceId, extra = {}) => ({ traceId, provider: 'openai', model: 'gpt-4o', estimateUsd: 0.01, ...extra });

test('R3 a refusal is a RateLimitedError with scope, limit, window, count and retryAfterS', async () => {
  for (const mode of ['best_effort', 'strict_budget']) {
    const l = new Ledger(path.join(tmpDir(), 'l.db'), { mode, rateLimits: [{ scope: 'provider:openai', rpm: 2 }] });
    assert.deepEqual(l.rateLimits, [{ scope: 'provider:openai', rpm: 2 }]);
    await (await l.reserve(args('a'))).cancel();
    await (await l.reserve(args('b'))).cancel();
    await assert.rejects(l.reserve(args('c')), (e) => {
      assert.ok(e instanceof RateLimitedError);
      assert.equal(e.code, ErrorCodes.RATE_LIMITED);
      assert.deepEqual([e.scope, e.limit, e.windowS, e.current, e.maximum, e.requested], ['provider:openai', 'rpm', 60, 2, 2, 1]);
      assert.ok(e.retryAfterS > 59 && e.retryAfterS <= 61, String(e.retryAfterS));
      return true;
    });
    await (await l.reserve({ ...args('d'), provider: 'anthropic' })).cancel();
    assert.equal(l.health().rateLimited, 1);
    await l.close();
  }
});

test('R1 tpm counts the token estimate and the commit corrects it; limits change on an open ledger', async () => {
  const l = new Ledger(path.join(tmpDir(), 'l.db'), { rateLimits: [{ scope: 'all', tpm: 1000 }] });
  const h = await l.reserve(args('a', { inputTokens: 100, maxTokens: 800 }));
  await assert.rejects(l.reserve(args('b', { estimateTokens: 200 })), (e) => e.code === ErrorCodes.RATE_LIMITED && e.limit === 'tpm');
  await h.commit({ usage: { prompt_tokens: 100, completion_tokens: 50 }, costActualUsd: 0.01, sync: true });
  await (await l.reserve(args('b', { estimateTokens: 850 }))).cancel();
  await assert.rejects(l.reserve(args('c', { maxTokens: -1 })), (e) => e.code === ErrorCodes.INVALID_ARGUMENT && /maxTokens/.test(e.message));
  assert.throws(() => l.setRateLimits([{ scope: 'everywhere', rpm: 1 }]), (e) => e.code === ErrorCodes.INVALID_ARGUMENT && /scope/.test(e.message));
  l.setRateLimits([]);
  assert.deepEqual(l.rateLimits, []);
  await l.close();
  assert.throws(() => new Ledger(path.join(tmpDir(), 'x.db'), { rateLimits: [{ scope: 'all', rpm: 0 }] }), (e) => e.code === ErrorCodes.INVALID_ARGUMENT);
});

test('R2 with waitOnRateLimit a reservation waits on the pool while the event loop keeps ticking', async () => {
  const db = path.join(tmpDir(), 'l.db');
  const l = new Ledger(db, { rateLimits: [{ scope: 'all', rpm: 1 }], waitOnRateLimit: true, maxWaitTimeoutS: 5, retryBudgetS: 5 });
  await (await l.reserve(args('a'))).cancel();
  await l.flush();
  // Age the slot to ~59 s instead of waiting a minute.
  sql(db, 'UPDATE rate_usage SET bucket = bucket - 59000 WHERE grain_ms = 1000');
  let ticks = 0;
  const timer = setInterval(() => ticks++, 20);
  const started = Date.now();
  const h = await l.reserve(args('b'));
  const waited = Date.now() - started;
  clearInterval(timer);
  await h.cancel();
  await l.flush();
  assert.ok(waited > 500 && waited < 5000, `waited ${waited} ms`);
  assert.ok(ticks >= 10, `the loop ticked ${ticks} times during a ${waited} ms wait`);
  const rows = sql(db, "SELECT event_type, status FROM events WHERE event_type LIKE 'rate_limit_%' ORDER BY seq");
  assert.deepEqual(rows, [['rate_limit_wait', 'rpm:all'], ['rate_limit_retry', 'rpm:all']]);
  assert.equal(l.health().rateLimitWaits, 1);
  await l.close();
});
