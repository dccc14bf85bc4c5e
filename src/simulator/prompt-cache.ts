import { createHash } from 'node:crypto';
import type { PromptPiece } from './tokens.js';

/** Anthropic's three input counters for one request. */
export interface InputUsage {
  readonly input_tokens: number;
  readonly cache_creation_input_tokens: number;
  readonly cache_read_input_tokens: number;
}

export interface CachePlan {
  readonly usage: InputUsage;
  /** Records the written and read prefixes; call only once the request is admitted. */
  commit(now: number): void;
}

/**
 * Anthropic prompt caching, simplified but faithful in what rate limits see: the prefix ending at
 * each `cache_control` piece is cacheable when it has at least `minTokens`; the longest such
 * prefix seen within `ttlMs` is read, the rest up to the last breakpoint is written.
 */
export class PromptCache {
  private readonly expiries = new Map<string, number>();

  constructor(
    private readonly minTokens: number,
    private readonly ttlMs: number,
  ) {}

  plan(model: string, pieces: readonly PromptPiece[], now: number): CachePlan {
    const hash = createHash('sha256').update(model);
    const prefixes: { key: string; tokens: number }[] = [];
    let total = 0;
    for (const piece of pieces) {
      hash.update(`\u0000${piece.text}`);
      total += piece.tokens;
      if (piece.breakpoint && total >= this.minTokens && total > 0)
        prefixes.push({ key: hash.copy().digest('hex'), tokens: total });
    }
    let read = 0;
    for (const prefix of prefixes) {
      const expiry = this.expiries.get(prefix.key);
      if (expiry !== undefined && expiry > now) read = Math.max(read, prefix.tokens);
    }
    const cacheable = prefixes.at(-1)?.tokens ?? 0;
    const creation = Math.max(0, cacheable - read);
    return {
      usage: {
        input_tokens: total - read - creation,
        cache_creation_input_tokens: creation,
        cache_read_input_tokens: read,
      },
      commit: (at) => {
        if (this.expiries.size > 10_000) this.prune(at);
        for (const prefix of prefixes) this.expiries.set(prefix.key, at + this.ttlMs);
      },
    };
  }

  private prune(now: number): void {
    for (const [key, expiry] of this.expiries) if (expiry <= now) this.expiries.delete(key);
  }
}
