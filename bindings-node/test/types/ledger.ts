// The ledger's declarations compile as the docs use them, and refuse what
// the facade refuses.
import { BudgetExceededError, Ledger, RateLimitedError, type Hold, type LedgerEvent, type LedgerHealth, type RateLimit, type UsagebookErrorCode } from 'usagebook';

async function ledgerFlows(): Promise<number> {
  const ledger = new Ledger('./ledger.db', { mode: 'strict_budget', dailyBudgetUsd: 1, timezone: 'Europe/Berlin', prices: { 'gpt-4o': { input_cost_per_token: 2.5e-6 } } });
  const hold: Hold = await ledger.reserve({ traceId: 'req-1', provider: 'openai', model: 'gpt-4o', estimateUsd: 0.1 });
  const expires: Date = hold.expiresAt;
  await hold.commit({ usage: { tokensIn: 1200, tokensOut: 300 }, costActualUsd: 0.04 });
  const ev: LedgerEvent = { eventType: 'adjust', traceId: 'req-1', costActualUsd: -0.01, timestamp: new Date() };
  ledger.writeEvent(ev);
  await ledger.writeEventAsync(ev, { sync: true });
  try {
    await ledger.reserve({ traceId: 'req-2', provider: 'openai', model: 'gpt-4o', estimateUsd: 5 });
  } catch (e) {
    if (e instanceof BudgetExceededError) {
      const reset: Date = e.resetAt;
      const code: UsagebookErrorCode = e.code;
      void [reset, code, e.limit, e.spent, e.reserved, e.requested];
    }
  }
  const h: LedgerHealth = ledger.health();
  const spent: number = await ledger.spendToday('provider:openai', 'user-1');
  const reserved: number = await ledger.reservedToday();
  await ledger.flush();
  await ledger.close();
  void [expires, h];
  return spent + reserved;
}

// @ts-expect-error mode is best_effort or strict_budget
new Ledger('x', { mode: 'strict' });
// @ts-expect-error scope is all, provider:<name> or model:<name>
void new Ledger('x').spendToday('planet:mars');
// @ts-expect-error eventType is one of four
new Ledger('x').writeEvent({ eventType: 'refund', traceId: 't' });

void ledgerFlows;

// R1-R3: rate-limit options, token estimates and the refusal's type.
async function rateLimits(): Promise<void> {
  const l = new Ledger('/tmp/x.db', {
    rateLimits: [{ scope: 'provider:openai', rpm: 500, tpm: 200000, rpd: 10000 }],
    waitOnRateLimit: true,
    maxWaitTimeoutS: 60,
    retryBudgetS: 90,
  });
  const limits: RateLimit[] = l.rateLimits;
  l.setRateLimits(limits);
  try {
    await l.reserve({ traceId: 't', provider: 'openai', model: 'gpt-4o', estimateUsd: 0.01, inputTokens: 100, maxTokens: 800 });
  } catch (e) {
    if (e instanceof RateLimitedError) {
      const after: number | null = e.retryAfterS;
      const which: 'rpm' | 'tpm' | 'rpd' = e.limit;
      void after;
      void which;
    }
  }
}
void rateLimits;
