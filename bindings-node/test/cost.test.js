'use strict';
// U4: the price function on its own, `cost(model, usage, {provider,
// prices})`, and `Prices`. The shared cost vectors (tests/vectors/cost/*.json,
// also run by the Python and C bindings) first, then this binding's API.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { cost, Prices, ErrorCodes } = require('..');
const sdk = require('./fixtures/sdk');
const { tmpDir } = require('./helpers');

const root = path.join(__dirname, '..');
const vectorDir = path.join(root, '..', 'tests', 'vectors', 'cost');
const vectorFiles = fs.readdirSync(vectorDir).filter((f) => f.endsWith('.json')).sort();

const ERROR_CODES = { invalid_argument: ErrorCodes.INVALID_ARGUMENT };

function close(got, want, ctx) {
  assert.ok(Math.abs(got - want) <= 1e-15 + 1e-9 * Math.abs(want), `${ctx}: usd ${got} != ${want}`);
}

const isInvalid = (re) => (e) => e instanceof TypeError && e.code === ErrorCodes.INVALID_ARGUMENT && (!re || re.test(e.message));

test('U4 the cost vectors exist: at least 8 cases over every SDK shape', () => {
  const cases = vectorFiles.flatMap((f) => JSON.parse(fs.readFileSync(path.join(vectorDir, f), 'utf8')));
  assert.ok(cases.length >= 8, `${cases.length} cases`);
});

for (const file of vectorFiles) {
  const cases = JSON.parse(fs.readFileSync(path.join(vectorDir, file), 'utf8'));
  for (const [i, c] of cases.entries()) {
    // `todo`: a known gap (tests/vectors/README.md): run and reported, not failing.
    test(`U4 cost vector ${file}[${i}]: ${c.name}`, { todo: c.todo }, () => {
      const opts = c.provider === undefined || c.provider === null ? undefined : { provider: c.provider };
      const run = () => cost(c.model, c.usage, opts);
      if (c.expect.error) {
        assert.throws(run, (e) => e instanceof TypeError && e.code === ERROR_CODES[c.expect.error]);
        return;
      }
      const got = run();
      close(got.usd, c.expect.usd, c.name);
      assert.equal(got.priced, c.expect.priced, `${c.name}: priced`);
      if ('model' in c.expect) assert.equal(got.model, c.expect.model, `${c.name}: model`);
      // The line items add up to the total.
      const sum = got.items.reduce((s, it) => s + it.usd, 0);
      assert.ok(Math.abs(sum - got.usd) <= 1e-15 + 1e-12 * got.usd, `${c.name}: items sum ${sum} != ${got.usd}`);
    });
  }
}

test('U4 cost() of SDK responses: a whole response prices its own model; the result is camelCase', () => {
  const c = cost(null, sdk.openaiChat);
  close(c.usd, 0.00725, 'ChatCompletion');
  assert.deepEqual(Object.keys(c), ['usd', 'inputUsd', 'outputUsd', 'priced', 'model', 'items']);
  close(c.inputUsd, 0.00225, 'inputUsd');
  close(c.outputUsd, 0.005, 'outputUsd');
  assert.equal(c.priced, true);
  assert.equal(c.model, 'gpt-4o-2024-08-06');
  assert.deepEqual(
    c.items.map((i) => [i.price, i.units, i.unitUsd]),
    [
      ['input_cost_per_token', 800, 2.5e-6],
      ['cache_read_input_token_cost', 200, 1.25e-6],
      ['output_cost_per_token', 500, 1e-5],
    ],
  );
  for (const i of c.items) assert.deepEqual(Object.keys(i), ['price', 'units', 'unitUsd', 'usd']);
  // '' is "no model" too; a given model wins over the response's.
  close(cost('', sdk.openaiResponse).usd, 0.00725, 'Response');
  close(cost(undefined, sdk.openaiChat.usage ? sdk.openaiChat : {}, { provider: 'openai' }).usd, 0.00725, 'undefined model');
  close(cost('gpt-4o-mini', sdk.openaiChat).usd, 800 * 1.5e-7 + 200 * 7.5e-8 + 500 * 6e-7, 'model argument wins');
  close(cost(null, sdk.anthropicMessage).usd, 0.0204, 'Message');
  close(cost('claude-sonnet-4-5', sdk.anthropicMessage.usage, { provider: 'anthropic' }).usd, 0.0204, 'Message.usage');
  close(cost(null, sdk.geminiResponse, { provider: 'gemini' }).usd, 0.001502, 'Gemini');
  close(
    cost('us.anthropic.claude-sonnet-4-5-20250929-v1:0', sdk.bedrockConverse, { provider: 'bedrock_converse' }).usd,
    0.0080025,
    'Bedrock',
  );
  // A whole response without a model, and no model given.
  assert.throws(() => cost(null, { usage: sdk.openaiChat.usage }), isInvalid(/model/));
});

test('U4 prices: an object or a file in LiteLLM format overlays the bundled map; Prices parses once', (t) => {
  const table = { 'acme-1': { input_cost_per_token: 1e-6, output_cost_per_token: 4e-6, litellm_provider: 'acme' } };
  const usage = { prompt_tokens: 1000, completion_tokens: 100 };
  assert.deepEqual(cost('acme-1', usage), { usd: 0, inputUsd: 0, outputUsd: 0, priced: false, model: null, items: [] });
  close(cost('acme-1', usage, { prices: table }).usd, 0.0014, 'object');
  // The bundled models are still priced with a table given.
  close(cost('gpt-4o', sdk.openaiChat.usage, { prices: table }).usd, 0.00725, 'overlay keeps the snapshot');
  // ... and a table's model replaces the bundled one.
  close(cost('gpt-4o', usage, { prices: { 'gpt-4o': { input_cost_per_token: 1e-6 } } }).usd, 0.001, 'override');
  const file = path.join(tmpDir(t), 'prices.json');
  fs.writeFileSync(file, JSON.stringify(table));
  close(cost('acme-1', usage, { prices: file }).usd, 0.0014, 'path');
  const p = new Prices(table);
  assert.ok(p.size > 4000, `${p.size} models`);
  assert.equal(new Prices().size, p.size - 1);
  close(cost('acme-1', usage, { prices: p }).usd, 0.0014, 'Prices');
  close(cost('acme-1', usage, { prices: new Prices(file) }).usd, 0.0014, 'Prices(path)');
  assert.throws(() => new Prices(42), isInvalid(/prices/));
  assert.throws(() => new Prices(path.join(tmpDir(t), 'missing.json')), /missing\.json/);
  assert.throws(() => new Prices({ 'bad-model': { input_cost_per_token: -1 } }), isInvalid(/bad-model/));
});

test('U4 X1 bad arguments are TypeErrors naming what is wrong; an unrecognised usage names its keys', () => {
  assert.throws(() => cost('gpt-4o', { tokens: 1500, cost: 0.01 }), isInvalid(/tokens, cost/));
  assert.throws(() => cost('gpt-4o', {}), isInvalid(/none/));
  assert.throws(() => cost('gpt-4o', 5), isInvalid(/usage/));
  assert.throws(() => cost('gpt-4o', null), isInvalid(/usage/));
  assert.throws(() => cost(7, sdk.openaiChat), isInvalid(/model/));
  assert.throws(() => cost('gpt-4o', sdk.openaiChat, { provider: 5 }), isInvalid(/provider/));
  assert.throws(() => cost('gpt-4o', sdk.openaiChat, { pricing: {} }), isInvalid(/pricing/));
  assert.throws(() => cost('gpt-4o', sdk.openaiChat, 'openai'), isInvalid(/options/));
  assert.throws(() => cost('gpt-4o', sdk.openaiChat, { at: new Date(NaN) }), isInvalid(/at must be/));
  assert.throws(() => cost('gpt-4o', sdk.openaiChat, { at: 'yesterday' }), isInvalid(/at must be/));
  assert.throws(() => cost('gpt-4o', { prompt_tokens: -1 }), isInvalid(/prompt_tokens/));
  assert.throws(() => cost('gpt-4o', { prompt_tokens: NaN }), isInvalid(/prompt_tokens/));
  assert.throws(() => cost('gpt-4o', { prompt_tokens: 10n }), isInvalid(/prompt_tokens must be a number, got 10n \(a bigint\)/));
  const cyclic = { prompt_tokens: 1 };
  cyclic.self = cyclic;
  assert.throws(() => cost('gpt-4o', cyclic), isInvalid(/JSON/));
  // Parts never exceed their totals.
  assert.throws(() => cost('gpt-4o', { prompt_tokens: 10, prompt_tokens_details: { cached_tokens: 20 } }), isInvalid(/exceed/));
});

test('U4 a whole response is read for its usage only: deeply nested content does not matter', () => {
  let args = { q: 'x' };
  for (let i = 0; i < 30; i++) args = { nested: args };
  const r = {
    ...sdk.geminiResponse,
    candidates: [{ content: { parts: [{ functionCall: { name: 'lookup', args } }], role: 'model' }, finishReason: 'STOP' }],
  };
  close(cost(null, r, { provider: 'gemini' }).usd, 0.001502, 'nested function call');
});

test('U4 cost and Prices are exported by the ES module entry too', () => {
  const r = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import usagebook, { cost, Prices } from ${JSON.stringify(path.join(root, 'index.mjs'))};
       if (usagebook.cost !== cost || usagebook.Prices !== Prices) throw new Error('default export differs');
       const c = cost('gpt-4o', { prompt_tokens: 1000, completion_tokens: 0 });
       console.log(JSON.stringify([c.usd, c.priced, new Prices().size > 0]));`,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), [0.0025, true, true]);
});

test('docs/node.md: the Cost example runs as written and prints what its comments say', (t) => {
  const doc = fs.readFileSync(path.join(root, '..', 'docs', 'node.md'), 'utf8');
  const section = doc.slice(doc.indexOf('\n## Cost\n'));
  const block = section.slice(section.indexOf('```js\n') + 6, section.indexOf('\n```\n'));
  assert.match(block, /from 'usagebook'/);
  const file = path.join(tmpDir(t), 'cost-example.mjs');
  fs.writeFileSync(file, block.replace("from 'usagebook'", `from ${JSON.stringify(path.join(root, 'index.mjs'))}`));
  const r = spawnSync(process.execPath, [file], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const printed = r.stdout.trim().split('\n');
  // Each `console.log(...); // expected` line, in order.
  const logs = block.split('\n').filter((l) => l.startsWith('console.log('));
  assert.equal(printed.length, logs.length);
  logs.forEach((l, i) => {
    const m = l.match(/; \/\/ (.*)$/);
    if (m) assert.equal(printed[i], m[1], l);
  });
});

test('U4 at: when the call was made picks the price in force then (an effective-dated entry)', () => {
  // A dated price: usagebook_model names the model it is a price of, from that instant on.
  const prices = new Prices({
    'acme-2': { input_cost_per_token: 1e-6 },
    'acme-2 from 2026': { usagebook_model: 'acme-2', usagebook_effective_from: '2026-01-01T00:00:00Z', input_cost_per_token: 2e-6 },
  });
  const usage = { prompt_tokens: 1000, completion_tokens: 0 };
  close(cost('acme-2', usage, { prices, at: new Date('2025-06-01T00:00:00Z') }).usd, 0.001, 'before');
  close(cost('acme-2', usage, { prices, at: Date.parse('2026-06-01T00:00:00Z') }).usd, 0.002, 'after (epoch ms)');
  close(cost('acme-2', usage, { prices }).usd, 0.002, 'now');
});
