/** Real-time helpers for the few integration tests that cannot use ManualClock. */
import Anthropic from '@anthropic-ai/sdk';

/** Waits `ms` of real time. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A 503 from the real Anthropic SDK: a provider-side failure that counts for the breaker. */
export const anthropicOutage = (): InstanceType<typeof Anthropic.APIError> =>
  Anthropic.APIError.generate(
    503,
    { type: 'error', error: { type: 'api_error', message: 'upstream failed' } },
    undefined,
    new Headers(),
  );
