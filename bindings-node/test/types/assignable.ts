// B2/T1: each class is assignable to an LlmBridgeUsageTracker interface
// written here from T1 (not imported from the package), so a change to the
// package's declarations that breaks drop-in use fails `tsc --noEmit`.
import {
  FileBackedLlmUsageTracker,
  InMemoryLlmUsageTracker,
  NoOpLlmUsageTracker,
  type FileBackedUsageOptions,
  type MergedStats,
  type SyncReport,
  type LlmBridgeUsageLog as PackageLog,
  type LlmBridgeUsageStats as PackageStats,
  type LlmBridgeUsageTracker as PackageTracker,
  type LlmUsage as PackageUsage,
  type LlmUsageStatus as PackageStatus,
  type UsagebookError,
  type UsageStats,
} from 'usagebook';

// ---- T1, as the host app declares it today ----
interface LlmUsage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}
interface LlmBridgeUsageLog {
  id: string;
  bridgeId: string;
  timestamp: Date;
  usage: LlmUsage;
  durationMs?: number;
  status: 'success' | 'error';
}
interface LlmBridgeUsageStats {
  totalRequests: number;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  averageTokensPerRequest: number;
  lastUsedAt?: Date;
  errorCount: number;
}
interface LlmBridgeUsageTracker {
  trackUsage(log: Omit<LlmBridgeUsageLog, 'id' | 'timestamp'>): void;
  getUsageLogs(bridgeId?: string): LlmBridgeUsageLog[];
  getUsageStats(bridgeId?: string): LlmBridgeUsageStats;
  clearLogs(olderThan?: Date): void;
}

// ---- each class is assignable ----
const options: FileBackedUsageOptions = { flushIntervalMs: 30_000, flushEveryNLogs: 100, persistLogs: false, maxLogs: 10_000 };
const trackers: LlmBridgeUsageTracker[] = [
  new FileBackedLlmUsageTracker('./data', options),
  new FileBackedLlmUsageTracker('./data'),
  new InMemoryLlmUsageTracker(),
  new InMemoryLlmUsageTracker({ maxLogs: 10 }),
  new NoOpLlmUsageTracker(),
];

// The drop-in swap: code typed against the host's interface keeps compiling.
function useTracker(t: LlmBridgeUsageTracker): Date | undefined {
  t.trackUsage({ bridgeId: 'openai', usage: { promptTokens: 1, completionTokens: 2, totalTokens: 3 }, status: 'success' });
  t.trackUsage({ bridgeId: 'openai', usage: { promptTokens: 1, completionTokens: 2, totalTokens: 3 }, durationMs: 5, status: 'error' });
  const logs: LlmBridgeUsageLog[] = t.getUsageLogs('openai');
  const first: Date = logs[0].timestamp;
  t.clearLogs(first);
  t.clearLogs();
  return t.getUsageStats().lastUsedAt;
}
trackers.forEach(useTracker);

// ---- the package's own types are the same shapes, both ways ----
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const sameUsage: Same<LlmUsage, PackageUsage> = true;
const sameStatus: Same<'success' | 'error', PackageStatus> = true;
const sameLog: Same<LlmBridgeUsageLog, PackageLog> = true;
const sameStats: Same<LlmBridgeUsageStats, PackageStats> = true;
// What the trackers return adds the part sums (cacheReadTokens, ...): still
// a host LlmBridgeUsageStats, and nothing else differs.
type Extends<A, B> = [A] extends [B] ? true : false;
const richStats: Extends<UsageStats, LlmBridgeUsageStats> = true;
const onlyParts: Same<Omit<UsageStats, 'cacheReadTokens' | 'cacheWriteTokens' | 'reasoningTokens'>, LlmBridgeUsageStats> = true;
const partSums: number = new InMemoryLlmUsageTracker().getUsageStats().cacheReadTokens;
// A log's parts are there only when not zero.
const logPart: number | undefined = new InMemoryLlmUsageTracker().getUsageLogs()[0]?.usage.reasoningTokens;
const pkgTracker: PackageTracker = trackers[0];
const hostTracker: LlmBridgeUsageTracker = pkgTracker;

// ---- what usagebook adds ----
async function extras(t: FileBackedLlmUsageTracker): Promise<void> {
  await t.flush();
  const h = t.health();
  const depth: number = h.queueDepth;
  const last: Date | null = h.lastFlushAt;
  await t.close();
  try {
    t.trackUsage({ bridgeId: 'a', usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 }, status: 'success' });
  } catch (e) {
    const code: string = (e as UsagebookError).code;
    void code;
  }
  void depth;
  void last;
}

// ---- the git sync (issue 13) ----
async function gitSync(): Promise<void> {
  const t = new FileBackedLlmUsageTracker('./data', {
    gitSync: { repoDir: './usage-repo', remote: 'git@example.org:me/usage.git', branch: 'main', syncInterval: '15m', enabled: true },
  });
  const r: SyncReport = await t.syncNow();
  const pushed: boolean = r.pushed;
  const m: MergedStats = await t.getMergedStats();
  const perDevice: number | undefined = m.devices['laptop']?.totalRequests;
  const last: Date | undefined = m.total.lastUsedAt;
  const g = t.health().gitSync;
  const failures: number | undefined = g?.failures;
  const lastSync: Date | null | undefined = g?.lastSyncAt;
  void [pushed, perDevice, last, failures, lastSync];
  // @ts-expect-error repoDir is required
  new FileBackedLlmUsageTracker('./data', { gitSync: { remote: 'x' } });
  // @ts-expect-error syncInterval is a duration string such as "15m"
  new FileBackedLlmUsageTracker('./data', { gitSync: { repoDir: 'r', syncInterval: 900 } });
  // @ts-expect-error only a file-backed tracker syncs
  new InMemoryLlmUsageTracker().syncNow();
}

// ---- and what it refuses at compile time ----
// @ts-expect-error status must be 'success' | 'error'
trackers[0].trackUsage({ bridgeId: 'a', usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 }, status: 'ok' });
// @ts-expect-error id and timestamp are stamped by the tracker
const noId: Omit<LlmBridgeUsageLog, 'id' | 'timestamp'> = { id: 'x', bridgeId: 'a', usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 }, status: 'success' };
// @ts-expect-error olderThan is a Date
trackers[0].clearLogs('yesterday');

void [sameUsage, sameStatus, sameLog, sameStats, richStats, onlyParts, partSums, logPart, hostTracker, extras, gitSync, noId];
