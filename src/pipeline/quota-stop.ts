/**
 * Reads a refused response for billing or quota (`quotaStop`, src/providers/classify.ts): such
 * a refusal is not retried, and the budget stops sending until the time the provider states
 * (Anthropic's spend cap: 00:00 UTC on the 1st of next month; a Gemini per-day quota: midnight
 * Pacific), else its `retry-after`, else one period of the limits: one refused request per
 * period instead of one per call.
 */
import { quotaStop } from '../providers/classify.js';
import { retryAdviceFromHeaders } from '../retry/retry-after.js';

/** Statuses a billing or quota refusal comes with (Anthropic 400 credit, 402, 403, 429). */
const QUOTA_STATUSES: ReadonlySet<number> = new Set([400, 402, 403, 429]);

/** When calls may be sent again after a quota refusal; undefined when it is not one. */
export async function refusalResumeAt(
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
  const stop = quotaStop(
    { status: response.status, headers: response.headers, error: body },
    nowMs,
  );
  if (!stop) return undefined;
  if (stop.resumeAt !== undefined) return stop.resumeAt;
  const advice = retryAdviceFromHeaders((name) => response.headers.get(name) ?? undefined, nowMs);
  return nowMs + (advice?.delayMs ?? periodMs);
}
