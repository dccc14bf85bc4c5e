/**
 * Reads a refused response for billing or quota: such a refusal is not retried, and the budget
 * stops sending until the time the provider states (Anthropic's spend cap: 00:00 UTC on the 1st
 * of next month; a `retry-after` where one is given) or, when none is stated, for one period of
 * the limits: one refused request per period instead of one per call.
 */
import { classifyError } from '../providers/classify.js';
import { retryAdviceFromHeaders } from '../retry/retry-after.js';

/** Statuses a billing or quota refusal comes with (Anthropic 400 credit, 402, 403, 429). */
const QUOTA_STATUSES: ReadonlySet<number> = new Set([400, 402, 403, 429]);

/** Anthropic's tier spend cap (PROVIDERS.md §1.6): resumes on the 1st of next month, UTC. */
const SPEND_CAP = 'enforced_spend_limit_reached';

/** When calls may be sent again after a quota refusal; undefined when it is not one. */
export async function quotaResumeAt(
  response: Response,
  nowMs: number,
  periodMs: number,
): Promise<number | undefined> {
  if (!QUOTA_STATUSES.has(response.status)) return undefined;
  let body: unknown;
  try {
    body = JSON.parse(await response.clone().text());
  } catch {
    return undefined;
  }
  const refusal = { status: response.status, headers: response.headers, error: body };
  const spendCap = JSON.stringify(body).includes(`"${SPEND_CAP}"`);
  if (!spendCap && classifyError(refusal).kind !== 'quota') return undefined;
  if (spendCap) {
    const now = new Date(nowMs);
    return Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1);
  }
  const advice = retryAdviceFromHeaders((name) => response.headers.get(name) ?? undefined, nowMs);
  return nowMs + (advice?.delayMs ?? periodMs);
}
