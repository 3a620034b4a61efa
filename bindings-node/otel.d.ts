// usagebook/otel: OpenTelemetry GenAI metrics through the host's own SDK (docs/telemetry.md).

export interface InstrumentOptions {
  /** The host's MeterProvider (from @opentelemetry/api); default the global one. */
  meterProvider?: { getMeter(name: string, version?: string, options?: { schemaUrl?: string }): unknown };
  /** Also record the gen_ai.client.inference.usage.* counters (default false). */
  inferenceUsageCounters?: boolean;
  /** Which calls to record (default both). */
  sources?: Array<'tracker' | 'ledger'>;
  /** gen_ai.operation.name (default "chat"). */
  operationName?: string;
}

export function instrument(options?: InstrumentOptions): void;
export function uninstrument(): void;
export function isInstrumented(): boolean;
