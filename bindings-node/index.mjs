// ES module entry of usagebook: the same classes and functions as the
// CommonJS entry.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const usagebook = require('./index.js');

export const {
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
} = usagebook;
export default usagebook;
