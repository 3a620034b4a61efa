// E6: usagebook's day and month reports of an imported Claude Code corpus
// against ccusage's on the same files (run.sh runs both; this compares).
//
//   node compare.mjs USAGEBOOK WORK
//
// WORK holds claude/ (the corpus) and ccusage's JSON: ccusage-daily.json,
// ccusage-monthly.json (UTC) and ccusage-daily-tokyo.json (Asia/Tokyo).
//
// Tokens must be exactly equal. ccusage's `inputTokens` is Anthropic's
// input_tokens, which excludes the cache; usagebook's `input_tokens` is
// inclusive (U1), so ccusage's input = ours - cache reads - cache writes;
// `cacheCreationTokens` = cache_write_tokens, `cacheReadTokens` =
// cache_read_tokens, `totalTokens` (the sum of ccusage's four) =
// total_tokens.
//
// Cost, with a tolerance of 1e-9 USD per request of the row: usagebook
// rounds each request's cost to a whole nano-USD (L11; at most 0.5e-9
// off each) and sums exactly, ccusage sums floats (off by ~1e-16 of the
// sum); the tolerance is twice the worst case of the rounding. It is
// compared twice:
//
// 1. Both priced from the same file: ccusage's offline price map (read out
//    of its package) given to `usagebook report --prices`. Every row.
// 2. Each with its own bundled map: usagebook's LiteLLM 1.110.2 snapshot
//    has no claude-opus-4-1 and claude-sonnet-4 (LiteLLM dropped them),
//    so usagebook counts those requests as unpriced and leaves them out
//    of its sums; it must equal ccusage's cost minus ccusage's per-model
//    cost of exactly those models, and mark those rows (and only those)
//    as having unpriced requests. The models both maps have are priced
//    the same (the rates are equal), so the rest agrees directly.

import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const [bin, work] = process.argv.slice(2);
if (!bin || !work) {
  console.error('usage: node compare.mjs USAGEBOOK WORK');
  process.exit(2);
}
const here = dirname(fileURLToPath(import.meta.url));

let passed = 0;
const failures = [];
function check(name, ok, detail = '') {
  if (ok) passed++;
  else failures.push(`${name}${detail ? `: ${detail}` : ''}`);
}

const run = (args) => execFileSync(bin, args, { encoding: 'utf8' });
const report = (args) => JSON.parse(run(['report', '--log', log, '--format', 'json', ...args]));
const read = (name) => JSON.parse(readFileSync(join(work, name), 'utf8'));

// ---------------------------------------------------------------- import

const log = join(work, 'events.jsonl');
const corpus = join(work, 'claude');
const first = run(['import', '--from', 'claude-code', corpus, '--into', log]);
console.log(first.trim());
check('import: the malformed lines are counted', first.includes('skipped 2 malformed lines'), first);
check('import: the synthetic message is left out', first.includes('left out 1 synthetic message'), first);
check('import: every file is read', first.includes('read 7 files'), first);
const second = run(['import', '--from', 'claude-code', corpus, '--into', log]);
check('import: a second import adds nothing (E5)', /: added 0, /.test(second), second);

// ---------------------------------------------------- ccusage's price map

// ccusage --offline prices with a map it bundles (PREFETCHED_CLAUDE_PRICING
// in its data loader); it is not exported, so it is read out of the file.
const dist = join(here, 'node_modules/ccusage/dist');
const loader = readdirSync(dist).find((f) => /^data-loader-.*\.js$/.test(f));
const src = readFileSync(join(dist, loader), 'utf8');
const start = src.indexOf('const PREFETCHED_CLAUDE_PRICING = {');
if (start < 0) throw new Error(`no PREFETCHED_CLAUDE_PRICING in ${loader}: another ccusage version?`);
const body = src.slice(src.indexOf('{', start), src.indexOf('\n};', start) + 2);
const ccPrices = new Function(`return (${body});`)();
const pricesFile = join(work, 'ccusage-prices.json');
writeFileSync(pricesFile, JSON.stringify(ccPrices, null, 1));
console.log(`ccusage's offline price map: ${Object.keys(ccPrices).length} models`);

// ------------------------------------------------------------- compare

const tol = (requests) => Math.max(requests, 1) * 1e-9;
const money = (v) => (v == null ? '-' : v.toFixed(9));

function tokens(name, key, cc, ub) {
  const want = {
    inputTokens: ub.input_tokens - ub.cache_read_tokens - ub.cache_write_tokens,
    outputTokens: ub.output_tokens,
    cacheCreationTokens: ub.cache_write_tokens,
    cacheReadTokens: ub.cache_read_tokens,
    totalTokens: ub.total_tokens,
  };
  for (const [field, v] of Object.entries(want)) {
    const got = cc[field] ?? (field === 'totalTokens' ? cc.inputTokens + cc.outputTokens + cc.cacheCreationTokens + cc.cacheReadTokens : undefined);
    check(`${name} ${key} ${field}`, got === v, `ccusage ${got}, usagebook ${v}`);
  }
}

/** Models usagebook's bundled prices do not have (a whole row unpriced). */
const byModel = report(['--by', 'model']);
const unpricedModels = new Set(byModel.rows.filter((r) => r.cost_usd == null).map((r) => r.key));
console.log(`unpriced in usagebook's bundled prices: ${[...unpricedModels].join(', ')}`);
check(
  'the corpus has models only ccusage prices',
  unpricedModels.has('claude-opus-4-1-20250805') && unpricedModels.has('claude-sonnet-4-20250514'),
  "usagebook's bundled prices now have claude-opus-4-1 / claude-sonnet-4: give the corpus another model only ccusage prices, so that comparison 2 still covers unpriced requests",
);

function compare(name, ccRows, keyOf, args) {
  const own = report(args);
  const same = report([...args, '--prices', pricesFile]);
  const rows = new Map(own.rows.map((r) => [r.key, r]));
  const sameRows = new Map(same.rows.map((r) => [r.key, r]));
  const keys = ccRows.map(keyOf);
  check(`${name}: the same ${keys.length} rows`, JSON.stringify([...rows.keys()].sort()) === JSON.stringify([...keys].sort()), `ccusage ${keys}, usagebook ${[...rows.keys()]}`);
  console.log(`\n${name}: key, ccusage totalTokens / cost, usagebook (same prices), usagebook (bundled) + unpriced`);
  const one = (key, cc, ub, ubSame) => {
    if (!ub || !ubSame) return check(`${name} ${key}`, false, 'missing in usagebook');
    tokens(name, key, cc, ub);
    const d = Math.abs(ubSame.cost_usd - cc.totalCost);
    check(`${name} ${key} cost, same prices`, d <= tol(ub.requests), `ccusage ${cc.totalCost}, usagebook ${ubSame.cost_usd} (diff ${d})`);
    // With the same prices only a request without a model is unpriced
    // (ccusage counts it as $0 under the model "unknown").
    const breakdowns = cc.modelBreakdowns ?? [];
    const noModel = breakdowns.some((b) => b.modelName === 'unknown');
    check(`${name} ${key}: with the same prices only model-less requests are unpriced`, (ubSame.unpriced_requests > 0) === noModel, `unpriced ${ubSame.unpriced_requests}`);
    // Bundled prices: ccusage's cost less its cost of what usagebook
    // cannot price.
    const left = breakdowns.filter((b) => unpricedModels.has(b.modelName));
    const expected = cc.totalCost - left.reduce((s, b) => s + b.cost, 0);
    const priced = ub.cost_usd ?? 0;
    check(`${name} ${key} cost, own prices`, Math.abs(priced - expected) <= tol(ub.requests), `ccusage ${cc.totalCost} - ${expected - cc.totalCost} for unpriced, usagebook ${ub.cost_usd}`);
    check(`${name} ${key}: unpriced requests marked exactly where the models are`, (ub.unpriced_requests > 0) === (left.length > 0), `unpriced ${ub.unpriced_requests}, models ${left.map((b) => b.modelName)}`);
    console.log(`  ${key.padEnd(10)} ${String(cc.totalTokens).padStart(8)} ${money(cc.totalCost).padStart(13)}  ${money(ubSame.cost_usd).padStart(13)}  ${money(ub.cost_usd).padStart(13)} + ${ub.unpriced_requests}`);
  };
  for (const cc of ccRows) one(keyOf(cc), cc, rows.get(keyOf(cc)), sameRows.get(keyOf(cc)));
  return { own, same };
}

const daily = read('ccusage-daily.json');
const monthly = read('ccusage-monthly.json');
const tokyo = read('ccusage-daily-tokyo.json');
const d = compare('daily (UTC)', daily.daily, (r) => r.date, ['--by', 'day']);
compare('monthly (UTC)', monthly.monthly, (r) => r.month, ['--by', 'month']);
compare('daily (Asia/Tokyo)', tokyo.daily, (r) => r.date, ['--by', 'day', '--tz', 'Asia/Tokyo']);
check('the corpus spans a month boundary', daily.daily.some((r) => r.date === '2025-10-31') && daily.daily.some((r) => r.date === '2025-11-01'));
check('the corpus spans several months', monthly.monthly.length >= 3, `${monthly.monthly.length} months`);

// Totals.
tokens('totals', 'all', daily.totals, d.own.total);
check('totals: cost, same prices', Math.abs(d.same.total.cost_usd - daily.totals.totalCost) <= tol(d.own.total.requests), `ccusage ${daily.totals.totalCost}, usagebook ${d.same.total.cost_usd}`);
console.log(`\ntotals: ccusage ${daily.totals.totalTokens} tokens, $${daily.totals.totalCost}; usagebook ${d.own.total.total_tokens} tokens, $${d.same.total.cost_usd} (same prices), $${d.own.total.cost_usd} + ${d.own.total.unpriced_requests} unpriced (bundled), ${d.own.total.requests} requests`);

// Per model: ccusage's breakdowns summed over the days.
const models = new Map();
for (const day of daily.daily) {
  for (const b of day.modelBreakdowns) {
    const m = models.get(b.modelName) ?? { inputTokens: 0, outputTokens: 0, cacheCreationTokens: 0, cacheReadTokens: 0, totalCost: 0 };
    for (const k of ['inputTokens', 'outputTokens', 'cacheCreationTokens', 'cacheReadTokens']) m[k] += b[k];
    m.totalCost += b.cost;
    models.set(b.modelName, m);
  }
}
const sameModel = new Map(report(['--by', 'model', '--prices', pricesFile]).rows.map((r) => [r.key, r]));
check('by model: the same models', JSON.stringify([...models.keys()].sort()) === JSON.stringify([...sameModel.keys()].sort()), `ccusage ${[...models.keys()]}, usagebook ${[...sameModel.keys()]}`);
for (const [model, m] of models) {
  const ub = sameModel.get(model);
  if (!ub) continue;
  tokens('by model', model, m, ub);
  check(`by model ${model} cost, same prices`, Math.abs((ub.cost_usd ?? 0) - m.totalCost) <= tol(ub.requests), `ccusage ${m.totalCost}, usagebook ${ub.cost_usd}`);
}

for (const f of failures) console.log(`FAILED ${f}`);
console.log(`${passed} passed, ${failures.length} failed`);
process.exit(failures.length === 0 ? 0 : 1);
