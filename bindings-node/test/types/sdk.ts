// The SDKs' own types are accepted where usagebook takes usage: the
// OpenAI (`openai`) and Anthropic (`@anthropic-ai/sdk`) declarations,
// pinned in package.json, against index.d.ts.
import type OpenAI from 'openai';
import type Anthropic from '@anthropic-ai/sdk';
import { cost, InMemoryLlmUsageTracker, Ledger, Prices, type Cost, type CostItem, type LedgerHealth } from 'usagebook';

declare const chat: OpenAI.ChatCompletion;
declare const chatUsage: OpenAI.CompletionUsage;
declare const response: OpenAI.Responses.Response;
declare const responseUsage: OpenAI.Responses.ResponseUsage;
declare const message: Anthropic.Message;
declare const messageUsage: Anthropic.Usage;
declare const deltaUsage: Anthropic.MessageDeltaUsage;

async function sdkShapes(): Promise<number> {
  const tracker = new InMemoryLlmUsageTracker();
  for (const usage of [chatUsage, responseUsage, messageUsage, deltaUsage, chat, response, message]) {
    tracker.trackUsage({ bridgeId: 'sdk', usage, status: 'success' });
  }
  if (chat.usage) tracker.trackUsage({ bridgeId: 'openai', usage: chat.usage, durationMs: 120, status: 'success' });
  tracker.trackUsage({ bridgeId: 'anthropic', usage: message.usage, status: 'error' });
  // Gemini and Bedrock JSON, as literals.
  tracker.trackUsage({ bridgeId: 'gemini', usage: { promptTokenCount: 10, candidatesTokenCount: 5, totalTokenCount: 15 }, status: 'success' });
  tracker.trackUsage({ bridgeId: 'bedrock', usage: { inputTokens: 10, outputTokens: 5, cacheReadInputTokens: 2 }, status: 'success' });

  const c: Cost = cost(null, chat);
  const items: CostItem[] = c.items;
  const unit: number = items[0].unitUsd;
  const key: string | null = c.model;
  const byName: Cost = cost('claude-sonnet-4-5', messageUsage, { provider: 'anthropic' });
  const own = new Prices({ 'my-model': { input_cost_per_token: 1e-6, output_cost_per_token: 2e-6 } });
  const mine: boolean = cost('my-model', responseUsage, { prices: own }).priced;
  cost('gpt-4o', chatUsage, { prices: './prices.json', at: new Date() });
  const split: number = cost('gpt-4o', chatUsage, { at: Date.now() }).inputUsd + c.outputUsd;
  cost(null, response, { provider: 'openai', prices: { 'gpt-4o': { input_cost_per_token: 2.5e-6 } } });

  const ledger = new Ledger('./ledger.db', { mode: 'strict_budget', dailyBudgetUsd: 1, allowUnpriced: true, prices: own });
  const hold = await ledger.reserve({ traceId: 't', provider: 'anthropic', model: 'claude-sonnet-4-5', estimateUsd: 0.1 });
  await hold.commit({ usage: message.usage });
  const h2 = await ledger.reserve({ traceId: 'u', provider: 'openai', model: 'gpt-4o', estimateUsd: 0.1 });
  await h2.commit({ usage: chat, sync: true });
  ledger.writeEvent({ eventType: 'commit', traceId: 'v', provider: 'openai', model: 'gpt-4o', usage: responseUsage });
  const h: LedgerHealth = ledger.health();
  const unpriced: number = h.unpricedCommits + h.unpricedSpendUsd;
  await ledger.close();
  return unit + unpriced + split + (mine ? 1 : 0) + byName.usd + (key === null ? 0 : 1);
}

// @ts-expect-error a usage is an object, not a number
cost('gpt-4o', 5);
// @ts-expect-error at is a Date or epoch ms
cost('gpt-4o', { prompt_tokens: 1, completion_tokens: 1 }, { at: 'now' });
// @ts-expect-error Prices takes a table or a path
new Prices(42);
// @ts-expect-error allowUnpriced is a boolean
new Ledger('x', { allowUnpriced: 'yes' });
// @ts-expect-error T1 camelCase needs all three counts
new InMemoryLlmUsageTracker().trackUsage({ bridgeId: 'a', usage: { promptTokens: 1, completionTokens: 1 }, status: 'success' });

void sdkShapes;
