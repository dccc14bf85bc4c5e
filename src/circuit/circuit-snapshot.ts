import { classifyError } from '../providers/classify.js';

/** The state names of the inspect snapshot (cockatiel's four states). */
export type CircuitStateName = 'closed' | 'open' | 'half-open' | 'isolated';

/** The failure that last counted against the breaker; safe to log and to serialise. */
export interface CircuitFailure {
  /** Error class name, e.g. `'InternalServerError'`. */
  name: string;
  /** HTTP status, when known. */
  status?: number;
  /** Short message, truncated and scrubbed of anything that looks like an API key. */
  message: string;
}

/** The `circuit` part of `inspect()`: JSON-safe, holds no API key and no prompt text. */
export interface CircuitSnapshot {
  state: CircuitStateName;
  /** When the circuit entered this state, in whole ms since the epoch (on the policy's clock). */
  since: number;
  lastFailure?: CircuitFailure;
}

/** Longest message kept in a snapshot. */
export const MAX_FAILURE_MESSAGE = 200;

const SECRET_PATTERNS: RegExp[] = [
  /sk-(?:ant-)?[A-Za-z0-9_-]{6,}/g, // Anthropic and OpenAI keys (sk-..., sk-ant-..., sk-proj-...)
  /AIza[0-9A-Za-z_-]{20,}/g, // Google API keys
  /\b((?:Bearer|Basic)\s+)[A-Za-z0-9._~+/=-]{8,}/gi,
  /([?&](?:key|api_key|apikey|token|access_token)=)[^&\s"']+/gi,
  /("?(?:x-api-key|api-key|authorization)"?\s*[:=]\s*"?)[^"\s,}]+/gi,
];

/** Removes anything that looks like a credential; keeps the text around it. */
export function scrubSecrets(text: string): string {
  let out = text;
  for (const pattern of SECRET_PATTERNS) {
    out = out.replace(pattern, (match, prefix?: unknown) =>
      typeof prefix === 'string' && match.startsWith(prefix) && prefix !== match
        ? `${prefix}[redacted]`
        : '[redacted]',
    );
  }
  return out;
}

/** The provider's own message (Anthropic `apiMessage`, or `error.error.message` of the body). */
function apiMessage(reason: unknown): string | undefined {
  if (typeof reason !== 'object' || reason === null) return undefined;
  const r = reason as { apiMessage?: unknown; error?: { error?: { message?: unknown } } };
  if (typeof r.apiMessage === 'string' && r.apiMessage) return r.apiMessage;
  const nested = r.error?.error?.message;
  return typeof nested === 'string' && nested ? nested : undefined;
}

/**
 * Describes a failure for a snapshot: class name, status, and the first line of the message,
 * scrubbed of keys and truncated. Request data (prompts) is never read: only `name`, `status`
 * and `message` of the error.
 */
export function describeFailure(reason: unknown): CircuitFailure {
  const bag = (typeof reason === 'object' && reason !== null ? reason : {}) as {
    name?: unknown;
    message?: unknown;
    constructor?: { name?: unknown };
  };
  let name = typeof bag.name === 'string' ? bag.name : typeof reason;
  const ctor = bag.constructor?.name;
  if (name === 'Error' && typeof ctor === 'string' && ctor !== 'Object') name = ctor;
  const raw =
    apiMessage(reason) ??
    (typeof bag.message === 'string' ? bag.message : typeof reason === 'string' ? reason : '');
  const firstLine = raw.split(/\r?\n/, 1)[0] ?? '';
  let message = scrubSecrets(firstLine);
  if (message.length > MAX_FAILURE_MESSAGE)
    message = `${message.slice(0, MAX_FAILURE_MESSAGE - 1)}…`;
  const failure: CircuitFailure = { name: name.slice(0, 80), message };
  const status = classifyError(reason).status;
  if (status !== undefined) failure.status = status;
  return failure;
}
