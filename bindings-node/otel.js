'use strict';
// usagebook/otel: OpenTelemetry GenAI metrics through the host's own SDK (O2).
//
//   const { instrument, uninstrument } = require('usagebook/otel');
//   instrument({ meterProvider });   // or none: the global one
//
// Uses only @opentelemetry/api (an optional peer dependency): a no-op until
// the host registers an SDK MeterProvider. Every call a tracker records and
// every ledger commit (and adjust) of this process is recorded once, by this
// process, so processes sharing a ledger never multiply a total. The numbers
// are the core's, handed over by its per-call observer; they reach the
// instruments on the event loop's next turn. See docs/telemetry.md for the
// metric list and the convention versions.

const native = require('./native.js');

const SCHEMA_URL = 'https://opentelemetry.io/schemas/1.41.0';
// The GenAI conventions' advice for gen_ai.client.token.usage.
const TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576,
  4194304, 16777216, 67108864];
const USAGE_COUNTERS = [
  ['input', 'gen_ai.client.inference.usage.input_tokens', 'Input tokens used, cache reads and writes included.'],
  ['output', 'gen_ai.client.inference.usage.output_tokens', 'Output tokens used, reasoning included.'],
  ['cacheRead', 'gen_ai.client.inference.usage.cache_read.input_tokens', 'Input tokens read from the prompt cache.'],
  ['cacheWrite', 'gen_ai.client.inference.usage.cache_write.input_tokens', 'Input tokens written to the prompt cache.'],
  ['reasoning', 'gen_ai.client.inference.usage.reasoning.output_tokens', 'Output tokens spent on reasoning.'],
];

let active = null;

function loadApi() {
  try {
    return require('@opentelemetry/api');
  } catch (e) {
    const err = new Error('usagebook/otel needs @opentelemetry/api: npm install @opentelemetry/api');
    err.code = 'USAGEBOOK_INVALID_ARGUMENT';
    err.cause = e;
    throw err;
  }
}

function recorder(api, opts) {
  const provider = opts.meterProvider || api.metrics.getMeterProvider();
  const meter = provider.getMeter('usagebook', native.VERSION, { schemaUrl: SCHEMA_URL });
  const tokens = meter.createHistogram('gen_ai.client.token.usage', {
    unit: '{token}',
    description: 'Number of input and output tokens used.',
    advice: { explicitBucketBoundaries: TOKEN_BUCKETS },
  });
  const counters = opts.inferenceUsageCounters
    ? USAGE_COUNTERS.map(([part, name, description]) =>
      [part, meter.createCounter(name, { unit: '{token}', description })])
    : [];
  const cost = meter.createCounter('usagebook.client.cost', {
    unit: '{USD}',
    description: 'Spend the usagebook ledger settled for calls, USD.',
  });
  const operation = opts.operationName || 'chat';
  const sources = new Set(opts.sources || ['tracker', 'ledger']);
  return (json) => {
    const r = JSON.parse(json);
    if (!sources.has(r.source)) return;
    const attrs = {
      'gen_ai.operation.name': operation,
      'gen_ai.provider.name': r.provider,
      'gen_ai.request.model': r.model,
    };
    if (r.error) attrs['error.type'] = '_OTHER';
    if (r.event !== 'adjust') { // an adjust corrects a cost, it is no call
      const t = r.bridge === null ? attrs : { ...attrs, 'usagebook.bridge': r.bridge };
      tokens.record(r.input, { ...t, 'gen_ai.token.type': 'input' });
      tokens.record(r.output, { ...t, 'gen_ai.token.type': 'output' });
      if (counters.length) {
        const u = { ...t, 'gen_ai.token.modality': 'unknown' };
        for (const [part, c] of counters) c.add(r[part], u);
      }
    }
    if (r.costUsd !== null) {
      // A counter only grows: a negative adjust (a refund) stays in the ledger.
      if (r.costUsd >= 0) {
        cost.add(r.costUsd, {
          ...attrs,
          'gen_ai.usage.cost.currency': 'USD',
          'gen_ai.usage.cost.source': r.costSource,
          'usagebook.priced': r.priced,
        });
      }
      const span = api.trace.getActiveSpan();
      if (span && span.isRecording()) {
        span.setAttribute('gen_ai.usage.cost.amount', r.costUsd);
        span.setAttribute('gen_ai.usage.cost.currency', 'USD');
        span.setAttribute('gen_ai.usage.cost.source', r.costSource);
      }
    }
  };
}

/**
 * Starts recording. `meterProvider`: the host's (default: the global one).
 * `inferenceUsageCounters`: also the newer gen_ai.client.inference.usage.*
 * counters. `sources`: ['tracker', 'ledger'] by default; a host recording each
 * call in both keeps one. Calling it again while active is a no-op.
 */
function instrument(opts = {}) {
  if (active) return;
  const bad = (opts.sources || []).filter((s) => s !== 'tracker' && s !== 'ledger');
  if (bad.length) {
    const err = new TypeError(`sources must be 'tracker' and/or 'ledger', got ${JSON.stringify(bad)}`);
    err.code = 'USAGEBOOK_INVALID_ARGUMENT';
    throw err;
  }
  const api = loadApi();
  active = recorder(api, opts);
  const rec = active;
  native.setCallObserver((json) => {
    try {
      rec(json);
    } catch (e) {
      process.emitWarning(`usagebook/otel: recording a call failed: ${e && e.message}`);
    }
  });
}

/** Stops recording. */
function uninstrument() {
  native.setCallObserver(null);
  active = null;
}

function isInstrumented() {
  return active !== null;
}

module.exports = { instrument, uninstrument, isInstrumented };
