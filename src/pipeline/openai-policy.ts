import { openaiAccounting } from './accounting.js';
import type { ProviderPolicyOptions } from './pipeline-options.js';
import { ProviderPolicy } from './provider-policy.js';

/**
 * A pipeline for OpenAI's Chat Completions API: RPM and TPM (prompt + `max_tokens` at the start,
 * settled on the usage) per model family, from a tier (`tier-1`..`tier-5`, `build` | `launch` |
 * `grow` where published) or explicit limits. Streams ask for `stream_options.include_usage`.
 *
 *     const client = new OpenAI({ fetch: policy.fetch, maxRetries: 0 });
 *     await wrap(policy).execute(() => client.chat.completions.create(params));
 */
export function openaiPolicy(options: ProviderPolicyOptions): ProviderPolicy {
  return new ProviderPolicy(openaiAccounting, options, 'openaiPolicy()');
}
