'use strict';
// O1 and O2 from Node: metricsText() of trackers and the ledger, and
// usagebook/otel recording GenAI metrics through the host's SDK
// (@opentelemetry/sdk-metrics), asserted against the trackers' and the
// ledger's own totals, in one process and in two sharing one ledger.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const { MeterProvider, MetricReader } = require('@opentelemetry/sdk-metrics');
const { InMemoryLlmUsageTracker, FileBackedLlmUsageTracker, Ledger } = require('..');
const otel = require('../otel');
const { tmpDir } = require('./helpers');

const root = path.join(__dirname, '..');

class Reader extends MetricReader {
  async onForceFlush() {}
  async onShutdown() {}
}

// name -> JSON of the sorted attributes -> value (a histogram's {count, sum}).
async function points(reader) {
  await new Promise(setImmediate); // records reach JS on the next turn
  const { resourceMetrics } = await reader.collect();
  const out = {};
  for (const sm of resourceMetrics.scopeMetrics) {
    assert.equal(sm.scope.name, 'usagebook');
    for (const m of sm.metrics) {
      for (const p of m.dataPoints) {
        const key = JSON.stringify(Object.keys(p.attributes).sort().map((k) => [k, p.attributes[k]]));
        (out[m.descriptor.name] ||= {})[key] = typeof p.value === 'number' ? p.value : { count: p.value.count, sum: p.value.sum };
      }
    }
  }
  return out;
}

function key(attrs) {
  return JSON.stringify(Object.keys(attrs).sort().map((k) => [k, attrs[k]]));
}

function value(text, series) {
  const hits = text.split('\n').filter((l) => l.startsWith(series + ' ')).map((l) => Number(l.slice(series.length + 1)));
  assert.equal(hits.length, 1, `${series} in\n${text}`);
  return hits[0];
}

function promtoolCheck(text) {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (r.error) {
    assert.ok(!process.env.USAGEBOOK_REQUIRE_TOOLS, 'promtool is required here');
    return;
  }
  assert.equal(r.status, 0, r.stdout + r.stderr + text);
}

test('O1: metricsText of a tracker and a ledger shows their totals', async (t) => {
  const dir = tmpDir(t);
  const tr = new FileBackedLlmUsageTracker(dir);
  tr.trackUsage({ bridgeId: 'openai/gpt-4o', usage: { promptTokens: 100, completionTokens: 20, totalTokens: 120 } });
  tr.trackUsage({ bridgeId: 'openai/gpt-4o', usage: { promptTokens: 5, completionTokens: 1, totalTokens: 6 }, status: 'error' });
  const text = await tr.metricsText();
  promtoolCheck(text);
  const s = tr.getUsageStats('openai/gpt-4o');
  const b = 'bridge="openai/gpt-4o"';
  assert.equal(value(text, `usagebook_tracker_requests_total{${b}}`), s.totalRequests);
  assert.equal(value(text, `usagebook_tracker_errors_total{${b}}`), 1);
  assert.equal(value(text, `usagebook_tracker_tokens_total{${b},type="input"}`), 105);
  await tr.close();
  await assert.rejects(tr.metricsText(), (e) => e.code === 'USAGEBOOK_CLOSED');

  const l = new Ledger(path.join(dir, 'l.db'), { dailyBudgetUsd: 2 });
  l.writeEvent({ eventType: 'commit', traceId: 'a', provider: 'openai', model: 'gpt-4o', usage: { input: 10, output: 5 }, costActualUsd: 0.25 });
  await l.flush();
  const lt = await l.metricsText();
  promtoolCheck(lt);
  const m = 'provider="openai",model="gpt-4o"';
  assert.equal(value(lt, `usagebook_ledger_spend_usd_total{${m}}`), 0.25);
  assert.equal(value(lt, 'usagebook_ledger_budget_remaining_usd{scope="all"}'), 1.75);
  await l.close();
});

test('O2: GenAI metrics of tracker calls and ledger commits, then uninstrument', async (t) => {
  const reader = new Reader();
  const provider = new MeterProvider({ readers: [reader] });
  otel.instrument({ meterProvider: provider, inferenceUsageCounters: true });
  t.after(() => otel.uninstrument());
  assert.ok(otel.isInstrumented());
  const tr = new InMemoryLlmUsageTracker();
  // Anthropic's shape (slow path) and T1 (the fast path's batch).
  tr.trackUsage({ bridgeId: 'anthropic/claude-sonnet-4-5', usage: { input_tokens: 100, output_tokens: 30, cache_read_input_tokens: 900 } });
  tr.trackUsage({ bridgeId: 'anthropic/claude-sonnet-4-5', usage: { promptTokens: 7, completionTokens: 3, totalTokens: 10 } });
  const stats = tr.getUsageStats();
  const l = new Ledger(path.join(tmpDir(t), 'l.db'));
  l.writeEvent({ eventType: 'commit', traceId: 'a', provider: 'openai', model: 'gpt-4o', usage: { prompt_tokens: 1000, completion_tokens: 200, completion_tokens_details: { reasoning_tokens: 50 } } });
  l.writeEvent({ eventType: 'commit', traceId: 'b', provider: 'openai', model: 'gpt-4o', usage: { input: 10, output: 1 }, costActualUsd: 0.5, status: 'error' });
  const spent = await l.spendToday();
  await l.close();
  const got = await points(reader);

  const hist = got['gen_ai.client.token.usage'];
  const claude = { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'anthropic', 'gen_ai.request.model': 'claude-sonnet-4-5', 'usagebook.bridge': 'anthropic/claude-sonnet-4-5' };
  assert.deepEqual(hist[key({ ...claude, 'gen_ai.token.type': 'input' })], { count: 2, sum: stats.promptTokens });
  assert.equal(stats.promptTokens, 1007);
  assert.deepEqual(hist[key({ ...claude, 'gen_ai.token.type': 'output' })], { count: 2, sum: 33 });
  const gpt = { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o' };
  assert.deepEqual(hist[key({ ...gpt, 'gen_ai.token.type': 'input' })], { count: 1, sum: 1000 });
  assert.deepEqual(hist[key({ ...gpt, 'error.type': '_OTHER', 'gen_ai.token.type': 'output' })], { count: 1, sum: 1 });
  assert.equal(got['gen_ai.client.inference.usage.reasoning.output_tokens'][key({ ...gpt, 'gen_ai.token.modality': 'unknown' })], 50);
  assert.equal(got['gen_ai.client.inference.usage.cache_read.input_tokens'][key({ ...claude, 'gen_ai.token.modality': 'unknown' })], 900);
  const cost = got['usagebook.client.cost'];
  const total = Object.values(cost).reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(total - spent) < 1e-9, `${total} vs ${spent}`);
  const local = cost[key({ ...gpt, 'gen_ai.usage.cost.currency': 'USD', 'gen_ai.usage.cost.source': 'local', 'usagebook.priced': true })];
  assert.ok(local > 0 && Math.abs(local - (spent - 0.5)) < 1e-9, `${local}`);

  otel.uninstrument();
  tr.trackUsage({ bridgeId: 'x', usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 } });
  tr.getUsageStats();
  const after = await points(reader);
  assert.equal(Object.keys(after['gen_ai.client.token.usage']).some((k) => k.includes('"x"')), false);
  assert.throws(() => otel.instrument({ sources: ['nope'] }), TypeError);
});

test('O1, O2: two processes on one ledger: own increments in OTel, true totals in the exposition', async (t) => {
  const db = path.join(tmpDir(t), 'shared.db');
  const worker = path.join(__dirname, 'fixtures', 'otel-worker.js');
  const runs = [['a', 3], ['b', 5]].map(([name, n]) => {
    const p = spawn(process.execPath, [worker, db, name, String(n)], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    return { p, done: new Promise((resolve) => p.on('close', (code) => resolve([code, out]))) };
  });
  const m = 'provider="openai",model="gpt-4o"';
  const deadline = Date.now() + 60000;
  for (;;) {
    if (fs.existsSync(db)) {
      const probe = new Ledger(db);
      const text = await probe.metricsText().catch(() => '');
      await probe.close();
      if (text.includes(`usagebook_ledger_requests_total{${m}} 8\n`)) break;
    }
    assert.ok(Date.now() < deadline, 'the workers did not write 8 commits');
    await new Promise((r) => setTimeout(r, 50));
  }
  for (const r of runs) r.p.stdin.write('\n');
  const outs = [];
  for (const r of runs) {
    const [code, out] = await r.done;
    assert.equal(code, 0, out);
    outs.push(JSON.parse(out));
  }
  assert.deepEqual(outs.map((o) => o.tokens), [300, 500]);
  assert.deepEqual(outs.map((o) => Math.round(o.cost * 1e9) / 1e9), [0.03, 0.05]);
  for (const o of outs) {
    assert.equal(value(o.text, `usagebook_ledger_requests_total{${m}}`), 8);
    assert.equal(value(o.text, `usagebook_ledger_tokens_total{${m},type="input"}`), 800);
    assert.ok(Math.abs(value(o.text, `usagebook_ledger_spend_usd_total{${m}}`) - 0.08) < 1e-9);
  }
});

test('docs/telemetry.md: the Node example runs as written', (t) => {
  const doc = fs.readFileSync(path.join(root, '..', 'docs', 'telemetry.md'), 'utf8');
  const blocks = [...doc.matchAll(/```js\n([\s\S]*?)```/g)].map((b) => b[1]);
  assert.ok(blocks.length > 0, 'no js block');
  const dir = tmpDir(t);
  for (const code of blocks) {
    const file = path.join(dir, 'example.js');
    fs.writeFileSync(file, code.replaceAll("require('usagebook/otel')", `require(${JSON.stringify(path.join(root, 'otel.js'))})`)
      .replaceAll("require('usagebook')", `require(${JSON.stringify(root)})`)
      .replaceAll("require('@opentelemetry/sdk-metrics')", `require(${JSON.stringify(require.resolve('@opentelemetry/sdk-metrics'))})`));
    const r = spawnSync(process.execPath, [file], { cwd: dir, encoding: 'utf8', timeout: 60000 });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /gen_ai\.client\.token\.usage/);
  }
});
