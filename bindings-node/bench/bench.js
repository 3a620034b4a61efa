'use strict';
// npm run bench: usagebook against the seed JS tracker, measured in the same
// run (PERFORMANCE.md). Prints medians of several rounds and the ratios
// against the goals: trackUsage >= 3x under the seed's cap and >= 150x at
// it; getUsageStats at 10k logs >= 100x (the ratio column is the median of
// per-round ratios). Exits 0 whatever the numbers: speed
// is reported here, never asserted in tests. Runs in well under a minute.
//
// Environment: BENCH_ROUNDS (default 7).

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { FileBackedLlmUsageTracker, InMemoryLlmUsageTracker } = require('..');

const ROUNDS = Number(process.env.BENCH_ROUNDS || 7);
const CAP = 10000;

// The seed tracker, as Node users run it today (PERFORMANCE.md baseline 1).
class SeedLlmUsageTracker {
  constructor() {
    this.logs = [];
    this.n = 0;
  }
  trackUsage(log) {
    this.logs.push({ id: `llm_log_${++this.n}_${Date.now()}`, timestamp: new Date(), ...log });
    if (this.logs.length > CAP) this.logs = this.logs.slice(-CAP);
  }
  clearLogs() {
    this.logs = [];
  }
  getUsageStats(bridgeId) {
    const logs = bridgeId ? this.logs.filter((l) => l.bridgeId === bridgeId) : this.logs;
    const promptTokens = logs.reduce((s, l) => s + l.usage.promptTokens, 0);
    const completionTokens = logs.reduce((s, l) => s + l.usage.completionTokens, 0);
    const totalTokens = logs.reduce((s, l) => s + l.usage.totalTokens, 0);
    const errorCount = logs.filter((l) => l.status === 'error').length;
    const lastUsedAt =
      logs.length > 0 ? new Date(Math.max(...logs.map((l) => l.timestamp.getTime()))) : undefined;
    return {
      totalRequests: logs.length,
      promptTokens,
      completionTokens,
      totalTokens,
      averageTokensPerRequest: logs.length > 0 ? totalTokens / logs.length : 0,
      lastUsedAt,
      errorCount,
    };
  }
}

// A realistic mix: three bridges, varying tokens, some errors and durations.
const BRIDGES = ['openai:gpt-4o', 'anthropic:claude', 'local:llama'];
const LOGS = Array.from({ length: 1024 }, (_, i) => {
  const p = 100 + ((i * 37) % 900);
  const c = 20 + ((i * 11) % 300);
  const log = {
    bridgeId: BRIDGES[i % 3],
    usage: { promptTokens: p, completionTokens: c, totalTokens: p + c },
    status: i % 17 === 0 ? 'error' : 'success',
  };
  if (i % 2 === 0) log.durationMs = 200 + (i % 1000);
  return log;
});

function now() {
  return process.hrtime.bigint();
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const tmpDirs = [];
function tmpDir() {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'usagebook-bench-'));
  tmpDirs.push(d);
  return d;
}

// Opened trackers are closed after each round so the directory can be reused.
const open = [];
const makers = {
  seed: () => new SeedLlmUsageTracker(),
  memory: () => new InMemoryLlmUsageTracker(),
  file: () => {
    const t = new FileBackedLlmUsageTracker(tmpDir());
    open.push(t);
    return t;
  },
};

async function closeAll() {
  await Promise.all(open.splice(0).map((t) => t.close()));
}

// The measured loops. Each tracker kind gets its own compiled copy (see
// kernelsFor), so every call site stays monomorphic: one implementation
// never slows the other's inline caches.
const KERNELS = `
function fill(t, n) {
  for (let i = 0; i < n; i++) t.trackUsage(LOGS[i & 1023]);
}

// ns per trackUsage with fewer than CAP logs: one long-lived tracker, as
// apps use it, cleared (untimed) every 9000 logs. Both trackers get the same
// calls: the seed's clearLogs() drops its array, ours keeps its buffers.
function trackUnderCapCleared(make, ops) {
  const t = make();
  let ns = 0n;
  for (let done = 0; done < ops; ) {
    const n = Math.min(9000, ops - done);
    const t0 = now();
    for (let i = 0; i < n; i++) t.trackUsage(LOGS[(done + i) & 1023]);
    ns += now() - t0;
    t.clearLogs();
    done += n;
  }
  return Number(ns) / ops;
}

// The same with a new tracker every 9000 logs: also times each tracker's
// buffers growing from empty.
function trackUnderCap(make, ops) {
  let ns = 0n;
  for (let done = 0; done < ops; ) {
    const t = make();
    const n = Math.min(9000, ops - done);
    const t0 = now();
    for (let i = 0; i < n; i++) t.trackUsage(LOGS[(done + i) & 1023]);
    ns += now() - t0;
    done += n;
  }
  return Number(ns) / ops;
}

// ns per trackUsage once CAP logs are retained (the seed copies its array).
function trackAtCap(make, ops) {
  const t = make();
  fill(t, CAP);
  const t0 = now();
  for (let i = 0; i < ops; i++) t.trackUsage(LOGS[i & 1023]);
  return Number(now() - t0) / ops;
}

// ns per getUsageStats with CAP logs retained, one bridge or all.
function statsAt10k(make, bridgeId, ops) {
  const t = make();
  fill(t, CAP);
  let sink = 0;
  const t0 = now();
  for (let i = 0; i < ops; i++) sink += t.getUsageStats(bridgeId).totalTokens;
  const ns = Number(now() - t0) / ops;
  if (sink <= 0) throw new Error('no stats');
  return ns;
}

return { trackUnderCapCleared, trackUnderCap, trackAtCap, statsAt10k };
`;

function kernelsFor() {
  // eslint-disable-next-line no-new-func
  return new Function('LOGS', 'CAP', 'now', KERNELS)(LOGS, CAP, now);
}

// One timed run, after collecting the previous run's garbage (when node
// runs with --expose-gc, as `npm run bench` does).
async function once(fn) {
  if (global.gc) global.gc();
  const ns = fn();
  await closeAll();
  return ns;
}

function fmt(ns) {
  return ns >= 1000 ? `${(ns / 1000).toFixed(2)} µs` : `${ns.toFixed(0)} ns`;
}

async function main() {
  // Warm up every path (JIT, allocator) before measuring.
  const k = { seed: kernelsFor(), memory: kernelsFor(), file: kernelsFor() };
  for (const [m, make] of Object.entries(makers)) {
    k[m].trackUnderCap(make, 20000);
    k[m].trackUnderCapCleared(make, 20000);
    k[m].trackAtCap(make, 200);
    k[m].statsAt10k(make, BRIDGES[0], 200);
    await closeAll();
  }

  const cases = [
    { name: 'trackUsage, under the cap', goal: 3, run: (m, seed) => k[m].trackUnderCapCleared(makers[m], seed ? 90000 : 270000) },
    { name: 'trackUsage, under the cap, new trackers', goal: 3, run: (m, seed) => k[m].trackUnderCap(makers[m], seed ? 90000 : 270000) },
    { name: 'trackUsage, at the cap (10k)', goal: 150, run: (m, seed) => k[m].trackAtCap(makers[m], seed ? 2000 : 200000) },
    { name: 'getUsageStats(bridge), 10k logs', goal: 100, run: (m, seed) => k[m].statsAt10k(makers[m], BRIDGES[0], seed ? 300 : 200000) },
    { name: 'getUsageStats(), 10k logs', goal: 100, run: (m, seed) => k[m].statsAt10k(makers[m], undefined, seed ? 300 : 200000) },
  ];


  console.log(`usagebook ${require('../package.json').version} vs the seed JS tracker`);
  console.log(`node ${process.version}, ${os.cpus().length} cpus (${os.cpus()[0].model}), medians of ${ROUNDS} interleaved rounds\n`);
  const rows = [];
  let allMet = true;
  for (const c of cases) {
    // Rounds interleave the seed and usagebook, and each round gives a
    // ratio: the machine's drift hits both sides of a ratio alike.
    const runs = { seed: [], memory: [], file: [] };
    const ratios = { memory: [], file: [] };
    for (let r = 0; r < ROUNDS; r++) {
      const seed = await once(() => c.run('seed', true));
      runs.seed.push(seed);
      for (const kind of ['memory', 'file']) {
        const ours = await once(() => c.run(kind, false));
        runs[kind].push(ours);
        ratios[kind].push(seed / ours);
      }
    }
    for (const kind of ['memory', 'file']) {
      const ratio = median(ratios[kind]);
      const met = ratio >= c.goal;
      allMet &&= met;
      rows.push([c.name, kind === 'memory' ? 'InMemory' : 'FileBacked', fmt(median(runs.seed)), fmt(median(runs[kind])), `${ratio.toFixed(1)}x`, `>= ${c.goal}x`, met ? 'met' : 'NOT met']);
    }
  }
  const head = ['case', 'tracker', 'seed JS', 'usagebook', 'ratio', 'goal', ''];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r) => r.map((x, i) => x.padEnd(widths[i])).join('  ').trimEnd();
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
  console.log(`\n${allMet ? 'all goals met' : 'some goals NOT met'} (ratios against the seed measured in this run)`);
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
