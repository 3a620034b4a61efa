'use strict';
// The budget ledger from Node (L1-L12; docs/ledger.md): each test fails on
// the seed ledger's behaviour (issue 5, item 5).

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { Ledger, Hold, BudgetExceededError, ErrorCodes, Prices } = require('..');
const { tmpDir } = require('./helpers');
const sdk = require('./fixtures/sdk');

const root = path.join(__dirname, '..');

function dbPath(t) {
  return path.join(tmpDir(t), 'ledger.db');
}

function commit(traceId, usd, extra = {}) {
  return { eventType: 'commit', traceId, provider: 'openai', model: 'gpt-4o', costActualUsd: usd, ...extra };
}

// Nothing reaches the database before close/flush unless asked.
const QUEUED = { batchSize: 100000, flushIntervalMs: 600000 };

async function reopenSpend(db, options = {}) {
  const l = new Ledger(db, options);
  try {
    return [await l.spendToday(), await l.reservedToday()];
  } finally {
    await l.close();
  }
}

test('L4 close after 500 queued events persists all 500', async (t) => {
  const db = dbPath(t);
  const l = new Ledger(db, QUEUED);
  for (let i = 0; i < 500; i++) l.writeEvent(commit(`t${i}`, 0.001));
  assert.equal(l.health().queueDepth, 500);
  assert.equal(l.health().eventsWritten, 0);
  await l.close();
  const h = l.health();
  assert.equal(h.eventsWritten, 500);
  assert.equal(h.queueDepth, 0);
  assert.equal(h.closed, true);
  assert.deepEqual(await reopenSpend(db), [0.5, 0]);
});

test('L5 an invalid event is refused naming the field; its neighbours persist', async (t) => {
  const db = dbPath(t);
  const l = new Ledger(db, QUEUED);
  l.writeEvent(commit('a', 0.1));
  const bad = [
    [commit('b', 0.1, { usage: { tokensIn: -5 } }), /usage\.tokensIn/],
    [commit('b', -0.1), /costActualUsd/],
    [commit('b', 0.1, { costEstUsd: 'lots' }), /costEstUsd/],
    [commit('b', 0.1, { eventType: 'refund' }), /eventType/],
    [commit('b', 0.1, { traceId: undefined }), /traceId/],
    [commit('b', 0.1, { model: '' }), /model/],
    [commit('b', 0.1, { status: 'meh' }), /status/],
    [commit('b', 0.1, { timestamp: Date.now() }), /timestamp/],
    [commit('b', 0.1, { costUsd: 1 }), /costUsd/],
    ['commit', /event must be an object/],
  ];
  for (const [ev, field] of bad) {
    assert.throws(
      () => l.writeEvent(ev),
      (e) => e instanceof TypeError && e.code === ErrorCodes.INVALID_ARGUMENT && field.test(e.message),
    );
    await assert.rejects(l.writeEventAsync(ev, { sync: true }), (e) => e instanceof TypeError && field.test(e.message));
  }
  l.writeEvent(commit('c', 0.2, { timestamp: new Date() }));
  assert.equal(await l.spendToday(), 0.3);
  await l.close();
  assert.equal(l.health().eventsWritten, 2);
  assert.equal(l.health().rejected, 0);
  assert.deepEqual(await reopenSpend(db), [0.3, 0]);
});

test('L6 hold 0.10 then commit 0.04: spend 0.04, reserved 0; a cancelled hold spends 0', async (t) => {
  const db = dbPath(t);
  const l = new Ledger(db, QUEUED);
  const hold = await l.reserve({ traceId: 'req-1', provider: 'openai', model: 'gpt-4o', estimateUsd: 0.1 });
  assert.ok(hold instanceof Hold);
  assert.equal(hold.amountUsd, 0.1);
  assert.ok(hold.expiresAt instanceof Date && hold.expiresAt.getTime() > Date.now());
  assert.equal(hold.settled, false);
  assert.deepEqual([await l.spendToday(), await l.reservedToday()], [0, 0.1]);
  await hold.commit({ usage: { tokensIn: 1200, tokensOut: 300 }, costActualUsd: 0.04 });
  assert.equal(hold.settled, true);
  assert.deepEqual([await l.spendToday(), await l.reservedToday()], [0.04, 0]);
  assert.equal(await l.spendToday('provider:openai'), 0.04);
  assert.equal(await l.spendToday('model:gpt-4o'), 0.04);
  assert.equal(await l.spendToday('model:other'), 0);

  const h2 = await l.reserve({ traceId: 'req-2', provider: 'openai', model: 'gpt-4o', estimateUsd: 0.25, profileId: 'u1' });
  assert.equal(await l.reservedToday('all', 'u1'), 0.25);
  await h2.cancel();
  assert.deepEqual([await l.spendToday(), await l.reservedToday()], [0.04, 0]);
  // A hold settles once.
  for (const again of [() => h2.cancel(), () => h2.commit({ costActualUsd: 1 }), () => hold.commit()]) {
    await assert.rejects(again(), (e) => e instanceof TypeError && e.code === ErrorCodes.INVALID_ARGUMENT && /settled/.test(e.message));
  }
  // A refused settle leaves the hold open.
  const h3 = await l.reserve({ traceId: 'req-3', provider: 'openai', model: 'gpt-4o', estimateUsd: 0.05 });
  await assert.rejects(h3.commit({ usage: { tokensIn: -1 } }), /usage\.tokensIn/);
  assert.equal(h3.settled, false);
  await h3.cancel({ sync: true });
  await l.close();
  assert.deepEqual(await reopenSpend(db), [0.04, 0]);
});

test('L7 budget block at 0.9 + 0.2 > 1.0; equality passes', async (t) => {
  for (const mode of ['best_effort', 'strict_budget']) {
    const l = new Ledger(dbPath(t), { mode, dailyBudgetUsd: 1.0 });
    l.writeEvent(commit('spent', 0.9));
    const err = await l.reserve({ traceId: 'r', provider: 'openai', model: 'gpt-4o', estimateUsd: 0.2 }).then(
      () => assert.fail(`${mode}: 0.9 + 0.2 passed a 1.0 budget`),
      (e) => e,
    );
    assert.ok(err instanceof BudgetExceededError && err instanceof Error, mode);
    assert.equal(err.code, ErrorCodes.BUDGET_EXCEEDED);
    assert.equal(err.name, 'BudgetExceededError');
    assert.deepEqual(
      { scope: err.scope, window: err.window, limit: err.limit, spent: err.spent, reserved: err.reserved, requested: err.requested },
      { scope: 'all', window: 'day', limit: 1, spent: 0.9, reserved: 0, requested: 0.2 },
    );
    assert.ok(err.resetAt instanceof Date && err.resetAt.getTime() > Date.now(), mode);
    assert.ok(err.resetAt.getTime() - Date.now() <= 86400000, mode);
    assert.equal(await l.reservedToday(), 0, `${mode}: a refused hold reserves nothing`);
    // Exactly reaching the limit is allowed.
    const h = await l.reserve({ traceId: 'r', provider: 'openai', model: 'gpt-4o', estimateUsd: 0.1 });
    assert.equal(await l.reservedToday(), 0.1);
    // ... and a precheck_hold event through writeEvent is checked the same way.
    assert.throws(
      () => l.writeEvent({ eventType: 'precheck_hold', traceId: 'w', provider: 'openai', model: 'gpt-4o', costEstUsd: 0.01 }),
      (e) => e instanceof BudgetExceededError && e.requested === 0.01 && e.reserved === 0.1,
    );
    await h.commit({ costActualUsd: 0.1 });
    assert.equal(await l.spendToday(), 1);
    await l.close();
  }
});

test('L7 strict mode: the precheck sees a commit still queued', async (t) => {
  const db = dbPath(t);
  const l = new Ledger(db, { mode: 'strict_budget', dailyBudgetUsd: 1.0, ...QUEUED });
  assert.equal(l.mode, 'strict_budget');
  const h = await l.reserve({ traceId: 'a', provider: 'openai', model: 'gpt-4o', estimateUsd: 0.5 });
  await h.commit({ costActualUsd: 0.9 }); // queued: the writer flushes only on demand
  assert.equal(l.health().queueDepth, 1);
  await assert.rejects(
    l.reserve({ traceId: 'b', provider: 'openai', model: 'gpt-4o', estimateUsd: 0.2 }),
    (e) => e instanceof BudgetExceededError && e.spent === 0.9 && e.reserved === 0,
  );
  assert.equal(l.health().queueDepth, 0);
  const ok = await l.reserve({ traceId: 'c', provider: 'openai', model: 'gpt-4o', estimateUsd: 0.1 });
  assert.equal(await l.reservedToday(), 0.1);
  await ok.cancel();
  await l.close();
});

test('L7 strict mode: concurrent reserves never exceed the budget and use it up to within one request', async (t) => {
  const l = new Ledger(dbPath(t), { mode: 'strict_budget', dailyBudgetUsd: 1.0 });
  const each = 0.07;
  const results = await Promise.allSettled(
    Array.from({ length: 30 }, (_, i) => l.reserve({ traceId: `t${i}`, provider: 'openai', model: 'gpt-4o', estimateUsd: each })),
  );
  const held = results.filter((r) => r.status === 'fulfilled').map((r) => r.value);
  const refused = results.filter((r) => r.status === 'rejected');
  for (const r of refused) assert.ok(r.reason instanceof BudgetExceededError, String(r.reason));
  assert.equal(held.length, Math.floor(1.0 / each)); // 14 x 0.07 = 0.98
  const reserved = await l.reservedToday();
  assert.ok(reserved <= 1.0 && 1.0 - reserved < each, `reserved ${reserved}`);
  // Settled at the estimate, the day's spend is the same amount.
  await Promise.all(held.map((h) => h.commit({ costActualUsd: each })));
  const spent = await l.spendToday();
  assert.ok(Math.abs(spent - held.length * each) < 1e-9, `spent ${spent}`);
  assert.equal(await l.reservedToday(), 0);
  await l.close();
});

test('L3 writeEventAsync({sync: true}) resolves only after commit: kill -9 right after it loses nothing', (t) => {
  const db = dbPath(t);
  const child = (sync) => `
    const { Ledger } = require(${JSON.stringify(root)});
    const l = new Ledger(${JSON.stringify(db)}, { batchSize: 100000, flushIntervalMs: 600000 });
    const ev = (id, usd) => ({ eventType: 'commit', traceId: id, provider: 'openai', model: 'gpt-4o', costActualUsd: usd });
    l.writeEvent(ev('queued-${sync}', 0.2));
    l.writeEventAsync(ev('last-${sync}', 0.3), { sync: ${sync} }).then(() => process.kill(process.pid, 'SIGKILL'));
  `;
  // Without sync the kill loses the queue (the loss window of best effort)...
  let r = spawnSync(process.execPath, ['-e', child(false)], { encoding: 'utf8' });
  assert.equal(r.signal, 'SIGKILL', r.stderr);
  // ... with sync it loses nothing acknowledged, nor what was queued before.
  r = spawnSync(process.execPath, ['-e', child(true)], { encoding: 'utf8' });
  assert.equal(r.signal, 'SIGKILL', r.stderr);
  return reopenSpend(db).then((s) => assert.deepEqual(s, [0.5, 0]));
});

test('seed port: day spend 0 -> 0.5 -> 0.8, and a restart keeps it', async (t) => {
  const db = dbPath(t);
  const l = new Ledger(db);
  assert.equal(await l.spendToday(), 0);
  await l.writeEventAsync(commit('a', 0.5));
  assert.equal(await l.spendToday(), 0.5);
  l.writeEvent(commit('b', 0.3, { provider: 'anthropic', model: 'claude' }));
  assert.equal(await l.spendToday(), 0.8);
  assert.equal(await l.spendToday('provider:anthropic'), 0.3);
  // An adjust corrects spend (a refund may be negative).
  l.writeEvent({ eventType: 'adjust', traceId: 'b', costActualUsd: -0.1 });
  assert.equal(await l.spendToday(), 0.7);
  // The same id twice counts once.
  await l.writeEventAsync(commit('d', 0.1, { id: 'fixed-id' }), { sync: true });
  await l.writeEventAsync(commit('d', 0.1, { id: 'fixed-id' }), { sync: true });
  await l.flush();
  await l.close();
  assert.deepEqual(await reopenSpend(db), [0.8, 0]);
  assert.deepEqual(await reopenSpend(db, { mode: 'strict_budget' }), [0.8, 0]);
});

test('L12 prices (an object in LiteLLM format) price a commit from camelCase usage', async (t) => {
  const prices = {
    sample_spec: { input_cost_per_token: 0 },
    'gpt-4o': { input_cost_per_token: 2.5e-6, output_cost_per_token: 1e-5, litellm_provider: 'openai' },
  };
  const l = new Ledger(dbPath(t), { prices });
  const h = await l.reserve({ traceId: 'p', provider: 'openai', model: 'gpt-4o', estimateUsd: 0.5 });
  await h.commit({ usage: { tokensIn: 1000, tokensOut: 100 } });
  assert.ok(Math.abs((await l.spendToday()) - 0.0035) < 1e-12);
  // An unknown model counts its estimate, never $0.
  const u = await l.reserve({ traceId: 'u', provider: 'x', model: 'unknown', estimateUsd: 0.2 });
  await u.commit({ usage: { tokensIn: 1000 } });
  assert.ok(Math.abs((await l.spendToday()) - 0.2035) < 1e-12);
  await l.close();
  assert.throws(() => new Ledger(dbPath(t), { prices: 42 }), (e) => e instanceof TypeError && /prices/.test(e.message));
  assert.throws(() => new Ledger(dbPath(t), { prices: path.join(tmpDir(t), 'missing.json') }), /missing\.json/);
});

test('X1 arguments, options and closed ledgers fail with stable codes', async (t) => {
  const bad = (f, re) => assert.throws(f, (e) => e instanceof TypeError && e.code === ErrorCodes.INVALID_ARGUMENT && re.test(e.message));
  bad(() => new Ledger(''), /path/);
  bad(() => new Ledger(dbPath(t), { budget: 1 }), /budget/);
  bad(() => new Ledger(dbPath(t), { mode: 'yolo' }), /mode/);
  bad(() => new Ledger(dbPath(t), { timezone: 'Mars/Olympus' }), /timezone|Mars/);
  bad(() => new Ledger(dbPath(t), { dailyBudgetUsd: NaN }), /dailyBudgetUsd/);
  const l = new Ledger(dbPath(t), { timezone: 'Asia/Tokyo' });
  await assert.rejects(l.spendToday('planet:mars'), (e) => e instanceof TypeError && /scope/.test(e.message));
  await assert.rejects(l.spendToday('all', 7), /profileId/);
  await assert.rejects(l.reserve({ traceId: 't', provider: 'p', model: 'm', estimateUsd: -1 }), /estimateUsd/);
  await assert.rejects(l.reserve({ traceId: '', provider: 'p', model: 'm', estimateUsd: 1 }), /traceId/);
  await assert.rejects(l.reserve(), /argument must be an object/);
  await assert.rejects(l.writeEventAsync(commit('a', 1), { sync: 'yes' }), /sync/);
  const h = await l.reserve({ traceId: 't', provider: 'p', model: 'm', estimateUsd: 1 });
  const closing = l.close();
  assert.equal(l.close(), closing, 'closing twice is fine');
  await closing;
  const closed = (e) => e.code === ErrorCodes.CLOSED;
  assert.throws(() => l.writeEvent(commit('a', 1)), closed);
  await assert.rejects(l.writeEventAsync(commit('a', 1)), closed);
  await assert.rejects(l.reserve({ traceId: 't', provider: 'p', model: 'm', estimateUsd: 1 }), closed);
  await assert.rejects(l.spendToday(), closed);
  await assert.rejects(l.flush(), closed);
  await assert.rejects(h.commit(), closed);
  assert.equal(h.settled, false);
  assert.equal(l.health().closed, true);
});

test('the event loop keeps ticking while close drains a large queue', async (t) => {
  const l = new Ledger(dbPath(t), QUEUED);
  for (let i = 0; i < 20000; i++) l.writeEvent(commit(`t${i}`, 0.0001));
  let ticks = 0;
  let last = performance.now();
  let maxGap = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
    ticks++;
  }, 1);
  const start = performance.now();
  await l.close();
  const took = performance.now() - start;
  clearInterval(timer);
  assert.equal(l.health().eventsWritten, 20000);
  // A close on the JS thread would allow no tick at all while it runs.
  assert.ok(ticks >= 2, `${ticks} ticks during a ${took.toFixed(1)} ms close`);
  assert.ok(maxGap < Math.max(100, took / 2), `the loop stalled ${maxGap.toFixed(1)} ms of a ${took.toFixed(1)} ms close`);
});

test('docs/node.md: the Ledger example runs as written, twice', (t) => {
  const doc = require('node:fs').readFileSync(path.join(root, '..', 'docs', 'node.md'), 'utf8');
  const section = doc.slice(doc.indexOf('\n## Ledger\n'));
  const block = section.slice(section.indexOf('```js\n') + 6, section.indexOf('\n```\n'));
  assert.match(block, /from 'usagebook'/);
  const dir = tmpDir(t);
  const file = path.join(dir, 'example.mjs');
  require('node:fs').writeFileSync(file, block.replace("from 'usagebook'", `from ${JSON.stringify(path.join(root, 'index.mjs'))}`));
  const run = () => {
    const r = spawnSync(process.execPath, [file], { cwd: dir, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim().split('\n').pop();
  };
  assert.equal(run(), 'spent today $0.0400, reserved $0.0000');
  assert.equal(run(), 'spent today $0.0800, reserved $0.0000');
});

// ---- U2/U4/L12: SDK usage priced at the bundled LiteLLM prices (issue 9) ----

const near = (got, want, what) => assert.ok(Math.abs(got - want) < 1e-12, `${what}: ${got} != ${want}`);
const refused = (re) => (e) => e instanceof TypeError && e.code === ErrorCodes.INVALID_ARGUMENT && re.test(e.message);

test('L12 U2 strict budget, bundled prices: OpenAI Chat, Responses, Anthropic and Gemini usage JSON record their cost; the reserve that would pass the budget is refused', async (t) => {
  const l = new Ledger(dbPath(t), { mode: 'strict_budget', dailyBudgetUsd: 0.04 });
  const calls = [
    ['openai', 'gpt-4o', sdk.openaiChat.usage, 0.00725],
    ['openai', 'gpt-4o', sdk.openaiResponse.usage, 0.00725],
    // input_tokens 200 + 1000 read + 5000 written, each at its own price.
    ['anthropic', 'claude-sonnet-4-5', sdk.anthropicMessage.usage, 0.0204],
    ['gemini', 'gemini-2.5-flash', sdk.geminiResponse.usageMetadata, 0.001502],
  ];
  let spent = 0;
  for (const [i, [provider, model, usage, usd]] of calls.entries()) {
    const h = await l.reserve({ traceId: `call-${i}`, provider, model, estimateUsd: 0.001 });
    await h.commit({ usage, sync: i % 2 === 1 });
    spent += usd;
    near(await l.spendToday(), spent, `after ${model}`);
    near(await l.spendToday(`model:${model}`), calls.filter((c, j) => j <= i && c[1] === model).reduce((s, c) => s + c[3], 0), model);
  }
  near(spent, 0.036402, 'total');
  assert.equal(await l.reservedToday(), 0);
  // 0.036402 + 0.004 > 0.04: refused, nothing reserved ...
  const err = await l.reserve({ traceId: 'next', provider: 'openai', model: 'gpt-4o', estimateUsd: 0.004 }).then(
    () => assert.fail('the reserve passed the budget'),
    (e) => e,
  );
  assert.ok(err instanceof BudgetExceededError);
  near(err.spent, 0.036402, 'BudgetExceededError.spent');
  assert.equal(err.limit, 0.04);
  assert.equal(await l.reservedToday(), 0);
  // ... and one that fits is held.
  const fits = await l.reserve({ traceId: 'fits', provider: 'openai', model: 'gpt-4o', estimateUsd: 0.0035 });
  await fits.cancel();
  assert.equal(l.health().unpricedCommits, 0);
  await l.close();
});

test('L12 U2 whole responses and Bedrock usage as commit usage; a response names the model of an event that has none', async (t) => {
  const db = dbPath(t);
  const l = new Ledger(db);
  const h = await l.reserve({ traceId: 'chat', provider: 'openai', model: 'gpt-4o', estimateUsd: 0.5 });
  await h.commit({ usage: sdk.openaiChat });
  near(await l.spendToday(), 0.00725, 'ChatCompletion');
  const m = await l.reserve({ traceId: 'msg', provider: 'anthropic', model: 'claude-sonnet-4-5-20250929', estimateUsd: 0.5 });
  await m.commit({ usage: sdk.anthropicMessage, sync: true });
  near(await l.spendToday('provider:anthropic'), 0.0204, 'Message');
  const b = await l.reserve({ traceId: 'br', provider: 'bedrock_converse', model: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0', estimateUsd: 0.5 });
  await b.commit({ usage: sdk.bedrockConverse.usage });
  near(await l.spendToday('provider:bedrock_converse'), 0.0080025, 'Bedrock');
  // writeEvent without a model: the response's model is recorded and priced.
  l.writeEvent({ eventType: 'commit', traceId: 'resp', provider: 'openai', usage: sdk.openaiResponse });
  near(await l.spendToday('model:gpt-4o-2024-08-06'), 0.00725, 'model from the response');
  // The ledger's own camelCase names keep working.
  l.writeEvent({ eventType: 'commit', traceId: 'legacy', provider: 'openai', model: 'gpt-4o-mini', usage: { tokensIn: 1200, tokensOut: 300 } });
  near(await l.spendToday('model:gpt-4o-mini'), 0.00036, 'tokensIn/tokensOut');
  await l.close();
  const [spend] = await reopenSpend(db);
  near(spend, 0.00725 + 0.0204 + 0.0080025 + 0.00725 + 0.00036, 'after a restart');
});

test('L5 U2 a commit whose usage has no token field usagebook recognises is refused naming its keys; the hold stays open', async (t) => {
  for (const mode of ['best_effort', 'strict_budget']) {
    const l = new Ledger(dbPath(t), { mode });
    const h = await l.reserve({ traceId: 'x', provider: 'openai', model: 'gpt-4o', estimateUsd: 0.1 });
    for (const sync of [false, true]) {
      await assert.rejects(h.commit({ usage: { tokens: 1500, cost: 0.01 }, sync }), refused(/hold\.commit: .*keys: tokens, cost/));
      assert.equal(h.settled, false, `${mode} sync=${sync}`);
    }
    await assert.rejects(h.commit({ usage: 'lots' }), refused(/usage must be an object/));
    await assert.rejects(h.commit({ usage: { prompt_tokens: NaN } }), refused(/prompt_tokens/));
    assert.throws(() => l.writeEvent(commit('w', undefined, { usage: { foo: 1 } })), refused(/keys: foo/));
    assert.equal(await l.reservedToday(), 0.1);
    await h.commit({ usage: sdk.openaiChat.usage });
    near(await l.spendToday(), 0.00725, mode);
    await l.close();
  }
});

test('L12 strict mode refuses a commit on an unpriced model without an estimate unless allowUnpriced; health counts unpriced commits', async (t) => {
  const usage = { prompt_tokens: 1000, completion_tokens: 500, total_tokens: 1500 };
  const strict = new Ledger(dbPath(t), { mode: 'strict_budget', dailyBudgetUsd: 1 });
  const h = await strict.reserve({ traceId: 'u', provider: 'acme', model: 'acme-llm-unreleased', estimateUsd: 0 });
  for (const sync of [false, true]) {
    await assert.rejects(h.commit({ usage, sync }), refused(/no price.*allowUnpriced/));
    assert.equal(h.settled, false);
  }
  // With an estimate it settles at the estimate, flagged.
  const e = await strict.reserve({ traceId: 'e', provider: 'acme', model: 'acme-llm-unreleased', estimateUsd: 0.02 });
  await e.commit({ usage });
  near(await strict.spendToday(), 0.02, 'settled at the estimate');
  let health = strict.health();
  assert.equal(health.unpricedCommits, 1);
  near(health.unpricedSpendUsd, 0.02, 'unpricedSpendUsd');
  await h.cancel();
  await strict.close();

  const allowed = new Ledger(dbPath(t), { mode: 'strict_budget', dailyBudgetUsd: 1, allowUnpriced: true });
  const a = await allowed.reserve({ traceId: 'a', provider: 'acme', model: 'acme-llm-unreleased', estimateUsd: 0 });
  await a.commit({ usage, sync: true });
  assert.equal(a.settled, true);
  assert.equal(await allowed.spendToday(), 0);
  health = allowed.health();
  assert.deepEqual([health.unpricedCommits, health.unpricedSpendUsd], [1, 0]);
  await allowed.close();

  // Best effort never refuses it (counts $0, flagged).
  const be = new Ledger(dbPath(t));
  be.writeEvent({ eventType: 'commit', traceId: 'b', provider: 'acme', model: 'acme-llm-unreleased', usage });
  assert.equal(be.health().unpricedCommits, 1);
  await be.close();
  assert.throws(() => new Ledger(dbPath(t), { allowUnpriced: 'yes' }), refused(/allowUnpriced/));
});

test('L12 prices given to the ledger overlay the bundled map (an object, a file, a Prices)', async (t) => {
  const table = { 'acme-1': { input_cost_per_token: 1e-6, output_cost_per_token: 4e-6, litellm_provider: 'acme' } };
  const file = path.join(tmpDir(t), 'prices.json');
  require('node:fs').writeFileSync(file, JSON.stringify(table));
  for (const prices of [table, file, new Prices(table)]) {
    const l = new Ledger(dbPath(t), { mode: 'strict_budget', prices });
    l.writeEvent({ eventType: 'commit', traceId: 'a', provider: 'acme', model: 'acme-1', usage: { prompt_tokens: 1000, completion_tokens: 100 } });
    l.writeEvent({ eventType: 'commit', traceId: 'b', provider: 'openai', model: 'gpt-4o', usage: sdk.openaiChat.usage });
    near(await l.spendToday(), 0.0014 + 0.00725, typeof prices);
    assert.equal(l.health().unpricedCommits, 0);
    await l.close();
  }
});
