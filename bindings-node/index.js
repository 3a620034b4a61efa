'use strict';
// usagebook: a drop-in LlmBridgeUsageTracker for Node and Electron (B2).
//
// This file is the thin facade over the Rust core (native.js loads the
// N-API addon). It shapes the public API (constructors, Dates, Promises,
// TypeErrors) and reads the caller's objects in JS, so the native call per
// event takes numbers only: that is where the speed comes from
// (PERFORMANCE.md). Every behaviour (stamping, totals, retention, files,
// recovery, locking, what a provider's usage fields mean, prices) lives in
// the core.

const native = require('./native.js');

const { NativeTracker } = native;
const { usageJson, stringify, checkText, cost, Prices, show, invalid } = require('./usage.js');

/** The package version (= the crate version, B5). */
const VERSION = native.VERSION;

/** Stable `code`s of the errors we throw (the C ABI's status names). */
const ErrorCodes = Object.freeze({
  INVALID_ARGUMENT: 'USAGEBOOK_INVALID_ARGUMENT',
  LOCKED: 'USAGEBOOK_LOCKED',
  CLOSED: 'USAGEBOOK_CLOSED',
  IO_ERROR: 'USAGEBOOK_IO_ERROR',
  UNSUPPORTED_FORMAT: 'USAGEBOOK_UNSUPPORTED_FORMAT',
  PANIC: 'USAGEBOOK_PANIC',
  BUDGET_EXCEEDED: 'USAGEBOOK_BUDGET_EXCEEDED',
  RATE_LIMITED: 'USAGEBOOK_RATE_LIMITED',
});

// Arrays shared with the native fast path (src/fast.rs), per tracker:
// - scratch: track() reads [handle, prompt, completion, total, durationMs or
//   NaN, status, cacheRead, cacheWrite, reasoning]; stats() writes
//   [requests, prompt, completion, total, average, lastUsedAt ms or NaN,
//   errors, cacheRead, cacheWrite, reasoning];
// - queue: up to QUEUE_LOGS logs of the first 6 numbers plus the timestamp
//   stamped at the call, recorded by drain(n) in one native call;
// - parts: the 3 parts of each queued log that has them.
// Status is 0 (success) or 1 (error), plus WITH_PARTS when the log has
// parts: a T1-only log writes exactly the numbers it wrote before parts.
const SCRATCH_LEN = 10;
const QUEUED_LEN = 7;
const PARTS_LEN = 3;
const QUEUE_LOGS = 256;
const WITH_PARTS = 2;

function closedError(method) {
  const e = new Error(`${method}: the tracker is closed; create a new one to keep tracking`);
  e.code = ErrorCodes.CLOSED;
  return e;
}

// Native errors carry their `code`; invalid input becomes a TypeError (X1).
function fromNative(e) {
  if (e && e.code === ErrorCodes.INVALID_ARGUMENT && !(e instanceof TypeError)) {
    const t = invalid(e.message);
    return t;
  }
  return e;
}

// A flush/close task resolves to null or [code, message] (src/native.rs).
function settle(result) {
  if (result === null || result === undefined) return undefined;
  const [code, message] = result;
  const e = code === ErrorCodes.INVALID_ARGUMENT ? new TypeError(message) : new Error(message);
  e.code = code;
  throw e;
}

function isDate(v) {
  return Object.prototype.toString.call(v) === '[object Date]';
}

function bridgeArg(bridgeId, method) {
  if (bridgeId === undefined || bridgeId === null || bridgeId === '') return undefined;
  if (typeof bridgeId !== 'string') {
    throw invalid(`${method}: bridgeId must be a string, got ${show(bridgeId)}`);
  }
  return checkText(bridgeId, method, 'bridgeId');
}

// Options as the core's JSON (the core names unknown keys and wrong types).
// `__testClockMs` is the testing hook: a manual clock starting there.
function optionsArg(options, where) {
  if (options === undefined || options === null) return [undefined, undefined];
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw invalid(`${where}: options must be an object, got ${show(options)}`);
  }
  const copy = {};
  let clock;
  for (const key of Object.keys(options)) {
    const v = options[key];
    if (key === '__testClockMs') {
      clock = v;
      continue;
    }
    const t = typeof v;
    if (t === 'function' || t === 'symbol' || t === 'bigint' || (t === 'number' && !Number.isFinite(v))) {
      throw invalid(`${where}: option ${key} has an unusable value ${show(v)}`);
    }
    copy[key] = v;
  }
  if (clock !== undefined && (typeof clock !== 'number' || !Number.isFinite(clock))) {
    throw invalid(`${where}: __testClockMs must be a finite number`);
  }
  return [stringify(copy, where, 'options'), clock];
}

// The file-backed tracker's git sync calls reach the private native handle
// through this (subclasses cannot see `#native`).
const kGit = Symbol('usagebook.git');

// A stats object of the core's JSON with `lastUsedAt` as a Date (T1).
function statsFromJson(s) {
  if (s.lastUsedAt !== undefined) s.lastUsedAt = new Date(s.lastUsedAt);
  return s;
}

function dateOrNull(v) {
  return v === null || v === undefined ? null : new Date(v);
}

// Best-effort final flush at normal process (or worker) exit (T8).
const { kCloseAtExit, watchForExit, unwatch } = require('./exit-hook.js');

// How a call is recorded. `trackUsage` stamps the log in JS (`Date.now()`,
// exactly when it is called, as the seed did) and queues it; the queue goes
// to the core in one native call at the end of the current synchronous job
// (a microtask), when it is full, and before anything reads, flushes or
// closes. Nothing ever observes a queued log as missing: every read drains
// first. Only `interval` durability and the memory/no-op trackers queue,
// where a crash loses the flush window anyway; `process` and `power` record
// each call in the core before it returns (X5).
class Tracker {
  #native;
  #scratch = new Float64Array(SCRATCH_LEN);
  #queue;
  #parts;
  #queued = 0;
  #track;
  #drain;
  #stats;
  #drainSoon;
  #handles = new Map();
  #testClock;
  #closed = false;
  #closing = undefined;
  #exitRef = undefined;

  constructor(nativeTracker, testClock) {
    this.#native = nativeTracker;
    this.#testClock = testClock;
    const durability = nativeTracker.durability;
    const queued = durability === null || durability === 'interval';
    this.#queue = queued ? new Float64Array(QUEUE_LOGS * QUEUED_LEN) : null;
    this.#parts = queued ? new Float64Array(QUEUE_LOGS * PARTS_LEN) : null;
    const fast = nativeTracker.bindFast(
      this.#scratch,
      this.#queue ?? new Float64Array(QUEUED_LEN),
      this.#parts ?? new Float64Array(PARTS_LEN),
    );
    this.#track = fast.track;
    this.#drain = fast.drain;
    this.#stats = fast.stats;
    this.#drainSoon = () => {
      try {
        this.#drainQueue();
      } catch (e) {
        // Unreachable with the checks in trackUsage; never let it become an
        // uncaught exception in the host (X1).
        process.emitWarning(`usagebook: recording queued usage failed: ${e && e.message}`, {
          code: (e && e.code) || ErrorCodes.PANIC,
        });
      }
    };
    if (nativeTracker.kind === 'file') this.#exitRef = watchForExit(this);
  }

  #drainQueue() {
    const n = this.#queued;
    if (n === 0) return;
    this.#queued = 0;
    this.#drain(n);
  }

  /** Records one request's usage; stamps `id` and `timestamp` (T2). */
  trackUsage(log) {
    if (this.#closed) throw closedError('trackUsage');
    if (log === null || typeof log !== 'object') {
      throw invalid(`trackUsage: log must be an object, got ${show(log)}`);
    }
    const bridgeId = log.bridgeId;
    if (typeof bridgeId !== 'string' || bridgeId.length === 0) {
      throw invalid(`trackUsage: bridgeId must be a non-empty string, got ${show(bridgeId)}`);
    }
    const usage = log.usage;
    if (usage === null || typeof usage !== 'object') {
      throw invalid(`trackUsage: usage must be an object, got ${show(usage)}`);
    }
    let p = usage.promptTokens;
    let c = usage.completionTokens;
    let t = usage.totalTokens;
    let parts;
    if (
      !(Number.isSafeInteger(p) && p >= 0 && Number.isSafeInteger(c) && c >= 0 && Number.isSafeInteger(t) && t >= 0) ||
      usage.cacheReadTokens !== undefined ||
      usage.cacheWriteTokens !== undefined ||
      usage.reasoningTokens !== undefined
    ) {
      // Not T1 counts alone: any other SDK shape or T1 with parts, read and
      // checked by the core (or bad T1).
      const counts = sdkCounts(usage, p, c, t);
      p = counts[0];
      c = counts[1];
      t = counts[2];
      if (counts[3] !== 0 || counts[4] !== 0 || counts[5] !== 0) parts = counts;
    }
    let d = log.durationMs;
    if (d === undefined || d === null) {
      d = NaN;
    } else if (!(typeof d === 'number' && d >= 0 && d !== Infinity)) {
      throw invalid(`trackUsage: durationMs must be a finite number >= 0, got ${show(d)}`);
    }
    const s = log.status;
    let status;
    if (s === 'success' || s === undefined) status = 0;
    else if (s === 'error') status = 1;
    else throw invalid(`trackUsage: status must be "success" or "error", got ${show(s)}`);
    if (parts !== undefined) status += WITH_PARTS;
    let h = this.#handles.get(bridgeId);
    if (h === undefined) h = this.#intern(bridgeId);
    const q = this.#queue;
    if (q !== null) {
      const n = this.#queued;
      const i = n * QUEUED_LEN;
      q[i] = h;
      q[i + 1] = p;
      q[i + 2] = c;
      q[i + 3] = t;
      q[i + 4] = d;
      q[i + 5] = status;
      q[i + 6] = this.#testClock === undefined ? Date.now() : this.#testClock;
      if (parts !== undefined) {
        const r = this.#parts;
        const k = n * PARTS_LEN;
        r[k] = parts[3];
        r[k + 1] = parts[4];
        r[k + 2] = parts[5];
      }
      this.#queued = n + 1;
      if (n === 0) queueMicrotask(this.#drainSoon);
      else if (n + 1 === QUEUE_LOGS) this.#drainQueue();
      return;
    }
    const b = this.#scratch;
    b[0] = h;
    b[1] = p;
    b[2] = c;
    b[3] = t;
    b[4] = d;
    b[5] = status;
    if (parts !== undefined) {
      b[6] = parts[3];
      b[7] = parts[4];
      b[8] = parts[5];
    }
    this.#track();
  }

  #intern(bridgeId) {
    // Once per distinct id (then cached by the string): off the hot path.
    checkText(bridgeId, 'trackUsage', 'bridgeId');
    let h;
    try {
      h = this.#native.intern(bridgeId);
    } catch (e) {
      throw fromNative(e);
    }
    this.#handles.set(bridgeId, h);
    return h;
  }

  /** Retained logs, oldest first; all, or one bridge's (T3). Copies. */
  getUsageLogs(bridgeId) {
    if (this.#closed) throw closedError('getUsageLogs');
    const id = bridgeArg(bridgeId, 'getUsageLogs');
    if (this.#queued !== 0) this.#drainQueue();
    let cols;
    try {
      cols = this.#native.logs(id);
    } catch (e) {
      throw fromNative(e);
    }
    const data = cols.data;
    const n = data.length / LOG_COLUMNS;
    if (n === 0) return [];
    const ids = cols.ids.split('\n');
    const bridges = cols.bridges;
    const out = new Array(n);
    for (let i = 0, j = 0; i < n; i++, j += LOG_COLUMNS) {
      const usage = { promptTokens: data[j + 2], completionTokens: data[j + 3], totalTokens: data[j + 4] };
      // The parts, each only when not zero (as in the T7 line).
      if (data[j + 7] !== 0) usage.cacheReadTokens = data[j + 7];
      if (data[j + 8] !== 0) usage.cacheWriteTokens = data[j + 8];
      if (data[j + 9] !== 0) usage.reasoningTokens = data[j + 9];
      const duration = data[j + 5];
      const status = data[j + 6] === 1 ? 'error' : 'success';
      // Key order of the T7 line (and of the seed's `{id, timestamp, ...log}`).
      out[i] =
        duration === duration
          ? { id: ids[i], timestamp: new Date(data[j + 1]), bridgeId: bridges[data[j]], usage, durationMs: duration, status }
          : { id: ids[i], timestamp: new Date(data[j + 1]), bridgeId: bridges[data[j]], usage, status };
    }
    return out;
  }

  /** Lifetime stats of one bridge or all (T4); `lastUsedAt` absent when empty. */
  getUsageStats(bridgeId) {
    if (this.#closed) throw closedError('getUsageStats');
    if (this.#queued !== 0) this.#drainQueue();
    this.#stats(bridgeArg(bridgeId, 'getUsageStats'));
    const b = this.#scratch;
    const last = b[5];
    if (last !== last) {
      return {
        totalRequests: b[0],
        promptTokens: b[1],
        completionTokens: b[2],
        totalTokens: b[3],
        cacheReadTokens: b[7],
        cacheWriteTokens: b[8],
        reasoningTokens: b[9],
        averageTokensPerRequest: b[4],
        errorCount: b[6],
      };
    }
    return {
      totalRequests: b[0],
      promptTokens: b[1],
      completionTokens: b[2],
      totalTokens: b[3],
      cacheReadTokens: b[7],
      cacheWriteTokens: b[8],
      reasoningTokens: b[9],
      averageTokensPerRequest: b[4],
      lastUsedAt: new Date(last),
      errorCount: b[6],
    };
  }

  /**
   * Without a date: forget every log and total. With one: drop logs older
   * than it (keeping `timestamp >= olderThan`) and their totals (T5).
   */
  clearLogs(olderThan) {
    if (this.#closed) throw closedError('clearLogs');
    let ms;
    if (olderThan === undefined || olderThan === null) {
      ms = undefined;
    } else if (isDate(olderThan)) {
      ms = Date.prototype.getTime.call(olderThan);
      if (ms !== ms) throw invalid('clearLogs: olderThan must be a valid Date, got Invalid Date');
    } else if (typeof olderThan === 'number' && Number.isFinite(olderThan)) {
      ms = olderThan; // epoch ms, as the seed's `timestamp < olderThan` allowed
    } else {
      throw invalid(`clearLogs: olderThan must be a Date, got ${show(olderThan)}`);
    }
    if (this.#queued !== 0) this.#drainQueue();
    try {
      this.#native.clear(ms);
    } catch (e) {
      throw fromNative(e);
    }
  }

  /** Resolves when everything tracked so far is on disk (T8). */
  flush() {
    if (this.#closed) return Promise.reject(closedError('flush'));
    try {
      if (this.#queued !== 0) this.#drainQueue();
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#native.flush().then(settle);
  }

  /**
   * Final flush, stops the writer, releases the directory. Later calls fail
   * with `USAGEBOOK_CLOSED`; closing twice is fine.
   */
  close() {
    if (this.#closing !== undefined) return this.#closing;
    let drained;
    try {
      if (this.#queued !== 0) this.#drainQueue();
    } catch (e) {
      drained = e;
    }
    this.#closed = true;
    unwatch(this.#exitRef);
    this.#exitRef = undefined;
    this.#closing = this.#native.close().then((r) => {
      settle(r);
      if (drained !== undefined) throw drained;
    });
    return this.#closing;
  }

  /**
   * The Prometheus text exposition (format 0.0.4) of this tracker: requests,
   * errors and tokens by type per bridge, the writer's health (O1;
   * docs/telemetry.md). A Promise, like prom-client's `register.metrics()`.
   */
  metricsText() {
    try {
      if (this.#closed) throw closedError('metricsText');
      if (this.#queued !== 0) this.#drainQueue();
      return Promise.resolve(this.#native.metricsText());
    } catch (e) {
      return Promise.reject(e && e.code ? e : fromNative(e));
    }
  }

  /** Last flush, queue depth, pending bytes, last error, recovery notes (X2). */
  health() {
    if (!this.#closed && this.#queued !== 0) this.#drainQueue();
    const h = JSON.parse(this.#native.healthJson());
    h.lastFlushAt = h.lastFlushAt === null ? null : new Date(h.lastFlushAt);
    if (this.#closed) h.closed = true;
    if (h.gitSync !== undefined) {
      h.gitSync.lastSyncAt = dateOrNull(h.gitSync.lastSyncAt);
      h.gitSync.lastOkAt = dateOrNull(h.gitSync.lastOkAt);
    } else {
      h.gitSync = null;
    }
    return h;
  }

  // `syncNow()` (sync) / `getMergedStats()` on the libuv pool (issue 13).
  [kGit](sync, method) {
    if (this.#closed) return Promise.reject(closedError(method));
    try {
      if (this.#queued !== 0) this.#drainQueue();
    } catch (e) {
      return Promise.reject(e);
    }
    const p = sync ? this.#native.gitSync() : this.#native.gitMergedStats();
    return p.then(([code, text]) => {
      if (code !== '') settle([code, `${method}: ${text}`]);
      return JSON.parse(text);
    });
  }

  [kCloseAtExit]() {
    if (this.#closed) return;
    this.#closed = true;
    try {
      if (this.#queued !== 0) this.#drainQueue();
      this.#native.closeSync();
    } catch (e) {
      process.stderr.write(`usagebook: final flush at exit failed: ${e && e.message}\n`);
    }
  }

  // Testing hooks (trackers created with the `__testClockMs` option).
  __setClock(ms) {
    this.#native.setClock(ms);
    this.#testClock = ms;
  }

  __tick() {
    this.#native.tick();
  }
}

const PART_FIELDS = ['cacheReadTokens', 'cacheWriteTokens', 'reasoningTokens'];
// Numbers per log in NativeTracker.logs()'s columns.
const LOG_COLUMNS = 10;

function badCount(field, v) {
  return invalid(`trackUsage: usage.${field} must be a non-negative integer, got ${show(v)}`);
}

// `trackUsage`'s slow path: a provider SDK's usage (OpenAI Chat or
// Responses, Anthropic, Gemini `usageMetadata`, Bedrock), a whole response,
// or T1 counts with parts, read and checked by the core's one adapter:
// [promptTokens (every input token, cache reads and writes included),
// completionTokens, totalTokens, cacheReadTokens, cacheWriteTokens,
// reasoningTokens].
function sdkCounts(usage, p, c, t) {
  if (p !== undefined || c !== undefined) {
    // T1 camelCase, checked as T1 (all three counts, integers).
    if (!(Number.isSafeInteger(p) && p >= 0)) throw badCount('promptTokens', p);
    if (!(Number.isSafeInteger(c) && c >= 0)) throw badCount('completionTokens', c);
    if (!(Number.isSafeInteger(t) && t >= 0)) throw badCount('totalTokens', t);
    for (const field of PART_FIELDS) {
      const v = usage[field];
      if (!(v === undefined || v === null || (Number.isSafeInteger(v) && v >= 0))) throw badCount(field, v);
    }
  }
  const json = usageJson(usage, 'trackUsage');
  try {
    return native.trackerCounts(json);
  } catch (e) {
    if (e && e.code === ErrorCodes.INVALID_ARGUMENT) {
      throw invalid(`trackUsage: ${String(e.message).replace(/^invalid argument: /, '')}`);
    }
    throw e;
  }
}

/** Persists totals (and optionally logs) under `<baseDir>/llm-usage` (T6–T11). */
class FileBackedLlmUsageTracker extends Tracker {
  constructor(baseDir, options) {
    if (typeof baseDir !== 'string' || baseDir.length === 0) {
      throw invalid(`FileBackedLlmUsageTracker: baseDir must be a non-empty string, got ${show(baseDir)}`);
    }
    checkText(baseDir, 'FileBackedLlmUsageTracker', 'baseDir');
    const [json, clock] = optionsArg(options, 'FileBackedLlmUsageTracker');
    let t;
    try {
      t = NativeTracker.openFile(baseDir, json, clock);
    } catch (e) {
      throw fromNative(e);
    }
    super(t, clock);
  }

  /**
   * With the `gitSync` option: flushes, then syncs the git repository at
   * once (commit this device's files, fetch, merge, push without force).
   * Resolves to what the sync did; offline, the commit is kept and
   * `offline` is true (docs/git-sync.md).
   */
  syncNow() {
    return this[kGit](true, 'syncNow');
  }

  /**
   * Every device's usage in the git repository as of the last sync,
   * deduplicated by event id: `{total, devices: {id: stats}, bridges: {id:
   * stats}, segments, notes}` (G2).
   */
  getMergedStats() {
    return this[kGit](false, 'getMergedStats').then((m) => {
      statsFromJson(m.total);
      for (const k of Object.keys(m.devices)) statsFromJson(m.devices[k]);
      for (const k of Object.keys(m.bridges)) statsFromJson(m.bridges[k]);
      return m;
    });
  }
}

/** Keeps everything in memory; totals survive the `maxLogs` cap (T4, T12). */
class InMemoryLlmUsageTracker extends Tracker {
  constructor(options) {
    const [json, clock] = optionsArg(options, 'InMemoryLlmUsageTracker');
    let t;
    try {
      t = NativeTracker.memory(json, clock);
    } catch (e) {
      throw fromNative(e);
    }
    super(t, clock);
  }
}

/** Records nothing, reports empty stats, still refuses bad input (T12). */
class NoOpLlmUsageTracker extends Tracker {
  constructor() {
    super(NativeTracker.noop());
  }
}

// The budget ledger (L1-L12): its own facade, ledger.js.
const { Ledger, Hold, BudgetExceededError, RateLimitedError } = require('./ledger.js');

module.exports = {
  FileBackedLlmUsageTracker,
  InMemoryLlmUsageTracker,
  NoOpLlmUsageTracker,
  Ledger,
  Hold,
  BudgetExceededError,
  RateLimitedError,
  cost,
  Prices,
  ErrorCodes,
  VERSION,
};
