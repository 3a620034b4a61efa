'use strict';
// U2 through the tracker: `trackUsage` takes every provider SDK's usage
// shape and whole responses (the npm SDKs' JSON, test/fixtures/sdk.js), read
// by the core's one adapter; T1 camelCase keeps its own fast path.

const test = require('node:test');
const assert = require('node:assert/strict');
const { FileBackedLlmUsageTracker, InMemoryLlmUsageTracker, NoOpLlmUsageTracker, ErrorCodes } = require('..');
const sdk = require('./fixtures/sdk');
const { tmpDir } = require('./helpers');

const isInvalid = (re) => (e) => e instanceof TypeError && e.code === ErrorCodes.INVALID_ARGUMENT && (!re || re.test(e.message));

function counts(tracker, bridgeId) {
  const s = tracker.getUsageStats(bridgeId);
  return [s.promptTokens, s.completionTokens, s.totalTokens];
}

// [usage, expected T1 counts]: promptTokens = every input token processed.
const SHAPES = {
  'OpenAI Chat Completions usage': [sdk.openaiChat.usage, [1000, 500, 1500]],
  'OpenAI ChatCompletion (whole response)': [sdk.openaiChat, [1000, 500, 1500]],
  'OpenAI Responses usage': [sdk.openaiResponse.usage, [1000, 500, 1500]],
  'OpenAI Response (whole response)': [sdk.openaiResponse, [1000, 500, 1500]],
  // 200 plain + 1000 read + 5000 written: Anthropic's input_tokens is 200.
  'Anthropic Messages usage (cache read and write)': [sdk.anthropicMessage.usage, [6200, 50, 6250]],
  'Anthropic Message (whole response)': [sdk.anthropicMessage, [6200, 50, 6250]],
  // thoughts are output; the reported total is kept.
  'Gemini usageMetadata': [sdk.geminiResponse.usageMetadata, [1200, 500, 1700]],
  'Gemini GenerateContentResponse (whole response)': [sdk.geminiResponse, [1200, 500, 1700]],
  // 1000 + 500 read + 300 written; Bedrock's totalTokens is the sum of all four.
  'Bedrock Converse usage': [sdk.bedrockConverse.usage, [1800, 200, 2000]],
  'Bedrock ConverseResponse (whole response)': [sdk.bedrockConverse, [1800, 200, 2000]],
  'T1 camelCase': [{ promptTokens: 7, completionTokens: 3, totalTokens: 10 }, [7, 3, 10]],
};

for (const [kind, make] of [
  ['memory', () => new InMemoryLlmUsageTracker()],
  ['file (process durability: recorded before return)', (t) => new FileBackedLlmUsageTracker(tmpDir(t), { durability: 'process' })],
]) {
  test(`U2 trackUsage reads every SDK shape into T1 counts (${kind})`, async (t) => {
    const tracker = make(t);
    for (const [name, [usage, want]] of Object.entries(SHAPES)) {
      tracker.trackUsage({ bridgeId: name, usage, durationMs: 250, status: 'success' });
      assert.deepEqual(counts(tracker, name), want, name);
    }
    const logs = tracker.getUsageLogs('Anthropic Messages usage (cache read and write)');
    assert.equal(logs.length, 1);
    assert.deepEqual(logs[0].usage, {
      promptTokens: 6200,
      completionTokens: 50,
      totalTokens: 6250,
      cacheReadTokens: 1000,
      cacheWriteTokens: 5000,
    });
    assert.equal(logs[0].durationMs, 250);
    assert.equal(tracker.getUsageStats().totalRequests, Object.keys(SHAPES).length);
    await tracker.close();
  });
}

test('U2 the caller\'s SDK object is read, never changed', () => {
  const tracker = new InMemoryLlmUsageTracker();
  const before = JSON.stringify(sdk.anthropicMessage);
  tracker.trackUsage({ bridgeId: 'a', usage: sdk.anthropicMessage, status: 'error' });
  assert.equal(JSON.stringify(sdk.anthropicMessage), before);
  assert.equal(tracker.getUsageStats('a').errorCount, 1);
});

test('U2 SDK usage and T1 usage interleave in order (the queued fast path drains first)', async () => {
  const tracker = new InMemoryLlmUsageTracker();
  tracker.trackUsage({ bridgeId: 'x', usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 }, status: 'success' });
  tracker.trackUsage({ bridgeId: 'x', usage: sdk.openaiChat.usage, status: 'success' });
  tracker.trackUsage({ bridgeId: 'x', usage: { promptTokens: 2, completionTokens: 2, totalTokens: 4 }, status: 'success' });
  assert.deepEqual(
    tracker.getUsageLogs('x').map((l) => l.usage.totalTokens),
    [2, 1500, 4],
  );
  await tracker.close();
});

test('U2 X1 a usage with no token field usagebook recognises is a TypeError naming its keys, and records nothing', () => {
  for (const tracker of [new InMemoryLlmUsageTracker(), new NoOpLlmUsageTracker()]) {
    assert.throws(() => tracker.trackUsage({ bridgeId: 'a', usage: { tokens: 5, cost: 1 } }), isInvalid(/keys: tokens, cost/));
    assert.throws(() => tracker.trackUsage({ bridgeId: 'a', usage: {} }), isInvalid(/keys: none/));
    assert.throws(() => tracker.trackUsage({ bridgeId: 'a', usage: [] }), isInvalid(/usage/));
    assert.throws(() => tracker.trackUsage({ bridgeId: 'a', usage: { totalTokens: 5 } }), isInvalid(/totalTokens/));
    // Bad counts in an SDK shape name the field.
    assert.throws(() => tracker.trackUsage({ bridgeId: 'a', usage: { prompt_tokens: -1, completion_tokens: 1 } }), isInvalid(/prompt_tokens/));
    assert.throws(() => tracker.trackUsage({ bridgeId: 'a', usage: { input_tokens: 1.5, output_tokens: 1 } }), isInvalid(/input_tokens/));
    assert.throws(() => tracker.trackUsage({ bridgeId: 'a', usage: { input_tokens: NaN, output_tokens: 1 } }), isInvalid(/input_tokens/));
    assert.throws(() => tracker.trackUsage({ bridgeId: 'a', usage: { input_tokens: 1n, output_tokens: 1 } }), isInvalid(/input_tokens must be a number, got 1n \(a bigint\)/));
    assert.throws(
      () => tracker.trackUsage({ bridgeId: 'a', usage: { prompt_tokens: 10, completion_tokens: 1, prompt_tokens_details: { cached_tokens: 11 } } }),
      isInvalid(/exceed/),
    );
    assert.throws(
      () => tracker.trackUsage({ bridgeId: 'a', usage: { prompt_tokens: 2 ** 60, completion_tokens: 0 } }),
      isInvalid(/promptTokens/),
    );
    assert.equal(tracker.getUsageStats().totalRequests, 0);
  }
});

test('T1 camelCase is still checked as T1: all three counts, integers (the vectors\' errors)', () => {
  const tracker = new InMemoryLlmUsageTracker();
  const bad = [
    [{ promptTokens: 1, completionTokens: 1 }, /totalTokens/],
    [{ promptTokens: -1, completionTokens: 1, totalTokens: 0 }, /promptTokens/],
    [{ promptTokens: 1.5, completionTokens: 1, totalTokens: 2 }, /promptTokens/],
    [{ promptTokens: '1', completionTokens: 1, totalTokens: 2 }, /promptTokens/],
    [{ promptTokens: 1, completionTokens: null, totalTokens: 2 }, /completionTokens/],
    [{ completionTokens: 1, totalTokens: 2 }, /promptTokens/],
  ];
  for (const [usage, re] of bad) {
    assert.throws(() => tracker.trackUsage({ bridgeId: 'a', usage }), isInvalid(re), JSON.stringify(usage));
  }
  // T1 counts with parts are recorded with them.
  tracker.trackUsage({ bridgeId: 'a', usage: { promptTokens: 5, completionTokens: 1, totalTokens: 6, cacheReadTokens: 2 } });
  assert.deepEqual(counts(tracker, 'a'), [5, 1, 6]);
  assert.equal(tracker.getUsageStats('a').cacheReadTokens, 2);
});

// ---- the parts the tracker keeps (cache reads, cache writes, reasoning) ----

function parts(x) {
  return [x.cacheReadTokens ?? 0, x.cacheWriteTokens ?? 0, x.reasoningTokens ?? 0];
}

// An o-series ChatCompletion: cached prompt tokens and reasoning tokens.
const reasoningChat = {
  ...sdk.openaiChat,
  model: 'o3-2025-04-16',
  usage: {
    prompt_tokens: 3000,
    completion_tokens: 1800,
    total_tokens: 4800,
    prompt_tokens_details: { audio_tokens: 0, cached_tokens: 2048 },
    completion_tokens_details: { accepted_prediction_tokens: 0, audio_tokens: 0, reasoning_tokens: 1536, rejected_prediction_tokens: 0 },
  },
};

// [usage, expected [cacheRead, cacheWrite, reasoning]].
const PARTS = {
  'OpenAI Chat Completions usage': [sdk.openaiChat.usage, [200, 0, 0]],
  'OpenAI ChatCompletion with reasoning (whole response)': [reasoningChat, [2048, 0, 1536]],
  'OpenAI Chat Completions usage with reasoning': [reasoningChat.usage, [2048, 0, 1536]],
  'OpenAI Responses usage': [sdk.openaiResponse.usage, [200, 0, 0]],
  'Anthropic Messages usage (cache read and write)': [sdk.anthropicMessage.usage, [1000, 5000, 0]],
  'Anthropic Message (whole response)': [sdk.anthropicMessage, [1000, 5000, 0]],
  'Gemini usageMetadata': [sdk.geminiResponse.usageMetadata, [400, 0, 200]],
  'Bedrock Converse usage': [sdk.bedrockConverse.usage, [500, 300, 0]],
  'T1 camelCase with parts': [{ promptTokens: 70, completionTokens: 30, totalTokens: 100, cacheWriteTokens: 20, reasoningTokens: 5 }, [0, 20, 5]],
  'T1 camelCase': [{ promptTokens: 7, completionTokens: 3, totalTokens: 10 }, [0, 0, 0]],
};

for (const [kind, options] of [
  ['interval durability: queued, recorded in batches', { persistLogs: true }],
  ['process durability: recorded before return', { persistLogs: true, durability: 'process' }],
]) {
  test(`issue 9: logs and stats keep the parts of every SDK shape, across a restart (${kind})`, async (t) => {
    const dir = tmpDir(t);
    let tracker = new FileBackedLlmUsageTracker(dir, options);
    const memory = new InMemoryLlmUsageTracker();
    for (const tr of [tracker, memory]) {
      for (const [name, [usage]] of Object.entries(PARTS)) {
        tr.trackUsage({ bridgeId: name, usage, status: 'success' });
        tr.trackUsage({ bridgeId: name, usage, status: 'error' });
      }
    }
    const check = (tr) => {
      let sum = [0, 0, 0];
      for (const [name, [, want]] of Object.entries(PARTS)) {
        const logs = tr.getUsageLogs(name);
        assert.deepEqual(logs.map((l) => parts(l.usage)), [want, want], name);
        for (const l of logs) {
          // Present only when not zero, as in the usage-logs.jsonl line.
          assert.deepEqual(
            Object.keys(l.usage),
            ['promptTokens', 'completionTokens', 'totalTokens', 'cacheReadTokens', 'cacheWriteTokens', 'reasoningTokens'].filter(
              (k, i) => i < 3 || want[i - 3] !== 0,
            ),
            name,
          );
        }
        const s = tr.getUsageStats(name);
        assert.deepEqual(parts(s), want.map((n) => 2 * n), name);
        assert.equal(s.errorCount, 1);
        sum = sum.map((n, i) => n + 2 * want[i]);
      }
      const all = tr.getUsageStats();
      // Always there in stats, 0 or not.
      for (const k of ['cacheReadTokens', 'cacheWriteTokens', 'reasoningTokens']) assert.equal(typeof all[k], 'number', k);
      assert.deepEqual(parts(all), sum);
      assert.deepEqual(parts(tr.getUsageStats('nothing here')), [0, 0, 0]);
    };
    check(tracker);
    check(memory);
    await tracker.close();
    tracker = new FileBackedLlmUsageTracker(dir, options);
    check(tracker);
    await tracker.close();
  });
}

test('issue 9: logs with and without parts keep their order and their own parts across queue batches', async () => {
  const tracker = new InMemoryLlmUsageTracker();
  const n = 600; // more than one queue of 256
  for (let i = 0; i < n; i++) {
    const usage =
      i % 3 === 0
        ? { promptTokens: i + 10, completionTokens: 2, totalTokens: i + 12 }
        : { promptTokens: i + 10, completionTokens: 2, totalTokens: i + 12, cacheReadTokens: i, reasoningTokens: i % 2 };
    tracker.trackUsage({ bridgeId: 'q', usage, status: i % 5 === 0 ? 'error' : 'success' });
  }
  const logs = tracker.getUsageLogs('q');
  assert.equal(logs.length, n);
  logs.forEach((l, i) => {
    assert.equal(l.usage.promptTokens, i + 10);
    assert.deepEqual(parts(l.usage), i % 3 === 0 ? [0, 0, 0] : [i, 0, i % 2], `log ${i}`);
    assert.equal(l.status, i % 5 === 0 ? 'error' : 'success');
  });
  await tracker.close();
});

test('issue 9 X1: parts that exceed their totals or 32 bits are TypeErrors naming the field, and record nothing', () => {
  for (const tracker of [new InMemoryLlmUsageTracker(), new NoOpLlmUsageTracker()]) {
    const t1 = { promptTokens: 10, completionTokens: 5, totalTokens: 15 };
    const bad = [
      [{ ...t1, reasoningTokens: 6 }, /reasoning/],
      [{ ...t1, cacheReadTokens: 6, cacheWriteTokens: 5 }, /cache/],
      [{ ...t1, cacheReadTokens: 1.5 }, /cacheReadTokens/],
      [{ ...t1, cacheWriteTokens: -1 }, /cacheWriteTokens/],
      [{ ...t1, reasoningTokens: '1' }, /reasoningTokens/],
      [{ promptTokens: 2 ** 40, completionTokens: 0, totalTokens: 2 ** 40, cacheReadTokens: 2 ** 32 }, /cacheReadTokens must be at most 4294967295/],
    ];
    for (const [usage, re] of bad) {
      assert.throws(() => tracker.trackUsage({ bridgeId: 'a', usage }), isInvalid(re), JSON.stringify(usage));
    }
    assert.equal(tracker.getUsageStats().totalRequests, 0);
  }
});
