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
  | 'USAGEBOOK_PANIC';

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
