import type { ErrorKind, ErrorReply } from './wire.js';

/** OpenAI error bodies: `{error:{message, type, param, code}}` with the API's statuses. */

type Spec = readonly [status: number, type: string, code: string | number | null, message: string];

const ERRORS: Readonly<Record<ErrorKind, Spec>> = {
  invalid_request: [400, 'invalid_request_error', null, 'Invalid request'],
  authentication: [
    401,
    'invalid_request_error',
    'invalid_api_key',
    'Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.',
  ],
  billing: [
    429,
    'billing_not_active',
    'billing_not_active',
    'Your account is not active, please check your billing details on our website.',
  ],
  not_found: [404, 'invalid_request_error', null, 'Invalid URL'],
  request_too_large: [413, 'invalid_request_error', null, 'Request body too large.'],
  rate_limit: [
    429,
    'requests',
    'rate_limit_exceeded',
    'Rate limit reached. Please try again in 1s.',
  ],
  insufficient_quota: [
    429,
    'insufficient_quota',
    'insufficient_quota',
    'You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.',
  ],
  server_error: [
    500,
    'server_error',
    null,
    'The server had an error while processing your request. Sorry about that!',
  ],
  // OpenAI's monthly usage limit answers as an exhausted quota (PROVIDERS.md §2.4).
  spend_cap: [
    429,
    'insufficient_quota',
    'insufficient_quota',
    'You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.',
  ],
  bad_gateway: [502, 'cf_bad_gateway', 502, 'Bad gateway.'],
  service_unavailable: [503, 'server_error', null, 'The server is temporarily unavailable.'],
  overloaded: [
    503,
    'server_error',
    null,
    'The engine is currently overloaded, please try again later.',
  ],
};

export function openaiError(
  kind: ErrorKind,
  message?: string,
  detail: { param?: string | null; code?: string | null; type?: string } = {},
): ErrorReply {
  const [status, type, code, fallback] = ERRORS[kind];
  return {
    status,
    body: {
      error: {
        message: message ?? fallback,
        type: detail.type ?? type,
        param: detail.param ?? null,
        code: detail.code === undefined ? code : detail.code,
      },
    },
    headers: {},
  };
}
