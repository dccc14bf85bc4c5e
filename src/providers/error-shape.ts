/**
 * Reads what a thrown value says about an HTTP failure — status, headers, body `type`/`code`,
 * Google RPC details — by shape, never by `instanceof`, so that it works with every version of the
 * Anthropic, OpenAI and Google SDKs, with plain fetch `Response` objects and with errors carrying a
 * `response`. Pure: no I/O, no clock.
 */

/** Looks a header up by name, case-insensitively; `undefined` when absent. */
export type HeaderLookup = (name: string) => string | undefined;

/** What an error says about the failed HTTP exchange. Every field is optional. */
export interface ErrorShape {
  /** HTTP status, when the error came from an HTTP response. */
  status?: number;
  /** Response headers (empty lookup when none). */
  header: HeaderLookup;
  /** Every `type` / `code` / `status` string found in the error and its body, lower-cased. */
  codes: string[];
  /** Google RPC `details` entries found in the body (`@type`, `retryDelay`, `violations`...). */
  details: Record<string, unknown>[];
  /** The body's `message` strings (the provider's words, where the type alone says too little). */
  messages: string[];
  /** The error's `name`, when it has one. */
  name?: string;
}

type Bag = Record<string, unknown>;

function isBag(value: unknown): value is Bag {
  return typeof value === 'object' && value !== null;
}

function toStatus(value: unknown): number | undefined {
  const n = typeof value === 'string' && /^\d{3}$/.test(value) ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) && n >= 100 && n <= 599 ? n : undefined;
}

const noHeaders: HeaderLookup = () => undefined;

/** Builds a lookup over a `Headers` instance, a Map-like `get`, or a plain record. */
export function headerLookup(headers: unknown): HeaderLookup {
  if (!isBag(headers)) return noHeaders;
  const get = (headers as { get?: unknown }).get;
  if (typeof get === 'function') {
    return (name) => {
      try {
        const value: unknown = get.call(headers, name.toLowerCase());
        if (typeof value === 'string') return value;
        if (Array.isArray(value) && typeof value[0] === 'string') return value[0];
        return undefined;
      } catch {
        return undefined;
      }
    };
  }
  const lower = new Map<string, string>();
  for (const [key, value] of Object.entries(headers)) {
    if (typeof value === 'string') lower.set(key.toLowerCase(), value);
    else if (Array.isArray(value) && typeof value[0] === 'string')
      lower.set(key.toLowerCase(), value[0]);
  }
  return (name) => lower.get(name.toLowerCase());
}

function pushCode(codes: string[], value: unknown): void {
  if (typeof value === 'string' && value.length > 0 && value.length <= 100) {
    codes.push(value.toLowerCase());
  }
}

/** Collects `type`, `code`, `status`, `error_code` strings and RPC details from a JSON body. */
function readBody(
  body: unknown,
  codes: string[],
  details: Bag[],
  messages: string[],
  depth = 0,
): void {
  if (!isBag(body) || depth > 3) return;
  if (typeof body.message === 'string' && body.message.length <= 2000) messages.push(body.message);
  pushCode(codes, body.type);
  pushCode(codes, body.code);
  pushCode(codes, body.error_code);
  if (typeof body.status === 'string') pushCode(codes, body.status);
  if (Array.isArray(body.details)) {
    for (const d of body.details) if (isBag(d)) details.push(d);
  } else if (isBag(body.details)) {
    pushCode(codes, body.details.error_code);
  }
  if (Array.isArray(body.errorDetails)) {
    for (const d of body.errorDetails) if (isBag(d)) details.push(d);
  }
  if (isBag(body.error)) readBody(body.error, codes, details, messages, depth + 1);
}

/** Google SDKs put the JSON body in the message; read it when the message is JSON. */
function readJsonMessage(
  message: unknown,
  codes: string[],
  details: Bag[],
  messages: string[],
): void {
  if (typeof message !== 'string' || message.length > 20_000) return;
  const start = message.indexOf('{');
  if (start < 0) return;
  try {
    readBody(JSON.parse(message.slice(start)), codes, details, messages);
  } catch {
    // not JSON: nothing to read
  }
}

/** Reads the HTTP facts out of any thrown value. */
export function errorShape(error: unknown): ErrorShape {
  const codes: string[] = [];
  const details: Bag[] = [];
  const messages: string[] = [];
  if (!isBag(error)) return { header: noHeaders, codes, details, messages };
  const response = isBag(error.response) ? error.response : undefined;
  const status =
    toStatus(error.status) ??
    toStatus(error.statusCode) ??
    toStatus(response?.status) ??
    toStatus(isBag(error.error) ? error.error.code : undefined);
  const header = headerLookup(error.headers ?? response?.headers);
  pushCode(codes, error.type);
  pushCode(codes, error.code);
  pushCode(codes, error.errorCode);
  readBody(error.error, codes, details, messages);
  if (Array.isArray(error.errorDetails)) {
    for (const d of error.errorDetails) if (isBag(d)) details.push(d);
  }
  readJsonMessage(error.message, codes, details, messages);
  const shape: ErrorShape = { header, codes, details, messages };
  if (status !== undefined) shape.status = status;
  if (typeof error.name === 'string') shape.name = error.name;
  return shape;
}
