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
    assert.deepEqual(logs[0].usage, { promptTokens: 6200, completionTokens: 50, totalTokens: 6250 });
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
    assert.throws(() => tracker.trackUsage({ bridgeId: 'a', usage: { input_tokens: 1n, output_tokens: 1 } }), isInvalid(/JSON/));
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
  // Extra T1 detail fields ride along on the fast path.
  tracker.trackUsage({ bridgeId: 'a', usage: { promptTokens: 5, completionTokens: 1, totalTokens: 6, cacheReadTokens: 2 } });
  assert.deepEqual(counts(tracker, 'a'), [5, 1, 6]);
});
