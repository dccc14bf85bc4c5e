import { anthropicAccounting } from './accounting.js';
import type { ProviderPolicyOptions } from './pipeline-options.js';
import { ProviderPolicy } from './provider-policy.js';

/**
 * A pipeline for Anthropic's Messages API: RPM, ITPM (input + cache writes) and OTPM per model
 * class, from a tier of the preset scheme (`start` | `build` | `scale`, legacy `tier-1`..`tier-4`)
 * or explicit limits. Hand `policy.fetch` to the SDK and run calls through `execute`:
 *
 *     const client = new Anthropic({ fetch: policy.fetch, maxRetries: 0 });
 *     await wrap(policy).execute(() => client.messages.create(params));
 */
export function anthropicPolicy(options: ProviderPolicyOptions): ProviderPolicy {
  return new ProviderPolicy(anthropicAccounting, options, 'anthropicPolicy()');
}
