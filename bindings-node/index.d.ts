// Type declarations of the npm package `usagebook` (the public API of
// index.js). The addon's own declarations are generated into native.d.ts by
// `napi build`; this file declares the facade users import.

/** Token counts of one request (T1). */
export interface LlmUsage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

export type LlmUsageStatus = 'success' | 'error';

/** One recorded request (T1). `id` and `timestamp` are stamped by the tracker. */
export interface LlmBridgeUsageLog {
  id: string;
  bridgeId: string;
  timestamp: Date;
  usage: LlmUsage;
  durationMs?: number;
  status: LlmUsageStatus;
}

/** Lifetime totals of one bridge or all (T1, T4). `lastUsedAt` is absent when nothing was recorded. */
export interface LlmBridgeUsageStats {
  totalRequests: number;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  averageTokensPerRequest: number;
  lastUsedAt?: Date;
  errorCount: number;
}

/** The interface every tracker implements (T1). */
export interface LlmBridgeUsageTracker {
  trackUsage(log: Omit<LlmBridgeUsageLog, 'id' | 'timestamp'>): void;
  getUsageLogs(bridgeId?: string): LlmBridgeUsageLog[];
  getUsageStats(bridgeId?: string): LlmBridgeUsageStats;
  clearLogs(olderThan?: Date): void;
}

/**
 * How much a crash may lose (X5; docs/durability.md):
 * - `interval` (default): a crash loses at most the flush window;
 * - `process` / `process-safe`: a crash of the process loses nothing acknowledged;
 * - `power` / `power-safe`: nothing acknowledged is lost even on power loss
 *   (fsync before `trackUsage` returns).
 */
export type Durability = 'interval' | 'process' | 'process-safe' | 'power' | 'power-safe';

/** Options of {@link FileBackedLlmUsageTracker} (T6). */
export interface FileBackedUsageOptions {
  /** Flush at least this often (default 30000). */
  flushIntervalMs?: number;
  /** Flush when this many logs are pending (default 100). */
  flushEveryNLogs?: number;
  /** Also write every log to `usage-logs.jsonl` (default false: totals only). */
  persistLogs?: boolean;
  /** Logs kept by `getUsageLogs` and in the log file (default 10000); totals are never trimmed. */
  maxLogs?: number;
  /** Byte cap of `usage-logs.jsonl` (default: only the count cap). */
  maxLogBytes?: number;
  /** Default `interval`. */
  durability?: Durability;
}

/** Options of {@link InMemoryLlmUsageTracker}. */
export interface InMemoryUsageOptions {
  /** Logs kept by `getUsageLogs` (default 10000); totals are never trimmed. */
  maxLogs?: number;
}

/** What a host shows on a status page (X2). */
export interface UsageHealth {
  kind: 'memory' | 'file' | 'noop';
  closed: boolean;
  durability: 'interval' | 'process' | 'power' | null;
  lastFlushAt: Date | null;
  flushCount: number;
  /** Logs recorded but not yet written. */
  queueDepth: number;
  /** Approximate bytes those logs take on disk. */
  pendingBytes: number;
  retainedLogs: number;
  lastError: string | null;
  /** What recovery found at open: replayed events, files moved aside. */
  recovery: string[];
}

export type UsagebookErrorCode =
  | 'USAGEBOOK_INVALID_ARGUMENT'
  | 'USAGEBOOK_LOCKED'
  | 'USAGEBOOK_CLOSED'
  | 'USAGEBOOK_IO_ERROR'
  | 'USAGEBOOK_UNSUPPORTED_FORMAT'
  | 'USAGEBOOK_PANIC'
  | 'USAGEBOOK_BUDGET_EXCEEDED';

/** Every error usagebook throws or rejects with; bad input is a `TypeError` with code `USAGEBOOK_INVALID_ARGUMENT`. */
export interface UsagebookError extends Error {
  code: UsagebookErrorCode;
}

export declare const ErrorCodes: Readonly<{
  INVALID_ARGUMENT: 'USAGEBOOK_INVALID_ARGUMENT';
  LOCKED: 'USAGEBOOK_LOCKED';
  CLOSED: 'USAGEBOOK_CLOSED';
  IO_ERROR: 'USAGEBOOK_IO_ERROR';
  UNSUPPORTED_FORMAT: 'USAGEBOOK_UNSUPPORTED_FORMAT';
  PANIC: 'USAGEBOOK_PANIC';
  BUDGET_EXCEEDED: 'USAGEBOOK_BUDGET_EXCEEDED';
}>;

/** The package version (the same as the Rust crates', B5). */
export declare const VERSION: string;

/** The tracker interface plus what usagebook adds: explicit flush, close and health. */
export interface UsageTracker extends LlmBridgeUsageTracker {
  /** Records one request; stamps `id` and `timestamp`. Bad input throws a `TypeError` and records nothing. */
  trackUsage(log: Omit<LlmBridgeUsageLog, 'id' | 'timestamp'>): void;
  /** Retained logs, oldest first; all, or one bridge's (exact match). */
  getUsageLogs(bridgeId?: string): LlmBridgeUsageLog[];
  /** Lifetime totals of one bridge, or of all. */
  getUsageStats(bridgeId?: string): LlmBridgeUsageStats;
  /** Without a date: forget everything. With one: drop logs with `timestamp < olderThan` and their totals. */
  clearLogs(olderThan?: Date): void;
  /** Resolves when everything tracked so far is on disk. */
  flush(): Promise<void>;
  /** Final flush; later calls fail with `USAGEBOOK_CLOSED`. Closing twice is fine. */
  close(): Promise<void>;
  health(): UsageHealth;
}

/**
 * Totals (and, with `persistLogs`, logs) under `<baseDir>/llm-usage/` that
 * survive restarts and crashes. Throws `USAGEBOOK_LOCKED` if another tracker
 * (in this or another process) has the directory open.
 */
export declare class FileBackedLlmUsageTracker {
  constructor(baseDir: string, options?: FileBackedUsageOptions);
}
export interface FileBackedLlmUsageTracker extends UsageTracker {}

/** Everything in memory; lifetime totals survive the `maxLogs` cap. */
export declare class InMemoryLlmUsageTracker {
  constructor(options?: InMemoryUsageOptions);
}
export interface InMemoryLlmUsageTracker extends UsageTracker {}

/** Records nothing and reports empty stats; still refuses bad input. */
export declare class NoOpLlmUsageTracker {
  constructor();
}
export interface NoOpLlmUsageTracker extends UsageTracker {}

// ---- The budget ledger (L1-L12; docs/ledger.md, docs/node.md#ledger) ----

/** `best_effort`: prechecks and reads answer from memory. `strict_budget`: check-and-hold is one database transaction, atomic across processes. */
export type LedgerMode = 'best_effort' | 'strict_budget';

/**
 * A price table in LiteLLM's `model_prices_and_context_window.json` format:
 * `input_cost_per_token`, `output_cost_per_token`,
 * `cache_read_input_token_cost`, `output_cost_per_reasoning_token`,
 * `input/output_cost_per_image`, `input/output_cost_per_second`; other
 * fields are ignored. A key `model@2026-01-01` is a price from that date on.
 */
export type LiteLlmPrices = Record<string, Record<string, unknown>>;

/** Options of {@link Ledger}. */
export interface LedgerOptions {
  /** Default `best_effort`. */
  mode?: LedgerMode;
  /** Commit when this many events are queued (default 100). */
  batchSize?: number;
  /** ... or when the oldest queued event is this old (default 200). */
  flushIntervalMs?: number;
  /** The daily budget of scope `all` in USD; absent = no budget. */
  dailyBudgetUsd?: number | null;
  /** The IANA zone whose midnight starts "today" (default `UTC`). */
  timezone?: string;
  /** An unsettled hold stops reserving after this long (default 900). */
  holdTtlS?: number;
  /** A path to a LiteLLM price file, or the table itself: commits without `costActualUsd` are priced from `usage`. */
  prices?: string | LiteLlmPrices | null;
  /** How long `close` may take to drain the queue (default 30000). */
  closeDeadlineMs?: number;
}

export type LedgerEventType = 'precheck_hold' | 'commit' | 'cancel' | 'adjust';

/** One ledger event (L1). Fields are checked when written; a bad one throws a `TypeError` naming it. */
export interface LedgerEvent {
  eventType: LedgerEventType;
  /** Ties a hold to its commit or cancel. */
  traceId: string;
  /** Required for holds and commits. */
  provider?: string;
  model?: string;
  /** Numbers >= 0: `tokensIn`, `tokensOut`, `cachedTokens`, `reasoningTokens`, `images`, `audioSeconds`, ... (stored in snake_case). */
  usage?: Record<string, number>;
  /** The estimate (what a hold reserves), USD. */
  costEstUsd?: number;
  /** The actual cost, USD; for an `adjust` the correction (may be negative). */
  costActualUsd?: number | null;
  /** Default `ok`. */
  status?: 'ok' | 'error' | 'cancelled';
  /** `ttftMs`, `totalMs`, ... */
  timing?: Record<string, number | null>;
  /** A Date or epoch seconds; default now. */
  timestamp?: Date | number;
  profileId?: string | null;
  /** Idempotency key (default a UUIDv7): the same id written twice counts once. */
  id?: string;
}

/** What {@link Ledger.reserve} takes. */
export interface ReserveArgs {
  traceId: string;
  provider: string;
  model: string;
  /** USD, >= 0. */
  estimateUsd: number;
  profileId?: string | null;
}

/** `'all'`, `'provider:<name>'` or `'model:<name>'`. */
export type LedgerScope = 'all' | `provider:${string}` | `model:${string}`;

/** An open reservation; settle it once with `commit` or `cancel` (a second settle rejects with `USAGEBOOK_INVALID_ARGUMENT`). */
export declare class Hold {
  private constructor();
  readonly traceId: string;
  readonly eventId: string;
  readonly provider: string;
  readonly model: string;
  readonly profileId: string | null;
  readonly amountUsd: number;
  /** When the hold stops reserving if not settled. */
  readonly expiresAt: Date;
  /** True once `commit` or `cancel` was accepted. */
  readonly settled: boolean;
  /**
   * Records the spend (the actual cost if given, else `usage` priced, else
   * the estimate for an unpriced model) and releases the reservation.
   * Resolves once queued, or with `sync` once committed. A refused commit
   * (bad `usage`) leaves the hold open.
   */
  commit(args?: { usage?: Record<string, number>; costActualUsd?: number | null; sync?: boolean }): Promise<void>;
  /** Releases the reservation without spend. */
  cancel(args?: { sync?: boolean }): Promise<void>;
}

/** A hold that would pass the daily budget (`spent + reserved + requested > limit`); nothing was recorded. */
export declare class BudgetExceededError extends Error {
  private constructor();
  readonly code: 'USAGEBOOK_BUDGET_EXCEEDED';
  /** `'all'`. */
  readonly scope: string;
  /** `'day'`. */
  readonly window: string;
  /** USD. */
  readonly limit: number;
  readonly spent: number;
  readonly reserved: number;
  readonly requested: number;
  /** The next local midnight in the ledger's timezone. */
  readonly resetAt: Date;
}

/** What a host shows on a status page (X2). */
export interface LedgerHealth {
  mode: LedgerMode;
  path: string;
  closed: boolean;
  /** Events queued, not yet committed. */
  queueDepth: number;
  eventsWritten: number;
  batches: number;
  /** Events whose id was already in the database. */
  duplicates: number;
  rejected: number;
  expiredHolds: number;
  openHolds: number;
  lastCommitAt: Date | null;
  lastError: string | null;
  schemaVersion: number;
}

/**
 * The budget ledger on one SQLite file (L1-L12). Calls that may wait for its
 * writer thread return Promises and never block the event loop. The rule for
 * reads: `spendToday` and `reservedToday` always return Promises (in
 * best-effort mode they are already resolved with the value at call time;
 * in strict mode they read the database after committing the queue).
 */
export declare class Ledger {
  /** Opens (creating or migrating) the database. Bad options throw a `TypeError` naming the option. */
  constructor(path: string, options?: LedgerOptions);
  readonly mode: LedgerMode;
  /**
   * Writes an event; returns once it is queued and counted. A
   * `precheck_hold` over the budget throws a {@link BudgetExceededError}
   * (in strict mode such a hold waits for the writer: prefer `reserve`).
   */
  writeEvent(event: LedgerEvent): void;
  /** Writes an event; with `sync` resolves once it is committed, with every event queued before it. */
  writeEventAsync(event: LedgerEvent, options?: { sync?: boolean }): Promise<void>;
  /**
   * Reserves an estimate before a call; rejects with a
   * {@link BudgetExceededError} if it would pass the budget (equality
   * passes). Strict mode: resolves once the hold is durable.
   */
  reserve(args: ReserveArgs): Promise<Hold>;
  /** Settled spend (commits, adjusts) since local midnight, USD. */
  spendToday(scope?: LedgerScope, profileId?: string | null): Promise<number>;
  /** What open, unexpired holds reserve now, USD. */
  reservedToday(scope?: LedgerScope, profileId?: string | null): Promise<number>;
  /** Resolves once everything queued is committed. */
  flush(): Promise<void>;
  /** Drains the queue into the database and stops the writer; later calls fail with `USAGEBOOK_CLOSED`. Closing twice is fine. */
  close(): Promise<void>;
  health(): LedgerHealth;
}
