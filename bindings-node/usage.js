'use strict';
// Usage values in any provider SDK's shape (U2), and the price function
// (U4): `cost()` and `Prices`. What a usage means (which fields, inclusive
// or not) is decided once, by the core's adapter (core/src/usage.rs); here
// the caller's object only becomes JSON text for it.

const { NativePrices } = require('./native.js');

const INVALID_ARGUMENT = 'USAGEBOOK_INVALID_ARGUMENT';

function show(v) {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint') return `${v}n (a bigint)`;
  if (typeof v === 'function') return 'a function';
  if (Array.isArray(v)) return 'an array';
  if (v !== null && typeof v === 'object') return 'an object';
  return String(v);
}

function invalid(message) {
  const e = new TypeError(message);
  e.code = INVALID_ARGUMENT;
  return e;
}

// A whole response (ChatCompletion, Response, Message, a Gemini response):
// the keys of it the core reads. Only these are sent, not the generated
// content (which may be large and nested deeper than the core follows).
const RESPONSE_USAGE = ['usage', 'usageMetadata', 'usage_metadata'];
const RESPONSE_META = ['model', 'modelVersion', 'model_version', 'service_tier'];

/** `usage`, or the part of a whole response the core reads. */
function usageOf(usage) {
  for (const key of RESPONSE_USAGE) {
    const inner = usage[key];
    if (inner !== null && typeof inner === 'object' && !Array.isArray(inner)) {
      const out = { [key]: inner };
      for (const k of RESPONSE_META) {
        if (usage[k] !== undefined) out[k] = usage[k];
      }
      return out;
    }
  }
  return usage;
}

/**
 * A string the core can take: well-formed UTF-16. A lone surrogate has no
 * UTF-8 form; napi would turn it into U+FFFD (so "a\ud800" and "a\udfff"
 * would be one bridge) and JSON into an escape the core refuses (issue 11).
 */
function checkText(s, where, field) {
  if (!s.isWellFormed()) {
    throw invalid(`${where}: ${field} is not valid Unicode: it holds a lone surrogate`);
  }
  return s;
}

/**
 * JSON text of a usage value (or a whole response) for the core. Numbers
 * must be finite (JSON would turn NaN into null, "absent"); a bigint, a
 * lone surrogate or a cycle is a TypeError naming `where`.
 */
function stringify(value, where, name) {
  try {
    return JSON.stringify(value, (k, v) => {
      const field = `${name}${k ? `.${k}` : ''}`;
      if (typeof v === 'number' && !Number.isFinite(v)) {
        throw invalid(`${where}: ${field} must be a finite number, got ${v}`);
      }
      if (typeof v === 'bigint') throw invalid(`${where}: ${field} must be a number, got ${show(v)}`);
      if (typeof v === 'string') checkText(v, where, field);
      if (k) checkText(k, where, `a key of ${name}`);
      return v;
    });
  } catch (e) {
    if (e && e.code === INVALID_ARGUMENT) throw e;
    throw invalid(`${where}: ${name} cannot be read as JSON (${e && e.message})`);
  }
}

function usageJson(usage, where, name = 'usage') {
  return stringify(usageOf(usage), where, name);
}

// The native registries: the bundled one made once, on first use.
let bundled;
function bundledPrices() {
  if (bundled === undefined) bundled = NativePrices.bundled();
  return bundled;
}

// Native errors: bad input becomes a TypeError (X1).
function fromNative(e, where) {
  if (e && e.code === INVALID_ARGUMENT) return invalid(`${where}: ${String(e.message).replace(/^invalid argument: /, '')}`);
  return e;
}

const kNative = Symbol('usagebook.prices');

/**
 * A price registry: LiteLLM's bundled price map, with the caller's table
 * (an object in LiteLLM's `model_prices_and_context_window.json` format, or
 * a path to such a file) overlaid on it: its models win. Parse once, price
 * many calls.
 */
class Prices {
  constructor(source) {
    this[kNative] = nativePrices(source, 'Prices');
    Object.freeze(this);
  }

  /** How many models it prices. */
  get size() {
    return this[kNative].size;
  }
}

/** `prices` as a native registry: absent = bundled. */
function nativePrices(prices, where) {
  if (prices === undefined || prices === null) return bundledPrices();
  if (prices instanceof Prices) return prices[kNative];
  try {
    if (typeof prices === 'string') {
      if (prices.length === 0) throw invalid(`${where}: prices must be a non-empty path`);
      return NativePrices.fromPath(prices);
    }
    if (typeof prices === 'object' && !Array.isArray(prices)) {
      return NativePrices.fromJson(stringify(prices, where, 'prices'));
    }
  } catch (e) {
    throw fromNative(e, where);
  }
  throw invalid(`${where}: prices must be a Prices, a path to a LiteLLM price file or an object in that format, got ${show(prices)}`);
}

// `at`: when the call was made, a Date or epoch ms (absent = now).
function atArg(at, where) {
  if (at === undefined || at === null) return undefined;
  if (Object.prototype.toString.call(at) === '[object Date]') {
    const ms = Date.prototype.getTime.call(at);
    if (ms === ms) return ms;
  } else if (typeof at === 'number' && Number.isFinite(at)) {
    return at;
  }
  throw invalid(`${where}: at must be a valid Date or epoch milliseconds, got ${at instanceof Date ? 'Invalid Date' : show(at)}`);
}

const COST_OPTIONS = ['provider', 'prices', 'at'];

/**
 * What one call cost at LiteLLM's prices (U4). `usage` is any provider
 * SDK's usage or a whole response (then `model` may be null or '' and the
 * response's own model is priced). `at` (a Date or epoch ms, default now)
 * is when the call was made: dated prices and off-peak hours depend on it.
 * An unknown model is `priced: false`, never a silent $0; a usage with no
 * token count usagebook recognises throws a TypeError naming its keys.
 */
function cost(model, usage, options) {
  const where = 'cost';
  if (model !== undefined && model !== null && typeof model !== 'string') {
    throw invalid(`${where}: model must be a string (or null with a whole response), got ${show(model)}`);
  }
  if (usage === null || typeof usage !== 'object') {
    throw invalid(`${where}: usage must be a provider SDK's usage or response object, got ${show(usage)}`);
  }
  let provider;
  let prices;
  let at;
  if (options !== undefined && options !== null) {
    if (typeof options !== 'object' || Array.isArray(options)) {
      throw invalid(`${where}: options must be an object, got ${show(options)}`);
    }
    for (const key of Object.keys(options)) {
      if (!COST_OPTIONS.includes(key)) {
        throw invalid(`${where}: unknown option ${JSON.stringify(key)}; known: ${COST_OPTIONS.join(', ')}`);
      }
    }
    provider = options.provider;
    prices = options.prices;
    if (provider !== undefined && provider !== null && typeof provider !== 'string') {
      throw invalid(`${where}: provider must be a string, got ${show(provider)}`);
    }
    at = atArg(options.at, where);
  }
  const reg = nativePrices(prices, where);
  const json = usageJson(usage, where);
  let out;
  try {
    out = reg.costJson(model ?? '', json, provider ?? null, at ?? null);
  } catch (e) {
    throw fromNative(e, where);
  }
  const c = JSON.parse(out);
  return {
    usd: c.usd,
    inputUsd: c.input_usd,
    outputUsd: c.output_usd,
    priced: c.priced,
    model: c.model,
    items: c.items.map((i) => ({ price: i.price, units: i.units, unitUsd: i.unit_usd, usd: i.usd })),
  };
}

// `show` and `invalid` are the facade's one way to name a bad value and
// raise it (index.js and ledger.js use them too).
module.exports = { usageJson, usageOf, stringify, checkText, nativePrices, cost, Prices, show, invalid };
