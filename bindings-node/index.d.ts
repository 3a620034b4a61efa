// Type declarations of the npm package `usagebook` (the public API of
// index.js). The addon's own declarations are generated into native.d.ts by
// `napi build`; this file declares the facade users import.

/**
 * Token counts of one request (T1), and the parts the tracker keeps. The T1
 * counts are inclusive: `promptTokens` counts every input token (cache reads
 * and writes included), `completionTokens` every output token (reasoning
 * included). A part is present in a log only when it is not zero (as in the
 * `usage-logs.jsonl` line); read it as `usage.cacheReadTokens ?? 0`.
 */
export interface LlmUsage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  /** Part of `promptTokens`: tokens read from the prompt cache. */
  cacheReadTokens?: number;
  /** Part of `promptTokens`: tokens written to the prompt cache (every TTL). */
  cacheWriteTokens?: number;
  /** Part of `completionTokens`: reasoning ("thinking") tokens. */
  reasoningTokens?: number;
}

export type LlmUsageStatus = 'success' | 'error';

// ---- Usage in any provider SDK's shape (U2; docs/node.md#usage-from-any-sdk) ----
// Plain objects as the npm SDKs return them; the core reads each shape (and
// adds Anthropic's and Bedrock's cache tokens to the input). Nested details
// are typed loosely (`object`): what they hold is the core's to read.

/** OpenAI Chat Completions `usage` (also LiteLLM's `Usage`): `prompt_tokens` counts every input token, cached ones included. */
export interface OpenAiChatUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens?: number | null;
  /** `cached_tokens`, `cache_write_tokens`, `audio_tokens`, `image_tokens`. */
  prompt_tokens_details?: object | null;
  /** `reasoning_tokens` (part of `completion_tokens`), `audio_tokens`. */
  completion_tokens_details?: object | null;
}

/** OpenAI Responses `usage`: `input_tokens` counts every input token, cached ones included. */
export interface OpenAiResponsesUsage {
  input_tokens: number;
  output_tokens: number;
  total_tokens?: number | null;
  /** `cached_tokens`, `cache_write_tokens`. */
  input_tokens_details?: object | null;
  /** `reasoning_tokens` (part of `output_tokens`). */
  output_tokens_details?: object | null;
}

/** Anthropic Messages `usage`: `input_tokens` EXCLUDES cache reads and writes (usagebook adds them). */
export interface AnthropicUsage {
  input_tokens: number | null;
  output_tokens: number;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  /** `ephemeral_5m_input_tokens`, `ephemeral_1h_input_tokens`. */
  cache_creation?: object | null;
  service_tier?: string | null;
}

/** Google Gemini `usageMetadata`: `promptTokenCount` includes cached content; thoughts are output. */
export interface GeminiUsageMetadata {
  promptTokenCount?: number;
  candidatesTokenCount?: number;
  thoughtsTokenCount?: number;
  cachedContentTokenCount?: number;
  toolUsePromptTokenCount?: number;
  totalTokenCount?: number;
}

/** AWS Bedrock Converse `usage`: `inputTokens` EXCLUDES cache reads and writes (usagebook adds them). */
export interface BedrockUsage {
  inputTokens?: number;
  outputTokens?: number;
  totalTokens?: number;
  cacheReadInputTokens?: number;
  cacheWriteInputTokens?: number;
}

/** A provider SDK's usage object. */
export type ProviderUsage = OpenAiChatUsage | OpenAiResponsesUsage | AnthropicUsage | GeminiUsageMetadata | BedrockUsage;

/**
 * A whole response (`ChatCompletion`, `Response`, `Message`, a Gemini
 * `GenerateContentResponse`, a Bedrock `ConverseResponse`): its `usage`
 * (or `usageMetadata`) is read, and its `model` (or `modelVersion`) priced.
 */
export type ProviderResponse =
  | { model?: string | null; service_tier?: string | null; usage?: ProviderUsage | null }
  | { modelVersion?: string; usageMetadata?: GeminiUsageMetadata };

/** What `trackUsage`, `cost()` and `hold.commit` take as usage: T1 counts, any SDK's usage, or a whole response. */
export type UsageInput = LlmUsage | ProviderUsage | ProviderResponse;

/** `trackUsage`'s argument: a T1 log whose `usage` may be in any SDK's shape. */
export type TrackUsageLog = Omit<LlmBridgeUsageLog, 'id' | 'timestamp' | 'usage'> & { usage: UsageInput };

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

/**
 * What usagebook's trackers return from `getUsageStats`: the T1 stats plus
 * the sums of the parts, always present (0 when none were reported). Still
 * an `LlmBridgeUsageStats`, so code typed against T1 is unchanged.
 */
export interface UsageStats extends LlmBridgeUsageStats {
  /** Sum of the logs' cache reads (part of `promptTokens`). */
  cacheReadTokens: number;
  /** Sum of the logs' cache writes (part of `promptTokens`). */
  cacheWriteTokens: number;
  /** Sum of the logs' reasoning tokens (part of `completionTokens`). */
  reasoningTokens: number;
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
  /**
   * Also write every event to this device's files in a git repository and
   * sync it with the other devices' (docs/git-sync.md; G1-G6).
   */
  gitSync?: GitSyncOptions;
}

/** The `gitSync` option (docs/git-sync.md). Only `repoDir` is required. */
export interface GitSyncOptions {
  /** The repository's working tree; cloned from `remote` when it does not exist yet. */
  repoDir: string;
  /** URL or path of `origin`. */
  remote?: string;
  /** Default `"main"`. */
  branch?: string;
  /** `"30s"`, `"15m"`, `"1h"`, `"1h30m"`; default `"15m"`; `"0m"`: only at close and on `syncNow()`. */
  syncInterval?: string;
  /** Normally left out: generated once and kept outside the repository. */
  deviceId?: string;
  /** Relative to the repository (default `"usage/usage.json"`); its directory holds the devices' files. */
  path?: string;
  /** Default true; false: local files only. */
  enabled?: boolean;
  /** A segment is sealed past this size (default 4 MiB). */
  segmentMaxBytes?: number;
  /** ... or at this age (default `"1d"`). */
  segmentMaxAge?: string;
  /** Bound of the final sync at close (default `"30s"`). */
  closeTimeout?: string;
}

/** What one `syncNow()` did. */
export interface SyncReport {
  /** A commit of this device's files was made. */
  committed: boolean;
  /** The remote branch has every local commit. */
  pushed: boolean;
  /** The remote could not be reached; the local commits are kept. */
  offline: boolean;
  /** Pushes rejected because another device pushed first (then retried). */
  rejected: number;
  /** Local commits the remote does not have yet. */
  ahead: number;
  /** Stale lock files of a killed git removed before the sync. */
  removedLocks?: string[];
  /** Why the remote was not reached. */
  offlineReason?: string;
}

/** Every device's usage in the git repository, as of the last sync (G2). */
export interface MergedStats {
  total: UsageStats;
  /** By device id. */
  devices: Record<string, UsageStats>;
  /** By bridge id. */
  bridges: Record<string, UsageStats>;
  /** Segment files read. */
  segments: number;
  /** Lines skipped (malformed, duplicates, a torn last line). */
  notes: string[];
}

/** The git sync's state in `health()`. */
export interface GitSyncHealth {
  deviceId: string;
  syncs: number;
  /** Syncs in a row that failed or did not reach the remote (0 after one that did). */
  failures: number;
  lastSyncAt: Date | null;
  /** The last sync that reached the remote. */
  lastOkAt: Date | null;
  lastError: string | null;
  /** Local commits the remote does not have yet, as of the last sync. */
  pendingCommits: number;
  offline: boolean;
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
  /** `null` without the `gitSync` option. */
  gitSync: GitSyncHealth | null;
}

export type UsagebookErrorCode =
  | 'USAGEBOOK_INVALID_ARGUMENT'
  | 'USAGEBOOK_LOCKED'
  | 'USAGEBOOK_CLOSED'
  | 'USAGEBOOK_IO_ERROR'
  | 'USAGEBOOK_UNSUPPORTED_FORMAT'
  | 'USAGEBOOK_PANIC'
  | 'USAGEBOOK_BUDGET_EXCEEDED'
  | 'USAGEBOOK_RATE_LIMITED';

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
  RATE_LIMITED: 'USAGEBOOK_RATE_LIMITED';
}>;

/** The package version (the same as the Rust crates', B5). */
export declare const VERSION: string;

/** The tracker interface plus what usagebook adds: explicit flush, close and health. */
export interface UsageTracker extends LlmBridgeUsageTracker {
  /**
   * Records one request; stamps `id` and `timestamp`. `usage` is T1's
   * `{promptTokens, completionTokens, totalTokens}` or any provider SDK's
   * usage or whole response (recorded as T1 counts: `promptTokens` = every
   * input token, cache reads and writes included). Bad input, or a usage
   * with no token field usagebook recognises, throws a `TypeError` and
   * records nothing.
   */
  trackUsage(log: TrackUsageLog): void;
  /** Retained logs, oldest first; all, or one bridge's (exact match). */
  getUsageLogs(bridgeId?: string): LlmBridgeUsageLog[];
  /** Lifetime totals of one bridge, or of all, with the sums of the parts. */
  getUsageStats(bridgeId?: string): UsageStats;
  /** Without a date: forget everything. With one: drop logs with `timestamp < olderThan` and their totals. */
  clearLogs(olderThan?: Date): void;
  /** Resolves when everything tracked so far is on disk. */
  flush(): Promise<void>;
  /** Final flush; later calls fail with `USAGEBOOK_CLOSED`. Closing twice is fine. */
  close(): Promise<void>;
  /** The Prometheus text exposition (format 0.0.4) of this tracker (docs/telemetry.md). */
  metricsText(): Promise<string>;
  health(): UsageHealth;
}

/**
 * Totals (and, with `persistLogs`, logs) under `<baseDir>/llm-usage/` that
 * survive restarts and crashes. Throws `USAGEBOOK_LOCKED` if another tracker
 * (in this or another process) has the directory open.
 */
export declare class FileBackedLlmUsageTracker {
  constructor(baseDir: string, options?: FileBackedUsageOptions);
  /** With `gitSync`: flush, then sync the repository at once (never force-pushed). */
  syncNow(): Promise<SyncReport>;
  /** With `gitSync`: every device's stats in the repository, deduplicated by event id. */
  getMergedStats(): Promise<MergedStats>;
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
 * A price table in LiteLLM's `model_prices_and_context_window.json` format,
 * keyed by model name exactly as LiteLLM ships it (docs/pricing.md: the
 * fields read and how). Wherever usagebook takes prices, the table is
 * overlaid on the bundled LiteLLM snapshot: its models win, the rest keep
 * their bundled price.
 */
export type LiteLlmPrices = Record<string, Record<string, unknown>>;

/** A parsed price registry: the bundled LiteLLM snapshot, with a table (an object or a path to a LiteLLM price file) overlaid. Parse once, price many calls. */
export declare class Prices {
  /** No source: the bundled snapshot alone. Bad input throws a `TypeError`. */
  constructor(source?: LiteLlmPrices | string | null);
  /** How many models it prices. */
  readonly size: number;
}

/** One line of a {@link Cost}: which price, how many units, how much. */
export interface CostItem {
  /** The price file's field, e.g. `cache_read_input_token_cost`. */
  price: string;
  units: number;
  /** USD per unit. */
  unitUsd: number;
  usd: number;
}

/** What one call cost. */
export interface Cost {
  /** USD (0 when not priced). */
  usd: number;
  /** The input side of `usd` (LiteLLM's `prompt_cost`). */
  inputUsd: number;
  /** The output side of `usd` (LiteLLM's `completion_cost`). */
  outputUsd: number;
  /** False when no price was found: the cost is unknown, not $0. */
  priced: boolean;
  /** The price file's key that priced it; `null` when unpriced. */
  model: string | null;
  items: CostItem[];
}

export interface CostOptions {
  /** e.g. `openai`, `anthropic`, `gemini`, `azure`: `provider/model` keys are tried first. */
  provider?: string | null;
  /** Default: the bundled LiteLLM snapshot. */
  prices?: Prices | LiteLlmPrices | string | null;
  /** When the call was made (a Date or epoch ms; default now): dated prices and off-peak hours depend on it. */
  at?: Date | number | null;
}

/**
 * The price of one call at LiteLLM's prices (U4). `usage` is any SDK's
 * usage or a whole response (then `model` may be `null` or `''`: the
 * response's own model is priced). A usage with no token field usagebook
 * recognises throws a `TypeError` naming its keys.
 */
export declare function cost(model: string | null | undefined, usage: UsageInput, options?: CostOptions): Cost;

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
  /**
   * Commits without `costActualUsd` are priced from `usage` at these prices:
   * a path to a LiteLLM price file, the table itself or a {@link Prices},
   * overlaid on the bundled LiteLLM snapshot (the default).
   */
  prices?: string | LiteLlmPrices | Prices | null;
  /**
   * Strict mode refuses a commit on a model without a price and without an
   * estimate (it would count $0); `true` lets it through, counted in
   * `health().unpricedCommits`. Default false.
   */
  allowUnpriced?: boolean;
  /** How long `close` may take to drain the queue (default 30000). */
  closeDeadlineMs?: number;
  /** Rate limits (R1), checked with the budget in one transaction shared by every process. */
  rateLimits?: RateLimit[];
  /** Wait (and retry) instead of rejecting with a {@link RateLimitedError} (R2). Default false. */
  waitOnRateLimit?: boolean;
  /** The longest one wait may be, seconds (default 60). */
  maxWaitTimeoutS?: number;
  /** The longest all waits of one reservation may add up to, seconds (default 90). */
  retryBudgetS?: number;
}

/** One rate limit: any of `rpm`, `tpm`, `rpd` for the requests of `scope`. */
export interface RateLimit {
  /** `'all'`, `'provider:<name>'`, `'model:<name>'` or `'profile:<id>'` (default `'all'`). */
  scope?: string;
  /** Requests per minute. */
  rpm?: number;
  /** Tokens per minute (a reservation counts its token estimate; the commit corrects it). */
  tpm?: number;
  /** Requests per day (a sliding 24 h). */
  rpd?: number;
}

/** A reservation refused by a rate limit (R3); nothing was recorded and no limit's slot was taken. */
export declare class RateLimitedError extends Error {
  private constructor();
  readonly code: 'USAGEBOOK_RATE_LIMITED';
  readonly scope: string;
  readonly limit: 'rpm' | 'tpm' | 'rpd';
  /** 60 or 86400. */
  readonly windowS: number;
  /** The count in the window without this request. */
  readonly current: number;
  readonly maximum: number;
  /** What this request would add (1, or its tokens). */
  readonly requested: number;
  /** Seconds until it would fit; null when it never can. */
  readonly retryAfterS: number | null;
}

export type LedgerEventType = 'precheck_hold' | 'commit' | 'cancel' | 'adjust' | 'rate_limit_wait' | 'rate_limit_retry';

/** A ledger usage: anything {@link UsageInput} is, or the ledger's own camelCase numbers (`tokensIn`, `tokensOut`, `cachedTokens`, `reasoningTokens`, `images`, `audioSeconds`). */
export type LedgerUsage = UsageInput | Record<string, number>;

/** One ledger event (L1). Fields are checked when written; a bad one throws a `TypeError` naming it. */
export interface LedgerEvent {
  eventType: LedgerEventType;
  /** Ties a hold to its commit or cancel. */
  traceId: string;
  /** Required for holds and commits. */
  provider?: string;
  model?: string;
  /**
   * Any provider SDK's usage or a whole response (stored in usagebook's
   * canonical vocabulary), or the ledger's own numbers `tokensIn`,
   * `tokensOut`, `cachedTokens`, ... A usage with no token field usagebook
   * recognises is refused naming its keys.
   */
  usage?: LedgerUsage;
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
  /** Tokens sent (a `tpm` limit counts these plus `maxTokens`, else 1024). */
  inputTokens?: number;
  /** The most the call may generate. */
  maxTokens?: number;
  /** Or the whole token estimate. */
  estimateTokens?: number;
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
   * (a `usage` usagebook cannot read, an unpriced model without an
   * estimate in strict mode) rejects with a `TypeError` and leaves the
   * hold open.
   */
  commit(args?: { usage?: LedgerUsage; costActualUsd?: number | null; sync?: boolean }): Promise<void>;
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
  /** Commits settled without a price since open (at their estimate, or $0 with `allowUnpriced`). */
  unpricedCommits: number;
  /** What those commits counted, USD. */
  unpricedSpendUsd: number;
  lastCommitAt: Date | null;
  lastError: string | null;
  schemaVersion: number;
  /** What opening found worth saying (e.g. an empty database file opened as a new ledger). */
  notes: string[];
  /** Reservations refused by a rate limit, and waits for one (R2, R3). */
  rateLimited: number;
  rateLimitWaits: number;
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
  /** The rate limits in force (R1). */
  readonly rateLimits: RateLimit[];
  /** Replaces the rate limits of the open ledger; `[]` removes them. */
  setRateLimits(limits: RateLimit[]): void;
  /** Settled spend (commits, adjusts) since local midnight, USD. */
  spendToday(scope?: LedgerScope, profileId?: string | null): Promise<number>;
  /** What open, unexpired holds reserve now, USD. */
  reservedToday(scope?: LedgerScope, profileId?: string | null): Promise<number>;
  /** Resolves once everything queued is committed. */
  flush(): Promise<void>;
  /** Drains the queue into the database and stops the writer; later calls fail with `USAGEBOOK_CLOSED`. Closing twice is fine. */
  close(): Promise<void>;
  /** The Prometheus text exposition (format 0.0.4): the database's totals, the same in every process sharing it (docs/telemetry.md). */
  metricsText(): Promise<string>;
  health(): LedgerHealth;
}
