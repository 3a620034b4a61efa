'use strict';
// usagebook's budget ledger for Node (L1-L12; docs/ledger.md): the thin
// facade over the core's ledger (src/ledger.rs). It reads the caller's
// camelCase objects into the core's snake_case JSON, turns results into
// Dates and Promises, and errors into TypeErrors and BudgetExceededErrors.
//
// Threads: calls that never wait (best-effort writes, reserves and reads)
// run on the JS thread; calls that wait for the ledger's writer thread
// (strict reserves and reads, sync writes, flush, close) run on the libuv
// pool, so the event loop keeps running.

const { NativeLedger } = require('./native.js');
const { usageOf, stringify, checkText, nativePrices, Prices, show, invalid } = require('./usage.js');

const INVALID_ARGUMENT = 'USAGEBOOK_INVALID_ARGUMENT';
const CLOSED = 'USAGEBOOK_CLOSED';
const BUDGET_EXCEEDED = 'USAGEBOOK_BUDGET_EXCEEDED';
const RATE_LIMITED = 'USAGEBOOK_RATE_LIMITED';

function closedError(method) {
  const e = new Error(`${method}: the ledger is closed; open a new one to keep recording`);
  e.code = CLOSED;
  return e;
}

/** A hold that would pass the daily budget; nothing was recorded (L7). */
class BudgetExceededError extends Error {
  constructor(d) {
    super(d.message);
    this.name = 'BudgetExceededError';
    this.code = BUDGET_EXCEEDED;
    this.scope = d.scope;
    this.window = d.window;
    this.limit = d.limit;
    this.spent = d.spent;
    this.reserved = d.reserved;
    this.requested = d.requested;
    this.resetAt = new Date(d.resetAtMs);
  }
}

/**
 * A reservation refused by a rate limit (R3): nothing was recorded and no
 * limit's slot was taken. `retryAfterS` is when it would fit (null: never).
 */
class RateLimitedError extends Error {
  constructor(d) {
    super(d.message);
    this.name = 'RateLimitedError';
    this.code = RATE_LIMITED;
    this.scope = d.scope;
    this.limit = d.limit;
    this.windowS = d.windowS;
    this.current = d.current;
    this.maximum = d.maximum;
    this.requested = d.requested;
    this.retryAfterS = d.retryAfterS;
  }
}

// The core names fields as stored (snake_case); the caller wrote camelCase.
const CAMEL = {
  event_type: 'eventType',
  trace_id: 'traceId',
  cost_est_usd: 'costEstUsd',
  cost_actual_usd: 'costActualUsd',
  profile_id: 'profileId',
  estimate_usd: 'estimateUsd',
  batch_size: 'batchSize',
  flush_interval_ms: 'flushIntervalMs',
  daily_budget_usd: 'dailyBudgetUsd',
  hold_ttl_s: 'holdTtlS',
  allow_unpriced: 'allowUnpriced',
};
const SNAKE_RE = new RegExp(`\\b(${Object.keys(CAMEL).join('|')})\\b`, 'g');

function camelMessage(message) {
  return String(message)
    .replace(/^invalid argument: /, '')
    .replace(SNAKE_RE, (m) => CAMEL[m]);
}

// A native error (thrown, or a task's [code, message]) as the JS error.
function fromCode(code, message, where) {
  if (code === BUDGET_EXCEEDED) return new BudgetExceededError(JSON.parse(message));
  if (code === RATE_LIMITED) return new RateLimitedError(JSON.parse(message));
  if (code === INVALID_ARGUMENT) return invalid(`${where}: ${camelMessage(message)}`);
  const e = new Error(code === CLOSED ? `${where}: the ledger is closed` : message);
  e.code = code;
  return e;
}

function fromNative(e, where) {
  if (e && typeof e.code === 'string' && e.code.startsWith('USAGEBOOK_')) return fromCode(e.code, e.message, where);
  return e;
}

// A task resolves to ['', resultJson] or [code, message] (src/ledger.rs).
function taskResult(where) {
  return ([code, payload]) => {
    if (code !== '') throw fromCode(code, payload, where);
    return JSON.parse(payload);
  };
}

function call(where, f) {
  try {
    return f();
  } catch (e) {
    throw fromNative(e, where);
  }
}

function rejectWith(where, f) {
  try {
    return f();
  } catch (e) {
    return Promise.reject(fromNative(e, where));
  }
}

const EVENT_KEYS = {
  eventType: 'event_type',
  traceId: 'trace_id',
  provider: 'provider',
  model: 'model',
  usage: 'usage',
  costEstUsd: 'cost_est_usd',
  costActualUsd: 'cost_actual_usd',
  status: 'status',
  timing: 'timing',
  timestamp: 'timestamp',
  profileId: 'profile_id',
  id: 'id',
};

function snake(key) {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

// `timing` (and the ledger's own camelCase usage): numbers, keys stored in
// snake_case (`tokensIn` is `tokens_in`).
function numberMap(v, field, where, allowNull) {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw invalid(`${where}: ${field} must be an object, got ${show(v)}`);
  const out = {};
  for (const k of Object.keys(v)) {
    const x = v[k];
    if (x === null && allowNull) continue;
    if (field === 'usage' ? !(typeof x === 'number' && Number.isFinite(x) && x >= 0) : !(typeof x === 'number' && Number.isFinite(x))) {
      throw invalid(`${where}: ${field}.${k} must be a ${field === 'usage' ? 'finite number >= 0' : 'finite number'}, got ${show(x)}`);
    }
    out[snake(k)] = x;
  }
  return out;
}

// `usage`: any provider SDK's usage (OpenAI Chat or Responses, Anthropic,
// Gemini `usageMetadata`, Bedrock, the tracker's `promptTokens`), or a whole
// response, goes to the core unchanged: its one adapter reads it at write
// time and the ledger stores it in the canonical vocabulary. The ledger's
// own camelCase names (`tokensIn`, `tokensOut`, `cachedTokens`, ...) are
// still written in snake_case, as before.
function usageArg(v, where) {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw invalid(`${where}: usage must be an object, got ${show(v)}`);
  if ((v.tokensIn !== undefined && v.tokensIn !== null) || (v.tokensOut !== undefined && v.tokensOut !== null)) {
    return numberMap(v, 'usage', where, false);
  }
  return usageOf(v);
}

// The caller's event as the core's JSON (the core validates the rest and
// names the field).
function eventJson(ev, where) {
  if (ev === null || typeof ev !== 'object' || Array.isArray(ev)) {
    throw invalid(`${where}: event must be an object, got ${show(ev)}`);
  }
  const out = {};
  for (const key of Object.keys(ev)) {
    const v = ev[key];
    const to = EVENT_KEYS[key];
    if (to === undefined) {
      throw invalid(`${where}: unknown event field ${JSON.stringify(key)}; known: ${Object.keys(EVENT_KEYS).join(', ')}`);
    }
    if (v === undefined || v === null) continue;
    if (key === 'usage') {
      out[to] = usageArg(v, where);
    } else if (key === 'timing') {
      out[to] = numberMap(v, key, where, true);
    } else if (key === 'timestamp') {
      if (Object.prototype.toString.call(v) === '[object Date]') {
        const ms = Date.prototype.getTime.call(v);
        if (ms !== ms) throw invalid(`${where}: timestamp must be a valid Date, got Invalid Date`);
        out[to] = ms / 1000;
      } else if (typeof v === 'number' && Number.isFinite(v) && v > 0) {
        if (v > 1e11) {
          throw invalid(`${where}: timestamp is epoch seconds (or a Date); ${v} looks like milliseconds`);
        }
        out[to] = v;
      } else {
        throw invalid(`${where}: timestamp must be a Date or positive epoch seconds, got ${show(v)}`);
      }
    } else if (typeof v === 'number' && !Number.isFinite(v)) {
      throw invalid(`${where}: ${key} must be a finite number, got ${v}`);
    } else if (typeof v === 'bigint') {
      throw invalid(`${where}: ${key} must be a number, got ${show(v)}`);
    } else {
      // Named as the caller wrote it (the JSON check below names the
      // core's snake_case field).
      if (typeof v === 'string') checkText(v, where, key);
      out[to] = v;
    }
  }
  // Checks what JSON would lose in `usage` (NaN, bigints, cycles).
  return stringify(out, where, 'event');
}

function optString(v, field, where) {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw invalid(`${where}: ${field} must be a string, got ${show(v)}`);
  return checkText(v, where, field);
}

function reqString(v, field, where) {
  if (typeof v !== 'string' || v.length === 0) throw invalid(`${where}: ${field} must be a non-empty string, got ${show(v)}`);
  checkText(v, where, field);
  return v;
}

const OPTION_KEYS = [
  'mode', 'batchSize', 'flushIntervalMs', 'dailyBudgetUsd', 'timezone', 'holdTtlS', 'prices', 'allowUnpriced', 'closeDeadlineMs',
  'rateLimits', 'waitOnRateLimit', 'maxWaitTimeoutS', 'retryBudgetS',
];

// [options JSON, inline prices JSON, Prices registry]: `prices` is a path
// (the core reads it), an object in LiteLLM's format, or a `Prices`; each
// is overlaid on the bundled snapshot.
function ledgerOptions(options) {
  const where = 'Ledger';
  if (options === undefined || options === null) return [undefined, undefined, undefined];
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw invalid(`${where}: options must be an object, got ${show(options)}`);
  }
  const copy = {};
  let prices;
  let registry;
  for (const key of Object.keys(options)) {
    const v = options[key];
    if (!OPTION_KEYS.includes(key)) {
      throw invalid(`${where}: unknown option ${JSON.stringify(key)}; known: ${OPTION_KEYS.join(', ')}`);
    }
    if (v === undefined || v === null) continue;
    if (key === 'prices') {
      if (typeof v === 'string') copy.pricesPath = v;
      else if (v instanceof Prices) registry = nativePrices(v, where);
      else if (typeof v === 'object' && !Array.isArray(v)) prices = stringify(v, where, 'prices');
      else throw invalid(`${where}: prices must be a path, an object in LiteLLM's format or a Prices, got ${show(v)}`);
      continue;
    }
    if (key === 'allowUnpriced' && typeof v !== 'boolean') throw invalid(`${where}: option allowUnpriced must be a boolean, got ${show(v)}`);
    if (typeof v === 'number' && !Number.isFinite(v)) throw invalid(`${where}: option ${key} must be a finite number, got ${v}`);
    copy[key] = v;
  }
  return [stringify(copy, where, 'options'), prices, registry];
}

// Ledgers still open at process exit are closed (their queue drained) on
// the way out (L4).
const { kCloseAtExit, watchForExit, unwatch } = require('./exit-hook.js');

const kWrite = Symbol('usagebook.ledgerWrite');

/** An open reservation (L6); settle it once with `commit` or `cancel`. */
class Hold {
  #ledger;
  #settled = false;

  constructor(ledger, d) {
    this.#ledger = ledger;
    this.traceId = d.traceId;
    this.eventId = d.eventId;
    this.provider = d.provider;
    this.model = d.model;
    this.profileId = d.profileId;
    this.amountUsd = d.amountUsd;
    this.expiresAt = new Date(d.expiresAtMs);
    Object.freeze(this);
  }

  /** True once `commit` or `cancel` was accepted. */
  get settled() {
    return this.#settled;
  }

  #settle(method, ev, sync) {
    if (this.#settled) {
      return Promise.reject(
        invalid(`hold.${method}: the hold for trace ${JSON.stringify(this.traceId)} is already settled (committed or cancelled); a hold settles once`),
      );
    }
    this.#settled = true;
    let p;
    try {
      p = this.#ledger[kWrite](`hold.${method}`, ev, sync);
    } catch (e) {
      this.#settled = false; // refused: the hold stays open
      return Promise.reject(e);
    }
    // With `sync` a refusal (bad usage, an unpriced commit in strict mode)
    // arrives asynchronously: the hold stays open then too.
    return p.catch((e) => {
      if (e && e.code === INVALID_ARGUMENT) this.#settled = false;
      throw e;
    });
  }

  /**
   * Records the spend (the actual cost if given, else `usage` priced, else
   * the estimate for an unpriced model) and releases the reservation.
   */
  commit(args) {
    const where = 'hold.commit';
    if (args !== undefined && args !== null && (typeof args !== 'object' || Array.isArray(args))) {
      return Promise.reject(invalid(`${where}: the argument must be an object, got ${show(args)}`));
    }
    const { usage, costActualUsd, sync = false } = args ?? {};
    if (typeof sync !== 'boolean') return Promise.reject(invalid(`${where}: sync must be a boolean, got ${show(sync)}`));
    const ev = {
      eventType: 'commit',
      traceId: this.traceId,
      provider: this.provider,
      model: this.model,
      usage,
      costEstUsd: this.amountUsd,
      costActualUsd,
      profileId: this.profileId,
    };
    return this.#settle('commit', ev, sync);
  }

  /** Releases the reservation without spend. */
  cancel(args) {
    const where = 'hold.cancel';
    if (args !== undefined && args !== null && (typeof args !== 'object' || Array.isArray(args))) {
      return Promise.reject(invalid(`${where}: the argument must be an object, got ${show(args)}`));
    }
    const { sync = false } = args ?? {};
    if (typeof sync !== 'boolean') return Promise.reject(invalid(`${where}: sync must be a boolean, got ${show(sync)}`));
    const ev = {
      eventType: 'cancel',
      traceId: this.traceId,
      provider: this.provider,
      model: this.model,
      status: 'cancelled',
      profileId: this.profileId,
    };
    return this.#settle('cancel', ev, sync);
  }
}

/**
 * The budget ledger on one SQLite file: holds, commits, cancels and adjusts
 * as immutable events; today's spend and reservations derived from them.
 */
class Ledger {
  #native;
  #strict;
  #closed = false;
  #closing = undefined;
  #exitRef;

  constructor(path, options) {
    if (typeof path !== 'string' || path.length === 0) {
      throw invalid(`Ledger: path must be a non-empty string, got ${show(path)}`);
    }
    checkText(path, 'Ledger', 'path');
    const [json, prices, registry] = ledgerOptions(options);
    this.#native = call('Ledger', () => NativeLedger.open(path, json, prices, registry));
    this.#strict = this.#native.mode === 'strict_budget';
    this.#exitRef = watchForExit(this);
  }

  /** `'best_effort'` or `'strict_budget'`. */
  get mode() {
    return this.#native.mode;
  }

  /**
   * Writes an event; returns once it is queued (best effort). A
   * `precheck_hold` over the budget throws a `BudgetExceededError`; in
   * strict mode a hold waits for the writer (prefer `reserve`).
   */
  writeEvent(event) {
    if (this.#closed) throw closedError('writeEvent');
    const json = eventJson(event, 'writeEvent');
    call('writeEvent', () => this.#native.writeEvent(json));
  }

  /**
   * Writes an event; with `{ sync: true }` resolves once it is committed
   * (with every event queued before it), else once queued.
   */
  writeEventAsync(event, options) {
    const where = 'writeEventAsync';
    if (options !== undefined && options !== null && (typeof options !== 'object' || Array.isArray(options))) {
      return Promise.reject(invalid(`${where}: options must be an object, got ${show(options)}`));
    }
    const sync = options?.sync ?? false;
    if (typeof sync !== 'boolean') return Promise.reject(invalid(`${where}: sync must be a boolean, got ${show(sync)}`));
    return rejectWith(where, () => this[kWrite](where, event, sync));
  }

  [kWrite](where, event, sync) {
    if (this.#closed) throw closedError(where);
    const json = eventJson(event, where);
    if (!sync && !(this.#strict && event.eventType === 'precheck_hold')) {
      call(where, () => this.#native.writeEvent(json));
      return Promise.resolve();
    }
    return this.#native.writeEventSync(json).then(taskResult(where)).then(() => undefined);
  }

  /**
   * Reserves an estimate before a call (a `precheck_hold`); rejects with a
   * `BudgetExceededError` if spent + reserved + estimate > budget (equality
   * passes). Strict: resolves once the hold is committed.
   */
  reserve(args) {
    const where = 'reserve';
    return rejectWith(where, () => {
      if (this.#closed) throw closedError(where);
      if (args === null || typeof args !== 'object' || Array.isArray(args)) {
        throw invalid(`${where}: the argument must be an object, got ${show(args)}`);
      }
      const traceId = reqString(args.traceId, 'traceId', where);
      const provider = reqString(args.provider, 'provider', where);
      const model = reqString(args.model, 'model', where);
      const est = args.estimateUsd;
      if (!(typeof est === 'number' && Number.isFinite(est) && est >= 0)) {
        throw invalid(`${where}: estimateUsd must be a finite number >= 0, got ${show(est)}`);
      }
      const profileId = optString(args.profileId, 'profileId', where);
      const request = { traceId, provider, model, estimateUsd: est, profileId };
      for (const k of ['inputTokens', 'maxTokens', 'estimateTokens']) {
        const n = args[k];
        if (n === undefined || n === null) continue;
        if (!Number.isSafeInteger(n) || n < 0) throw invalid(`${where}: ${k} must be an integer >= 0, got ${show(n)}`);
        request[k] = n;
      }
      const json = JSON.stringify(request);
      // Strict, or under rate limits (a transaction, maybe a wait): on the
      // pool, never blocking the event loop.
      if (this.#strict || this.#native.rateLimitsJson() !== '[]') {
        return this.#native
          .reserveAsync(json)
          .then(taskResult(where))
          .then((d) => new Hold(this, d));
      }
      const d = JSON.parse(this.#native.reserve(json));
      return Promise.resolve(new Hold(this, d));
    });
  }

  /** The rate limits in force (R1), as `rateLimits` takes them. */
  get rateLimits() {
    return JSON.parse(this.#native.rateLimitsJson());
  }

  /** Replaces the rate limits of the open ledger (R1); `[]` removes them. */
  setRateLimits(limits) {
    const where = 'setRateLimits';
    if (this.#closed) throw closedError(where);
    if (!Array.isArray(limits)) throw invalid(`${where}: limits must be an array, got ${show(limits)}`);
    try {
      this.#native.setRateLimits(stringify(limits, where, 'limits'));
    } catch (e) {
      throw fromNative(e, where);
    }
  }

  #query(where, scope, profileId, reserved) {
    return rejectWith(where, () => {
      if (this.#closed) throw closedError(where);
      const s = scope === undefined || scope === null ? 'all' : scope;
      if (typeof s !== 'string') throw invalid(`${where}: scope must be "all", "provider:<name>" or "model:<name>", got ${show(s)}`);
      const p = optString(profileId, 'profileId', where);
      if (this.#strict) return this.#native.queryAsync(s, p, reserved).then(taskResult(where));
      return Promise.resolve(this.#native.query(s, p, reserved));
    });
  }

  /** Settled spend (USD) since local midnight; always a Promise (strict mode reads the database). */
  spendToday(scope = 'all', profileId) {
    return this.#query('spendToday', scope, profileId, false);
  }

  /** What open, unexpired holds reserve (USD); always a Promise. */
  reservedToday(scope = 'all', profileId) {
    return this.#query('reservedToday', scope, profileId, true);
  }

  /** Resolves once everything queued is committed. */
  flush() {
    if (this.#closed) return Promise.reject(closedError('flush'));
    return this.#native.flush().then(taskResult('flush')).then(() => undefined);
  }

  /** Drains the queue into the database and stops the writer; twice is fine. */
  close() {
    if (this.#closing !== undefined) return this.#closing;
    this.#closed = true;
    unwatch(this.#exitRef);
    this.#closing = this.#native.close().then(taskResult('close')).then(() => undefined);
    return this.#closing;
  }

  /**
   * The Prometheus text exposition (format 0.0.4): the database's totals,
   * the same in every process sharing the file, and this process's writer
   * (O1; docs/telemetry.md). Read on the libuv pool.
   */
  metricsText() {
    if (this.#closed) return Promise.reject(closedError('metricsText'));
    return this.#native.metricsText().then(taskResult('metricsText'));
  }

  /** Queue depth, events written, open holds, last commit and error (X2). */
  health() {
    const h = JSON.parse(this.#native.healthJson());
    h.lastCommitAt = h.lastCommitAt === null ? null : new Date(h.lastCommitAt);
    if (this.#closed) h.closed = true;
    return h;
  }

  [kCloseAtExit]() {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#native.closeSync();
    } catch (e) {
      process.stderr.write(`usagebook: closing the ledger at exit failed: ${e && e.message}\n`);
    }
  }
}

module.exports = { Ledger, Hold, BudgetExceededError, RateLimitedError };
