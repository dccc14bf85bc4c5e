import { type Random, randomInt } from './rng.js';

/**
 * Seeded model output: a length up to `max_tokens` and text whose token count under the
 * simulator's rule (`ceil(length / 4)`) is exactly that length. Pure.
 */

const WORDS = [
  'the',
  'rate',
  'limit',
  'token',
  'bucket',
  'refills',
  'steadily',
  'while',
  'requests',
  'wait',
  'their',
  'turn',
  'and',
  'every',
  'worker',
  'shares',
  'one',
  'quota',
  'so',
  'retries',
  'honour',
  'retry-after',
  'headers',
  'calmly',
];

export interface SimulatedOutput {
  readonly tokens: number;
  /** True when the output stopped at `max_tokens`. */
  readonly truncated: boolean;
  /** Text chunks of up to 4 tokens each, in order; together they count exactly `tokens`. */
  readonly chunks: readonly string[];
}

export function drawOutputTokens(
  random: Random,
  maxTokens: number,
  range: { readonly min: number; readonly max: number } | undefined,
): number {
  const min = Math.min(range?.min ?? 1, maxTokens);
  const max = Math.min(range?.max ?? maxTokens, maxTokens);
  return randomInt(random, min, max);
}

export function generateOutput(random: Random, tokens: number, maxTokens: number): SimulatedOutput {
  const length = tokens * 4;
  let text = '';
  while (text.length < length) {
    const word = WORDS[Math.floor(random() * WORDS.length)] ?? 'token';
    text += text.length === 0 ? word.charAt(0).toUpperCase() + word.slice(1) : ` ${word}`;
  }
  text = text.slice(0, length);
  if (text.endsWith(' ')) text = `${text.slice(0, -1)}.`;
  const chunks: string[] = [];
  for (let i = 0; i < text.length; i += 16) chunks.push(text.slice(i, i + 16));
  return { tokens, truncated: tokens >= maxTokens, chunks };
}
