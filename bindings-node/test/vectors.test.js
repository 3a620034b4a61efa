'use strict';
// B4: the shared vectors of tests/vectors/*.json, through this binding.
// "memory" vectors also run through the file-backed tracker: one behaviour
// everywhere.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { FileBackedLlmUsageTracker, InMemoryLlmUsageTracker, NoOpLlmUsageTracker } = require('..');
const { tmpDir, json } = require('./helpers');

const dir = path.join(__dirname, '..', '..', 'tests', 'vectors');
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort();

const ERROR_CODES = { invalid_argument: 'USAGEBOOK_INVALID_ARGUMENT', closed: 'USAGEBOOK_CLOSED' };
// Bad input is a TypeError, as Node's own argument checks; the rest are Errors.
const isKind = (e, kind) => e.code === ERROR_CODES[kind] && (kind !== 'invalid_argument' || e instanceof TypeError);

function assertStats(got, want, ctx) {
  const g = json(got);
  assert.deepEqual(Object.keys(g).sort(), Object.keys(want).sort(), `${ctx}: stats keys`);
  for (const [k, w] of Object.entries(want)) {
    if (k === 'averageTokensPerRequest') assert.ok(Math.abs(g[k] - w) < 1e-9, `${ctx}: ${k} ${g[k]} != ${w}`);
    else assert.deepEqual(g[k], w, `${ctx}: ${k}`);
  }
  if (want.lastUsedAt === undefined) assert.ok(!('lastUsedAt' in got), `${ctx}: lastUsedAt must be absent`);
  else assert.ok(got.lastUsedAt instanceof Date, `${ctx}: lastUsedAt must be a Date`);
}

async function run(v, make, t) {
  const tracker = make(t);
  for (const [i, step] of v.steps.entries()) {
    const ctx = `step ${i} (${step.op})`;
    if (typeof step.at === 'number') tracker.__setClock(step.at);
    switch (step.op) {
      case 'track':
        if (step.error) {
          assert.throws(
            () => tracker.trackUsage(step.log),
            (e) => isKind(e, step.error),
            ctx,
          );
        } else {
          tracker.trackUsage(step.log);
        }
        break;
      case 'close':
        await tracker.close();
        break;
      case 'clear':
        tracker.clearLogs(step.olderThan === null || step.olderThan === undefined ? undefined : new Date(step.olderThan));
        break;
      case 'stats':
        if (step.error) {
          assert.throws(() => tracker.getUsageStats(step.bridgeId ?? undefined), (e) => isKind(e, step.error), ctx);
          break;
        }
        assertStats(tracker.getUsageStats(step.bridgeId ?? undefined), step.expect, ctx);
        break;
      case 'logs': {
        if (step.error) {
          assert.throws(() => tracker.getUsageLogs(step.bridgeId ?? undefined), (e) => isKind(e, step.error), ctx);
          break;
        }
        const logs = tracker.getUsageLogs(step.bridgeId ?? undefined);
        for (const l of logs) assert.ok(l.timestamp instanceof Date, `${ctx}: timestamp must be a Date`);
        assert.deepEqual(json(logs), step.expect, ctx);
        break;
      }
      default:
        throw new Error(`${ctx}: unknown op`);
    }
  }
  await tracker.close();
}

for (const file of files) {
  const v = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
  const opts = { ...(v.options || {}), __testClockMs: 0 };
  const kind = v.tracker || 'memory';
  test(`B4 vector ${file} (${(v.requirements || []).join(', ')}): ${v.name}`, async (t) => {
    const make = kind === 'noop' ? () => withClock(new NoOpLlmUsageTracker()) : () => new InMemoryLlmUsageTracker(opts);
    await run(v, make, t);
  });
  if (kind === 'memory') {
    test(`B4 vector ${file} through FileBackedLlmUsageTracker`, async (t) => {
      const dir = tmpDir();
      await run(v, () => new FileBackedLlmUsageTracker(dir, opts), t);
      fs.rmSync(dir, { recursive: true, force: true });
    });
  }
}

// The no-op tracker has no clock to set: its steps' `at` is irrelevant.
function withClock(tracker) {
  tracker.__setClock = () => {};
  return tracker;
}

test('B4 the vectors are all there', () => {
  assert.ok(files.length >= 5, `vectors missing: ${files}`);
});
