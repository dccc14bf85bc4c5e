import type { Clock } from '../../clock.js';
import { InvalidArgumentError } from '../../errors/invalid-argument-error.js';
import { InvalidConfigError } from '../../errors/invalid-config-error.js';
import { roundMs } from '../../events/event-numbers.js';
import { reportError, SafeEventEmitter } from '../../events/safe-event-emitter.js';
import type { Grant, LimiterSpec, Look, ReserveOutcome, Store } from '../../limiter/store.js';
import { evalScript, type RedisScriptClient } from '../../redis/eval-script.js';
import { KeyClaims } from '../key-claims.js';
import {
  adjustScript,
  holdScript,
  lookScript,
  type RedisScript,
  reserveScript,
} from './lua/scripts.js';
import { encodeAdjustBatch, type PendingAdjust } from './redis-adjust-batch.js';
import { redisKey } from './redis-keys.js';
import { RedisLocalShare } from './redis-local-share.js';
import {
  degradeOperation,
  isOutage,
  RedisOutage,
  type Sent,
  sendUnlessDown,
  withTimeout,
} from './redis-outage.js';
import { decodeBatch, encodeBatch, MAX_BATCH, type PendingReserve } from './redis-reserve-batch.js';
import {
  type OnUnavailable,
  type RedisRecoveredEvent,
  type RedisReserveOutcome,
  type RedisStoreOperation,
  type RedisStoreOptions,
  type RedisUnavailableEvent,
  resolveOptions,
} from './redis-store-options.js';
import { TurnBatcher } from './turn-batcher.js';

export type {
  OnUnavailable,
  RedisRecoveredEvent,
  RedisReserveOutcome,
  RedisStoreOperation,
  RedisStoreOptions,
  RedisUnavailableEvent,
};

/** Keys outlive their idle time by this much (an idle key equals a fresh one either way). */
const SLACK_MS = 1000;
/** With a test clock, Redis expires keys by its own clock, unrelated to the test's: keep them. */
const TEST_CLOCK_SLACK_MS = 3_600_000;

/**
 * Limiter state in Redis, shared by every process using the same prefix: one atomic Lua call per
 * reservation (all members of a group at once), timed by the Redis server's clock.
 */
export class RedisStore implements Store {
  readonly prefix: string;
  readonly mode: OnUnavailable;
  readonly timeoutMs: number;
  readonly localWorkers: number;
  readonly recheckMs: number;

  private readonly unavailableEmitter = new SafeEventEmitter<RedisUnavailableEvent>();
  private readonly recoveredEmitter = new SafeEventEmitter<RedisRecoveredEvent>();
  /** Fires each time an operation is served without Redis (modes 'fail-open' and 'local'). */
  readonly onUnavailable = this.unavailableEmitter.addListener;
  /** Fires when Redis answers again after an outage. */
  readonly onRecovered = this.recoveredEmitter.addListener;

  private readonly clock: Clock | undefined;
  private readonly slackMs: number;
  private readonly keys = new WeakMap<LimiterSpec, string>();
  private readonly claims = new KeyClaims();
  private readonly outage: RedisOutage;
  private readonly local: RedisLocalShare;
  /**
   * Reservations, and refunds and charges, waiting for the end of this event-loop turn. Each
   * arrival closes the other kind's open batch, so that the calls go out (and Redis applies them)
   * in arrival order, as MemoryStore would.
   */
  private readonly reserves = new TurnBatcher<PendingReserve>((b) => void this.flush(b), MAX_BATCH);
  private readonly adjusts = new TurnBatcher<PendingAdjust>(
    (b) => void this.flushAdjusts(b),
    MAX_BATCH,
  );

  constructor(
    private readonly redis: RedisScriptClient,
    options: RedisStoreOptions = {},
  ) {
    if (typeof redis?.evalsha !== 'function' || typeof redis.eval !== 'function') {
      throw new InvalidArgumentError(
        'redis',
        'an ioredis Redis or Cluster',
        redis,
        'new RedisStore()',
      );
    }
    const { prefix, mode, timeoutMs, recheckMs, localWorkers } = resolveOptions(
      options,
      'new RedisStore()',
    );
    this.prefix = prefix;
    this.mode = mode;
    this.timeoutMs = timeoutMs;
    this.recheckMs = recheckMs;
    this.localWorkers = localWorkers;
    this.clock = options.clock;
    this.slackMs = options.clock ? TEST_CLOCK_SLACK_MS : SLACK_MS;
    this.local = new RedisLocalShare(localWorkers, options.clock);
    this.outage = new RedisOutage(
      redis,
      recheckMs,
      (reached) => this.reenter(reached),
      (downForMs) => {
        this.local.reset();
        this.recoveredEmitter.emit({ downForMs: roundMs(downForMs) });
      },
    );
  }

  /**
   * Refuses a limiter whose key a live limiter of this store (in this process) uses with other
   * limits (workers are not compared: each checks its own limiters), and, with `onUnavailable:
   * 'local'`, one whose burst is below `localWorkers`: its share, floor(burst / localWorkers)
   * units, would be none, and every call of an outage would be refused.
   */
  claim(spec: LimiterSpec, owner: object): void {
    if (this.mode === 'local' && spec.rate.burst < this.localWorkers) {
      throw new InvalidConfigError(
        spec.algorithm === 'gcra' ? 'burst' : 'capacity',
        `at least the RedisStore's localWorkers (${this.localWorkers}) with onUnavailable 'local', for "${spec.key}": each worker admits floor(burst / localWorkers) units while Redis is away, here none, so every call would be refused`,
        spec.rate.burst,
      );
    }
    this.claims.claim(spec, owner);
  }

  /** False from a failed call until Redis answers a check again. */
  get available(): boolean {
    return !this.outage.down;
  }

  /** The Redis key holding a limiter's state (for inspection tools). */
  keyOf(spec: LimiterSpec): string {
    let key = this.keys.get(spec);
    if (key === undefined) {
      key = redisKey(this.prefix, spec.algorithm, spec.key);
      this.keys.set(spec, key);
    }
    return key;
  }

  /**
   * Reservations received in one turn of the event loop go to Redis as one script call (see
   * redis-reserve-batch.ts); each resolves with its own outcome.
   */
  reserve(
    specs: readonly LimiterSpec[],
    costsUs: readonly number[],
    maxWaitUs: number,
    nowUs: number,
  ): Promise<RedisReserveOutcome> {
    return new Promise((resolve, reject) => {
      this.adjusts.seal();
      this.reserves.add({ specs, costsUs, maxWaitUs, nowUs, resolve, reject });
    });
  }

  private async flush(batch: readonly PendingReserve[]): Promise<void> {
    let sent: Sent;
    try {
      const head = [this.nowArg(), this.slackMs];
      const { keys, args } = encodeBatch(batch, (s) => this.keyOf(s), head);
      sent = await this.send(reserveScript, keys, args, 'reserve');
    } catch (error) {
      // The script failed, not Redis (say, one key holds another type). It writes only after
      // every read, so nothing was charged: decide each reservation alone, and only the ones at
      // fault fail. (Never after a reply: that would charge the batch twice.)
      if (batch.length > 1) {
        for (const p of batch) void this.flush([p]);
      } else {
        for (const p of batch) p.reject(error);
      }
      return;
    }
    if ('reply' in sent) {
      let outcomes: RedisReserveOutcome[];
      try {
        outcomes = decodeBatch(sent.reply, batch);
      } catch (error) {
        for (const p of batch) p.reject(error);
        return;
      }
      batch.forEach((p, i) => {
        p.resolve(outcomes[i]!);
      });
      return;
    }
    for (const p of batch) {
      try {
        p.resolve(this.degrade('reserve', p.specs, sent.error, () => this.reserveWithout(p)));
      } catch (error) {
        p.reject(error);
      }
    }
  }

  private reserveWithout(p: PendingReserve): ReserveOutcome {
    if (this.mode === 'fail-open') {
      const grants = p.costsUs.map((c) => ({ seq: -1, costUs: c, spanUs: c }));
      const freeUs = p.specs[0]!.rate.capacityUs;
      return { granted: true, waitUs: 0, grants, index: 0, freeUs, fifoUs: 0 };
    }
    const keys = p.specs.map((spec) => this.keyOf(spec));
    return this.local.reserve(p.specs, keys, p.costsUs, p.maxWaitUs, p.nowUs);
  }

  /**
   * Refunds and charges received in one turn of the event loop (the settles and cancels of that
   * turn) go to Redis as one script call, applied in arrival order.
   */
  async refund(spec: LimiterSpec, grant: Grant, refundUs: number, nowUs: number): Promise<void> {
    if (refundUs <= 0 || grant.seq < 0) return;
    if (this.local.owns(grant)) {
      // A grant from the outage only means something to the local store that made it.
      if (!this.available) await this.local.refund(spec, grant, refundUs, nowUs);
      return;
    }
    await this.adjust({ kind: 'refund', spec, amountUs: refundUs, grant, nowUs });
  }

  async charge(spec: LimiterSpec, extraUs: number, nowUs: number): Promise<void> {
    if (extraUs <= 0) return;
    await this.adjust({ kind: 'charge', spec, amountUs: extraUs, nowUs });
  }

  private adjust(op: Omit<PendingAdjust, 'resolve' | 'reject'>): Promise<void> {
    return new Promise((resolve, reject) => {
      this.reserves.seal();
      this.adjusts.add({ ...op, resolve, reject });
    });
  }

  private async flushAdjusts(batch: readonly PendingAdjust[]): Promise<void> {
    let sent: Sent;
    try {
      const head = [this.nowArg(), this.slackMs];
      const { keys, args } = encodeAdjustBatch(batch, (s) => this.keyOf(s), head);
      sent = await this.send(adjustScript, keys, args, batch[0]!.kind);
    } catch (error) {
      // As for reservations: nothing was written, so each goes alone and only the ones at fault
      // fail.
      if (batch.length > 1) {
        for (const op of batch) void this.flushAdjusts([op]);
      } else {
        for (const op of batch) op.reject(error);
      }
      return;
    }
    for (const op of batch) {
      if ('reply' in sent) {
        op.resolve();
        continue;
      }
      // Without Redis, a refund is dropped (it can only under-admit); a charge is taken locally
      // in 'local' mode. 'fail-closed' rejects both.
      try {
        const served = this.degrade(op.kind, [op.spec], sent.error, () =>
          op.kind === 'charge' && this.mode === 'local'
            ? this.local.charge(op.spec, this.keyOf(op.spec), op.amountUs, op.nowUs)
            : undefined,
        );
        if (served) served.then(op.resolve, op.reject);
        else op.resolve();
      } catch (error) {
        op.reject(error);
      }
    }
  }

  /**
   * Waits, when a batch of this turn is still to be sent, until it has gone: a hold or a look
   * then reaches Redis after the reservations, refunds and charges that arrived before it, and
   * before those arriving after it (the batches are sealed).
   */
  private async afterBatches(): Promise<void> {
    if (this.reserves.idle && this.adjusts.idle) return;
    this.reserves.seal();
    this.adjusts.seal();
    await new Promise((resolve) => setImmediate(resolve));
  }

  async hold(spec: LimiterSpec, delayUs: number, nowUs: number): Promise<void> {
    if (delayUs <= 0) return;
    await this.afterBatches();
    const key = this.keyOf(spec);
    const args = [this.nowArg(), this.slackMs, algo(spec), spec.rate.capacityUs, delayUs];
    const sent = await this.send(holdScript, [key], args, 'hold');
    if ('reply' in sent) return;
    await this.degrade('hold', [spec], sent.error, () => {
      if (this.mode !== 'local') return;
      return this.local.hold(spec, key, delayUs, nowUs);
    });
  }

  async look(spec: LimiterSpec, nowUs: number): Promise<Look> {
    await this.afterBatches();
    const args = [this.nowArg(), this.slackMs, algo(spec), spec.rate.capacityUs];
    const sent = await this.send(lookScript, [this.keyOf(spec)], args, 'look');
    if ('reply' in sent) {
      const [freeUs, fifoUs, , heldUs] = numbers(sent.reply, 4);
      return { freeUs: freeUs!, fifoUs: fifoUs!, heldUs: heldUs! };
    }
    return this.degrade('look', [spec], sent.error, async () => {
      if (this.mode === 'fail-open') return { freeUs: spec.rate.capacityUs, fifoUs: 0, heldUs: 0 };
      return this.local.look(spec, nowUs);
    });
  }

  /**
   * Runs a script within `timeoutMs`. An outage (or one still going on, until a check sees Redis
   * again) comes back as `{ error }`; errors that are not outages (a bug in the request, a key
   * of another type) are thrown, in every mode.
   */
  private async send(
    script: RedisScript,
    keys: readonly string[],
    args: readonly (string | number)[],
    operation: RedisStoreOperation,
  ): Promise<Sent> {
    return sendUnlessDown(this.outage, () =>
      this.withTimeout(evalScript(this.redis, script, keys, args), operation),
    );
  }

  /** The outage policy for one operation: throw (fail-closed), or emit and serve it without Redis. */
  private degrade<T>(
    operation: RedisStoreOperation,
    specs: readonly LimiterSpec[],
    error: unknown,
    serve: () => T,
  ): T {
    return degradeOperation({
      mode: this.mode,
      what: 'limiter',
      operation,
      timeoutMs: this.timeoutMs,
      keys: specs.map((s) => s.key),
      error,
      emit: (event) => this.unavailableEmitter.emit(event),
      serve,
    });
  }

  /**
   * The outage's probe: a read of this store's own slot, then the keys served locally re-entered.
   * Rejects while Redis is away.
   */
  private async reenter(reached: () => void): Promise<void> {
    // A read of this store's own slot, not a PING: on a Cluster, PING may reach a node other
    // than the one whose shard is down. (No limiter has an empty name: nothing is read.)
    const probe = redisKey(this.prefix, 'gcra', '');
    const args = [this.nowArg(), this.slackMs, 'g', 1];
    await this.withTimeout(evalScript(this.redis, lookScript, [probe], args), 'look');
    // From here, operations wait for the keys below instead of being served locally.
    reached();
    // Keys served locally re-enter held by as far as their local schedule runs ahead (a hold
    // from a 429 survives), and empty at least, so they refill at the shared rate: no burst.
    // Only a hold placed during the outage holds callers already waiting: the rest of the push
    // is the slots granted here, which their callers keep.
    for await (const { key, spec, aheadUs, heldUs } of this.local.aheadByKey()) {
      const args = [this.nowArg(), this.slackMs, algo(spec), spec.rate.capacityUs, aheadUs];
      args.push(heldUs);
      try {
        await this.withTimeout(evalScript(this.redis, holdScript, [key], args), 'hold');
      } catch (error) {
        // A reply error is this key's own fault (another type there, say): its next operation
        // reports it; it must not keep every other key off Redis.
        if (isOutage(error)) throw error;
        reportError(`re-entering ${key} in Redis after an outage failed`, error);
      }
      this.local.release(key);
    }
  }

  private withTimeout<T>(promise: Promise<T>, operation: string): Promise<T> {
    return withTimeout(promise, operation, this.timeoutMs);
  }

  private nowArg(): string {
    return this.clock ? String(Math.floor(this.clock.now() * 1000)) : '-';
  }
}

function algo(spec: LimiterSpec): 'g' | 't' {
  return spec.algorithm === 'gcra' ? 'g' : 't';
}

function numbers(reply: unknown, length: number): number[] {
  if (!Array.isArray(reply) || reply.length < length || reply.some((v) => typeof v !== 'number')) {
    throw new Error(`Unexpected reply from a limiter script: ${JSON.stringify(reply)}`);
  }
  return reply as number[];
}
