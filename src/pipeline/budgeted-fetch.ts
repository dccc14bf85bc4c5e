/**
 * The pipeline's inner stages, run where the request is visible: inside the `fetch` the SDK is
 * given. For each request: read it (model, `max_tokens`, an input estimate), wait for budget,
 * take a bulkhead slot, send it under the attempt timeout, then settle the budget on the real
 * usage, for JSON bodies at once and for streams when they end (the slot is held until then).
 * A stream is answered once its first event has arrived: one failing before it fails the attempt.
 */

import { QuotaExhaustedError } from '../errors/quota-exhausted-error.js';
import {
  isRateLimitExceededError,
  RateLimitExceededError,
} from '../errors/rate-limit-exceeded-error.js';
import { StreamInterruptedError } from '../errors/stream-interrupted-error.js';
import { StreamStartError } from '../errors/stream-start-error.js';
import type { BudgetPermit } from '../limiter/budget-permit.js';
import type { ContactNotice } from '../limiter/budget-store.js';
import { firstEvent } from '../providers/first-event.js';
import { type RateLimitHeaders, readRateLimitHeaders } from '../providers/rate-limit-headers.js';
import {
  describeRequest,
  OPENAI_DEFAULT_MAX_TOKENS,
  withStreamUsage,
} from '../providers/request.js';
import { type StreamOutcome, tapUsage } from '../providers/tap-usage.js';
import type { TokenCounter } from '../providers/text-tokens.js';
import { type Usage, usageFromJson } from '../providers/usage.js';
import { retryAdviceFromHeaders } from '../retry/retry-after.js';
import type { Accounting, DimensionName, ProviderName, Reservation } from './accounting.js';
import type { BudgetRouter, BudgetTarget } from './budget-routing.js';
import { anySignal, attemptContext } from './call-context.js';
import { refusalResumeAt } from './quota-stop.js';

/** A call waited for budget. */
export interface ThrottleEvent {
  readonly modelClass: string;
  /** ms waited, whole (for the provider's first answer and for budget), 1 or more. */
  readonly waitedMs: number;
}

/** A call was settled on what the provider reported (or on what an attempt used). */
export interface SettleEvent {
  readonly modelClass: string;
  /** Units reserved at the start, per dimension (`dimensions` names them). */
  readonly reserved: readonly number[];
  /** Units the provider counted. */
  readonly actual: readonly number[];
  readonly dimensions: readonly DimensionName[];
  /** How the call ended: `ok`, an HTTP status, or the stream's end. */
  readonly outcome: string;
  /** The provider the pipeline calls. */
  readonly provider: ProviderName;
  /** The request's `model`, as sent (absent when the body named none). */
  readonly model?: string;
  /** The response's HTTP status, when one arrived. */
  readonly status?: number;
  /** The usage the provider reported, when it did (absent for errors and for streams cut before it). */
  readonly usage?: Usage;
  /** How long the attempt waited for budget, in ms. */
  readonly waitedMs: number;
  /** From sending the request to its settlement (a stream's end), in ms. */
  readonly durationMs: number;
}

/** A 429 held a dimension of the budget for every worker sharing it. */
export interface HoldEvent {
  readonly modelClass: string;
  readonly dimension: DimensionName;
  readonly forMs: number;
}

export interface BudgetedFetchDeps {
  readonly accounting: Accounting;
  readonly router: BudgetRouter;
  readonly realFetch: typeof globalThis.fetch;
  readonly maxWaitMs: number;
  readonly attemptMs?: number;
  readonly counter?: TokenCounter;
  /** Holds a slot for the duration of `work`, which calls `release` when the call is over. */
  readonly withSlot: <T>(
    signal: AbortSignal | undefined,
    work: (release: () => void) => Promise<T>,
  ) => Promise<T>;
  readonly onThrottle: (event: ThrottleEvent) => void;
  readonly onSettle: (event: SettleEvent) => void;
  readonly onHold: (event: HoldEvent) => void;
  readonly now: () => number;
}

export function budgetedFetch(deps: BudgetedFetchDeps): typeof globalThis.fetch {
  const { accounting, router } = deps;
  const provider = accounting.provider;

  return async function fetchWithBudget(input, init) {
    const context = attemptContext.getStore();
    if (context) context.requests++;
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
    const bodyText = typeof init?.body === 'string' ? init.body : undefined;
    if (method !== 'POST' || bodyText === undefined) return deps.realFetch(input, init);
    const request = describeRequest(
      provider,
      url,
      bodyText,
      deps.counter ? { counter: deps.counter } : {},
    );
    if (request.kind === 'other') return deps.realFetch(input, init);

    let target: BudgetTarget;
    try {
      target = router.forModel(request.model);
    } catch (error) {
      // A model of no known class: our refusal, not a connection error of the SDK's.
      if (context) context.stageError = error;
      throw error;
    }
    const maxTokens = request.maxTokens ?? OPENAI_DEFAULT_MAX_TOKENS;
    const signal = anySignal(context?.signal, init?.signal);
    let permit: BudgetPermit;
    let reservation!: Reservation;
    const askedAt = deps.now();
    let contactWaited = false;
    const refuseIfStopped = () => {
      const stopped = target.feedback.stoppedUntil(deps.now());
      if (stopped === undefined) return;
      const error = new QuotaExhaustedError(target.modelClass, stopped);
      if (context) context.stageError = error;
      throw error;
    };
    refuseIfStopped();
    try {
      // The wait for the first answer and the wait for budget share one maxWaitMs.
      const contact = target.contact.enter(signal, deps.maxWaitMs);
      contactWaited = contact !== undefined;
      await contact;
      // The first answer (here or another worker's) may have been a quota stop.
      if (contactWaited) refuseIfStopped();
      // Reserved once contact is made: the first answer's output already informs the estimate.
      const output =
        target.outputTokens === 'generated' ? target.outputs.reserve(maxTokens) : maxTokens;
      reservation = accounting.reserve(
        {
          ...(request.model ? { model: request.model } : {}),
          maxTokens,
          inputEstimate: request.inputEstimate,
        },
        output,
      );
      const left = Math.max(0, Math.floor(deps.maxWaitMs - (deps.now() - askedAt)));
      permit = await target.budget.acquire(withTenant(reservation.costs, target), {
        signal,
        maxWaitMs: left,
      });
    } catch (caught) {
      // No answer came of it: if this was the probe, another caller probes.
      target.contact.passOn();
      // Refused for the whole wait the caller agreed to, first contact included.
      const error = isRateLimitExceededError(caught)
        ? new RateLimitExceededError(caught.key, caught.retryAfterMs, deps.maxWaitMs)
        : caught;
      if (context) context.stageError = error;
      throw error;
    }
    // Only a call that did wait (for the first answer, or in the queue) was throttled: the store's
    // round trip and the bookkeeping are not a wait.
    const waitedMs = Math.round(deps.now() - askedAt);
    if ((contactWaited || permit.queued) && waitedMs >= 1) {
      deps.onThrottle({ modelClass: target.modelClass, waitedMs });
    }
    let body = bodyText;
    let hideUsageChunk = false;
    if (request.stream && provider === 'openai') {
      const withUsage = withStreamUsage(bodyText);
      hideUsageChunk = withUsage !== bodyText;
      body = withUsage;
    }
    let sentAt = deps.now();
    /** When the provider's answer (its headers) came: the request had reached it by then. */
    let answeredAt: number | undefined;
    let status: number | undefined;
    /** `left`: the provider's remaining figures read with this answer (global dimensions). */
    const settle = (
      actual: readonly number[],
      outcome: string,
      usage?: Usage,
      left?: readonly (number | undefined)[],
    ) => {
      const full = withTenant(actual, target);
      permit
        .settle(full, left, answeredAt)
        .then((outside) => target.feedback.noteOutside(outside))
        .catch(() => undefined);
      deps.onSettle({
        modelClass: target.modelClass,
        reserved: reservation.costs,
        actual,
        dimensions: accounting.dimensions,
        outcome,
        provider,
        ...(request.model !== undefined ? { model: request.model } : {}),
        ...(status !== undefined ? { status } : {}),
        ...(usage ? { usage } : {}),
        waitedMs: Math.round(permit.waitedMs),
        durationMs: Math.max(0, Math.round(deps.now() - sentAt)),
      });
    };

    try {
      return await deps.withSlot(signal, async (release) => {
        // The attempt timeout runs to the response's headers only: the signal given to fetch also
        // governs the body, so its timer is cleared on the response and a stream runs on (the
        // caller's signal still aborts it).
        const attemptTimer = deps.attemptMs !== undefined ? new AbortController() : undefined;
        const attemptMs = deps.attemptMs ?? 0;
        const timer = attemptTimer
          ? setTimeout(
              () =>
                attemptTimer.abort(
                  new DOMException('The operation was aborted due to timeout', 'TimeoutError'),
                ),
              attemptMs,
            )
          : undefined;
        const attemptSignal = anySignal(signal, attemptTimer?.signal);
        let response: Response;
        sentAt = deps.now();
        try {
          response = await deps.realFetch(input, {
            ...init,
            body,
            ...(attemptSignal ? { signal: attemptSignal } : {}),
          });
        } catch (error) {
          clearTimeout(timer);
          // The probe is passed on below, where every error of the attempt ends.
          settle(accounting.failed(reservation, false, 0), 'network-error');
          release();
          throw error;
        }
        clearTimeout(timer);
        status = response.status;
        answeredAt = deps.now();
        // The provider's figures are applied where they and the budget count the same calls: a
        // stream's headers leave at its first byte, before its settle (at its end); an answer's
        // or an error's leave with it, after the provider settled it, so after ours.
        const figures = readRateLimitHeaders(provider, response.headers, deps.now());
        // An answer's or an error's figures come down with its settle, in one store operation.
        const remaining = () => target.feedback.remainingOf(figures, deps.now());
        const readLimits = () => target.feedback.readLimits(figures, deps.now());
        if (!response.ok) {
          const resumeAt = await refusalResumeAt(response, deps.now(), target.feedback.periodMs);
          if (resumeAt !== undefined) target.feedback.stop(resumeAt, deps.now());
          else if (response.status === 429)
            holdOn429(deps, target, response.headers, figures, reservation);
          settle(
            accounting.failed(reservation, response.status === 429, 0),
            String(response.status),
            undefined,
            remaining(),
          );
          readLimits();
          target.contact.made({
            ...lessons(target),
            ...(resumeAt !== undefined ? { stoppedUntil: resumeAt } : {}),
          });
          release();
          return response;
        }
        if (request.stream && response.body) {
          target.feedback.observe(figures, deps.now()).catch(() => undefined);
          target.contact.made(lessons(target));
          // The attempt lasts until the stream's first event: a failure before it is a failed
          // request (settled, retried, counted), not a stream handed to the caller.
          const first = await firstEvent(provider, response.body);
          if (first.end !== undefined) {
            // An abort (the caller's, or the SDK's timeout) is no failure of the stream: settled as
            // cancelled and thrown as the abort it is.
            const aborted = signal?.aborted === true;
            settle(accounting.failed(reservation, false, 0), aborted ? 'cancelled' : first.end);
            release();
            if (aborted) {
              // execute throws the caller's own abort, not the SDK's reading of it (a timeout);
              // the SDK reports its own timeout itself.
              if (context?.signal.aborted) context.stageError = context.signal.reason;
              throw signal.reason;
            }
            const error = new StreamStartError(
              first.end,
              startStatus(first.providerError),
              first.providerError,
              first.error !== undefined ? { cause: first.error } : undefined,
            );
            if (context) context.stageError = error;
            throw error;
          }
          let ended!: (error?: unknown) => void;
          const streamEnd = new Promise<void>((resolve, reject) => {
            ended = (error) => (error === undefined ? resolve() : reject(error));
          });
          // Outside `execute` nobody waits for it.
          streamEnd.catch(() => undefined);
          if (context) context.streamEnd = streamEnd;
          const tapped = tapUsage(
            provider,
            first.body,
            (outcome) => {
              ended(settleStream(deps, target, reservation, outcome, settle));
              release();
            },
            {
              ...(signal ? { signal } : {}),
              hideUsageChunk,
              cacheReadsCountTowardLimit: target.countsCacheReads,
            },
          );
          return new Response(tapped, {
            status: response.status,
            statusText: response.statusText,
            headers: response.headers,
          });
        }
        let text: string;
        try {
          text = await response.text();
        } catch (error) {
          target.contact.made();
          settle(accounting.failed(reservation, false, 0), 'broken');
          release();
          throw error;
        }
        const usage = usageFromJson(provider, text, {
          cacheReadsCountTowardLimit: target.countsCacheReads,
        });
        if (usage) {
          target.outputs.observe(usage.outputTokens);
          settle(accounting.actual(usage), 'ok', usage, remaining());
        } else {
          // No usage to read: keep what was reserved (never under-count).
          settle(reservation.costs, 'no-usage', undefined, remaining());
        }
        readLimits();
        // Contact is made once the answer can teach the others: its headers read (a lower limit
        // adopted) and, for an answer, its usage (the output estimate); a stream's usage comes
        // at its end, too late to wait for.
        target.contact.made({
          ...lessons(target),
          ...(usage ? { output: usage.outputTokens } : {}),
        });
        release();
        return new Response(text, {
          status: response.status,
          statusText: response.statusText,
          headers: response.headers,
        });
      });
    } catch (error) {
      // No answer came of this attempt (a network error, or no slot): another caller probes.
      target.contact.passOn();
      // The slot was never taken (bulkhead full, or an abort while queued): nothing was sent.
      if (permit.isOpen) {
        if (context) context.stageError = error;
        await permit.cancel().catch(() => undefined);
      }
      throw error;
    }
  };
}

/** What an answer taught that other workers of a shared budget should know: the limits read. */
function lessons(target: BudgetTarget): ContactNotice {
  const limits = target.feedback.reportedLimits;
  return Object.keys(limits).length > 0 ? { limits: limits as Record<string, number> } : {};
}

/** The tenant's dimensions are charged the same as the global ones. */
function withTenant(costs: readonly number[], target: BudgetTarget): number[] {
  const n = target.budget.dimensions.length;
  return n === costs.length ? [...costs] : [...costs, ...costs].slice(0, n);
}

/** Settles a stream on what it produced; returns the failure the breaker should count, if any. */
function settleStream(
  deps: BudgetedFetchDeps,
  target: BudgetTarget,
  reservation: Reservation,
  outcome: StreamOutcome,
  settle: (actual: readonly number[], outcome: string, usage?: Usage) => void,
): StreamInterruptedError | undefined {
  const { accounting } = deps;
  if (outcome.end === 'complete' && outcome.usage) {
    target.outputs.observe(outcome.usage.outputTokens);
    settle(accounting.actual(outcome.usage), 'complete', outcome.usage);
    return undefined;
  }
  // Cut short: settle on what was produced; the input was sent, so it counts as reserved or as
  // reported when the provider said.
  const produced = outcome.outputSoFar;
  const usage = outcome.usage
    ? { ...outcome.usage, outputTokens: Math.max(produced, outcome.usage.outputTokens) }
    : undefined;
  const actual = usage ? accounting.actual(usage) : accounting.failed(reservation, false, produced);
  settle(actual, outcome.end, usage);
  if (
    outcome.end === 'provider-error' ||
    outcome.end === 'broken' ||
    outcome.end === 'incomplete'
  ) {
    return new StreamInterruptedError(outcome.end, interruptedStatus(outcome.providerError), {
      cause: outcome.error,
    });
  }
  return undefined;
}

/**
 * The status a stream's failure before its first event stands for: 529 for Anthropic's
 * `overloaded_error` (read from the type, as a 529's body says it), 500 otherwise; the error body
 * goes with it, so a `rate_limit_error` still classifies as a rate limit.
 */
function startStatus(providerError: unknown): number {
  return /"type"\s*:\s*"overloaded_error"/.test(JSON.stringify(providerError ?? '')) ? 529 : 500;
}

/** The status a provider's mid-stream error event stands for: 529 when it says overloaded. */
function interruptedStatus(providerError: unknown): number {
  const text = JSON.stringify(providerError ?? '');
  return /overloaded/i.test(text) ? 529 : 500;
}

/** Header names of each dimension's rate-limit figures. */
function headerDimensions(provider: string): Record<string, DimensionName> {
  return provider === 'anthropic'
    ? { requests: 'rpm', 'input-tokens': 'itpm', 'output-tokens': 'otpm' }
    : { requests: 'rpm', tokens: 'tpm' };
}

/**
 * A 429: the dimensions whose `remaining` was short of this request's cost are held until its
 * `retry-after`, for every worker sharing the budget. When no header explains the refusal (none
 * short, or no headers), all dimensions are held and the adaptive rate comes down: someone the
 * budget cannot see is spending the quota.
 */
function holdOn429(
  deps: BudgetedFetchDeps,
  target: BudgetTarget,
  headers: Headers,
  figures: RateLimitHeaders,
  reservation: Reservation,
): void {
  const nowMs = deps.now();
  const advice = retryAdviceFromHeaders((name) => headers.get(name) ?? undefined, nowMs);
  const { dimensions } = deps.accounting;
  const short: DimensionName[] = [];
  for (const [header, name] of Object.entries(headerDimensions(deps.accounting.provider))) {
    const remaining = figures[header as keyof RateLimitHeaders]?.remaining;
    const cost = reservation.costs[dimensions.indexOf(name)] ?? 0;
    if (remaining !== undefined && remaining < Math.max(1, cost)) short.push(name);
  }
  // The reset headers say when a bucket is full again, not when this request fits: the delay is
  // the retry-after (1 s when the provider gives none).
  const forMs = advice?.delayMs ?? 1000;
  if (!(forMs > 0)) return;
  // Every worker of a shared budget cuts with this one.
  if (short.length === 0 && target.feedback.unexplained429(nowMs, forMs)) {
    target.contact.made({ cutAt: nowMs });
  }
  for (const name of short.length > 0 ? short : dimensions) {
    const cost = reservation.costs[dimensions.indexOf(name)] ?? 0;
    target.budget.holdFor(name, forMs, cost).catch(() => undefined);
    deps.onHold({ modelClass: target.modelClass, dimension: name, forMs: Math.round(forMs) });
  }
}
