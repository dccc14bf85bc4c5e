import { type Clock, systemClock } from '../../clock.js';
import { InvalidArgumentError } from '../../errors/invalid-argument-error.js';
import { LimiterUnavailableError } from '../../errors/limiter-unavailable-error.js';
import { roundMs } from '../../events/event-numbers.js';
import { reportError, SafeEventEmitter } from '../../events/safe-event-emitter.js';
import type { QueueShift } from '../../limiter/bucket-queue.js';
import type {
  BudgetLook,
  BudgetReserveOutcome,
  BudgetSpec,
  BudgetStore,
  ClaimOutcome,
  ContactAnswer,
  ContactNotice,
  QueueChange,
  SharedContact,
  TicketPlan,
} from '../../limiter/budget-store.js';
import { makeRate, type Rate } from '../../limiter/rate.js';
import { evalScript, type LuaScript, type RedisScriptClient } from '../../redis/eval-script.js';
import { DEFAULT_CLAIM_GRACE_US, MemoryBudgetStore } from '../memory-budget-store.js';
import { budgetLimitsReadScript, budgetLimitsScript } from './lua/budget-limits-script.js';
import {
  budgetAdjustScript,
  budgetCancelScript,
  budgetClaimScript,
  budgetHoldScript,
  budgetLookScript,
  budgetReserveScript,
  budgetVersionsScript,
} from './lua/budget-scripts.js';
import { contactEnterScript, contactMadeScript } from './lua/contact-scripts.js';
import { encodeKeyName } from './redis-keys.js';
import {
  degradeOperation,
  isOutage,
  RedisOutage,
  type Sent,
  sendUnlessDown,
  withTimeout,
} from './redis-outage.js';
import {
  type OnUnavailable,
  type RedisRecoveredEvent,
  type RedisStoreOptions,
  type RedisUnavailableEvent,
  resolveOptions,
} from './redis-store-options.js';

/** How long a budget's first contact stays made without a newer answer (a new worker probes again after). */
const CONTACT_TTL_MS = 3_600_000;

/** Keys outlive their idle time by this much (an idle key equals a fresh one either way). */
const SLACK_MS = 1000;
/** With a test clock, Redis expires keys by its own clock, unrelated to the test's: keep them. */
const TEST_CLOCK_SLACK_MS = 3_600_000;

/** Options of a RedisBudgetStore: those of RedisStore, with the same meaning and defaults. */
export type RedisBudgetStoreOptions = RedisStoreOptions;

export type RedisBudgetOperation = 'reserve' | 'claim' | 'adjust' | 'cancel' | 'hold' | 'look';

/** Fired each time a budget operation was served without Redis (fail-open or local). */
export interface RedisBudgetUnavailableEvent extends Omit<RedisUnavailableEvent, 'operation'> {
  readonly operation: RedisBudgetOperation;
}

/** The subscriber connection's side of an ioredis client: what `watch` uses. */
export interface RedisSubscriberClient {
  subscribe(...channels: string[]): Promise<unknown>;
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
  on(event: 'ready' | 'error', listener: (...args: unknown[]) => void): unknown;
  disconnect(): void;
}

/** An ioredis `Redis` or `Cluster`: scripts, and a duplicate connection for pub/sub. */
export interface RedisBudgetClient extends RedisScriptClient {
  /** A new connection; `override`: options of a `Redis` (a `Cluster` is duplicated as is). */
  duplicate(override?: object): RedisSubscriberClient;
  /** True on an ioredis `Cluster`. */
  readonly isCluster?: boolean;
}

/** A budget key's limit as recorded beside its queue, for `inspect`. */
export interface RecordedBudgetLimits {
  /** Units per period, as the last worker to write the record had it. */
  readonly limit: number;
  readonly burst: number;
  readonly periodMs: number;
  /**
   * The highest limit written while the record lived: the configured one (times `utilization`),
   * where `limit` may be lower, adopted from the provider's headers or cut after 429s.
   */
  readonly configured: number;
  /** The queue's rate, in units of `unit`: what reads of the queue need. */
  readonly rate: Rate;
  readonly unit: number;
}

const NOT_CHARGED: TicketPlan = { seq: -1, queued: false, waitUs: 0, version: 0 };

/** Watchers of one Redis key. */
interface Watched {
  readonly name: string;
  readonly listeners: Set<(change: QueueChange) => void>;
}

/**
 * Budget queues in Redis, shared by every process using the same prefix: one atomic Lua call per
 * operation (all members of a budget at once, bucket-queue.ts in Lua), timed by the Redis
 * server's clock. Every shift of a queue is published on the store's channel; each store keeps
 * one subscriber connection (`redis.duplicate()`) while callers of its process wait, so waiters
 * in every worker re-plan when any worker settles. A missed message only delays a waiter: it
 * still claims at its planned start, and the store decides.
 */
export class RedisBudgetStore implements BudgetStore {
  readonly prefix: string;
  readonly mode: OnUnavailable;
  readonly timeoutMs: number;
  readonly localWorkers: number;
  readonly recheckMs: number;
  /** The pub/sub channel the shifts of this store's keys go to. */
  readonly channel: string;
  /** The pub/sub channel of first-contact notices (`<budget> <the notice's JSON>`). */
  readonly contactChannel: string;
  /** First contact shared by the workers of this store (pipeline/first-contact.ts). */
  readonly contact: SharedContact;

  private readonly unavailableEmitter = new SafeEventEmitter<RedisBudgetUnavailableEvent>();
  private readonly recoveredEmitter = new SafeEventEmitter<RedisRecoveredEvent>();
  /** Fires each time an operation is served without Redis (modes 'fail-open' and 'local'). */
  readonly onUnavailable = this.unavailableEmitter.addListener;
  /** Fires when Redis answers again after an outage. */
  readonly onRecovered = this.recoveredEmitter.addListener;

  private readonly clock: Clock | undefined;
  private readonly slackMs: number;
  private readonly graceUs: number;
  private readonly outage: RedisOutage;
  /** This worker's share of every key while Redis is away ('local'), and the keys it served. */
  private readonly local = new MemoryBudgetStore();
  private readonly servedLocally = new Map<string, BudgetSpec>();
  private readonly watched = new Map<string, Watched>();
  private readonly contactListeners = new Map<string, Set<(notice: ContactNotice) => void>>();
  /** Listeners that hear while the subscriber is up for other reasons (see SharedContact.onMade). */
  private readonly passiveListeners = new Map<string, Set<(notice: ContactNotice) => void>>();
  private subscriber: RedisSubscriberClient | undefined;
  /** The limits record written last by this store, per budget key. */
  private readonly recorded = new Map<string, { readonly rate: Rate; readonly atMs: number }>();
  /** Budget keys whose limits record is on its way to Redis. */
  private readonly recording = new Set<string>();

  constructor(
    private readonly redis: RedisBudgetClient,
    options: RedisBudgetStoreOptions = {},
  ) {
    if (
      typeof redis?.evalsha !== 'function' ||
      typeof redis.eval !== 'function' ||
      typeof redis.duplicate !== 'function'
    ) {
      throw new InvalidArgumentError(
        'redis',
        'an ioredis Redis or Cluster',
        redis,
        'new RedisBudgetStore()',
      );
    }
    const { prefix, mode, timeoutMs, recheckMs, localWorkers } = resolveOptions(
      options,
      'new RedisBudgetStore()',
    );
    this.prefix = prefix;
    this.mode = mode;
    this.timeoutMs = timeoutMs;
    this.recheckMs = recheckMs;
    this.localWorkers = localWorkers;
    this.channel = `{${prefix}}:q-shifts`;
    this.contactChannel = `{${prefix}}:contact`;
    this.contact = {
      enter: (name, leaseMs) => this.enterContact(name, leaseMs),
      made: (name, notice) => this.contactMade(name, notice),
      onMade: (name, listener, passive) => this.onContactMade(name, listener, passive === true),
    };
    this.clock = options.clock;
    this.slackMs = options.clock ? TEST_CLOCK_SLACK_MS : SLACK_MS;
    this.graceUs = DEFAULT_CLAIM_GRACE_US;
    this.outage = new RedisOutage(
      redis,
      recheckMs,
      (reached) => this.reenter(reached),
      (downForMs) => {
        this.recoveredEmitter.emit({ downForMs: roundMs(downForMs) });
        // Shifts published while the subscriber was away were missed.
        void this.resync();
      },
    );
  }

  /** False from a failed call until Redis answers a check again. */
  get available(): boolean {
    return !this.outage.down;
  }

  /** The Redis key of a budget key's limits record: `{prefix}:l:<name>`, in the queue's slot. */
  limitsKeyOf(name: string): string {
    return `{${this.prefix}}:l:${encodeKeyName(name)}`;
  }

  /** The limit recorded beside `name`'s queue; `undefined` when there is none (or not ours). */
  async recordedLimits(name: string): Promise<RecordedBudgetLimits | undefined> {
    const reply = await withTimeout(
      evalScript(this.redis, budgetLimitsReadScript, [this.limitsKeyOf(name)], []),
      'look',
      this.timeoutMs,
    );
    if (!Array.isArray(reply)) return undefined;
    const [limit, burst, unit, periodUs, highest] = reply.map(Number);
    const whole = (n: number | undefined): n is number => Number.isSafeInteger(n) && n! > 0;
    if (![limit, burst, unit, periodUs, highest].every(whole)) return undefined;
    try {
      return {
        limit: limit!,
        burst: burst!,
        periodMs: periodUs! / 1000,
        configured: highest!,
        rate: makeRate(
          Math.max(1, Math.floor(limit! / unit!)),
          periodUs!,
          Math.max(1, Math.floor(burst! / unit!)),
        ),
        unit: unit!,
      };
    } catch {
      return undefined;
    }
  }

  /**
   * Writes each key's limit beside its queue, so `inspect` can show it: at first use, when the
   * limit changes (a provider's lower limit, an adaptive cut), and again every half period while
   * used, since the record expires like the queues do (the time to refill plus the TTL slack).
   * Not awaited by the caller: a record that fails to be written only leaves `inspect` without it.
   */
  private recordLimits(specs: readonly BudgetSpec[]): void {
    if (this.outage.down) return;
    const nowMs = (this.clock ?? systemClock).now();
    for (const spec of specs) {
      // Keyed by the budget key's name: no encoding on the way of every reserve.
      const last = this.recorded.get(spec.key);
      const refillMs = Math.ceil(spec.rate.capacityUs / 1000);
      if (last && last.rate === spec.rate && nowMs - last.atMs < refillMs / 2) continue;
      // One write per key on its way at most: a Redis that stopped answering (paused, before the
      // outage is seen) must not collect a queue of them.
      if (this.recording.has(spec.key)) continue;
      this.recording.add(spec.key);
      this.recorded.set(spec.key, { rate: spec.rate, atMs: nowMs });
      const unit = spec.unit ?? 1;
      const args = [
        spec.rate.limit * unit,
        spec.rate.burst * unit,
        unit,
        spec.rate.periodUs,
        refillMs + this.slackMs,
      ];
      // A failed write is tried again after the same interval: `inspect` lacks it until then.
      evalScript(this.redis, budgetLimitsScript, [this.limitsKeyOf(spec.key)], args)
        .catch(() => {})
        .finally(() => this.recording.delete(spec.key));
    }
  }

  /**
   * The Redis key holding a budget key's queue: `{prefix}:q:<name>`; the prefix in braces is the
   * Redis Cluster hash tag, so a budget's keys share a slot and one script serves them all.
   */
  keyOf(name: string): string {
    return `{${this.prefix}}:q:${encodeKeyName(name)}`;
  }

  async reserve(
    specs: readonly BudgetSpec[],
    costsUs: readonly number[],
    maxWaitUs: number,
    nowUs: number,
  ): Promise<BudgetReserveOutcome> {
    const args: number[] = [Math.min(maxWaitUs, Number.MAX_SAFE_INTEGER)];
    specs.forEach((s, i) => {
      args.push(s.rate.capacityUs, costsUs[i]!, s.lagUs);
    });
    this.recordLimits(specs);
    const sent = await this.send(budgetReserveScript, specs, args, 'reserve');
    if ('reply' in sent) {
      const r = numbers(sent.reply, 4);
      if (r[1] === 0) return { granted: false, waitUs: r[2]!, index: r[3]! };
      const planned = plans(r, 4, specs.length);
      const started = planned.every((p) => !p.queued);
      return {
        granted: true,
        waitUs: r[2]!,
        index: r[3]!,
        plans: planned,
        ...(started && { lagsUs: r.slice(4 + 4 * specs.length, 4 + 5 * specs.length) }),
      };
    }
    return this.degrade('reserve', specs, sent.error, async (): Promise<BudgetReserveOutcome> => {
      if (this.mode === 'fail-open') {
        return { granted: true, waitUs: 0, index: 0, plans: specs.map(() => NOT_CHARGED) };
      }
      const local = await this.local.reserve(
        specs,
        this.localCosts(specs, costsUs),
        maxWaitUs,
        nowUs,
      );
      return local.granted && local.lagsUs
        ? { ...local, lagsUs: this.lagsFromLocal(local.lagsUs) }
        : local;
    });
  }

  /**
   * A local start's arrival-lag charges, in the µs a settle gives back through `adjust` (which
   * scales a local delta up by `localWorkers`, as it does costs): never more than was charged.
   */
  private lagsFromLocal(lagsUs: readonly number[]): number[] {
    return lagsUs.map((l) => Math.floor(l / this.localWorkers));
  }

  async claim(
    specs: readonly BudgetSpec[],
    seqs: readonly number[],
    nowUs: number,
  ): Promise<ClaimOutcome> {
    const args: number[] = [];
    specs.forEach((s, i) => {
      args.push(s.rate.capacityUs, seqs[i]!, s.lagUs);
    });
    const sent = await this.send(budgetClaimScript, specs, args, 'claim');
    if ('reply' in sent) {
      const r = numbers(sent.reply, 2);
      if (r[1] === 0) return { status: 'lost' };
      if (r[1] === 2) return { status: 'started', lagsUs: r.slice(2, 2 + specs.length) };
      return { status: 'wait', waitUs: r[2]!, plans: plans(r, 3, specs.length) };
    }
    return this.degrade('claim', specs, sent.error, async (): Promise<ClaimOutcome> => {
      if (this.mode === 'fail-open') return { status: 'started' };
      // A ticket of Redis means nothing here (lost: the caller reserves again, locally).
      this.markLocal(specs);
      const local = await this.local.claim(specs, seqs, nowUs);
      return local.status === 'started' && local.lagsUs
        ? { ...local, lagsUs: this.lagsFromLocal(local.lagsUs) }
        : local;
    });
  }

  async adjust(
    specs: readonly BudgetSpec[],
    deltasUs: readonly number[],
    nowUs: number,
    leftUs?: readonly number[],
  ): Promise<readonly number[] | undefined> {
    if (deltasUs.every((d) => d === 0) && !leftUs?.some((l) => l >= 0)) return specs.map(() => 0);
    const args: number[] = [];
    specs.forEach((s, i) => {
      args.push(s.rate.capacityUs, deltasUs[i]!, leftUs?.[i] ?? -1);
    });
    const sent = await this.send(budgetAdjustScript, specs, args, 'adjust');
    if ('reply' in sent) return numbers(sent.reply, 1 + specs.length).slice(1, 1 + specs.length);
    // Without Redis a credit is dropped (it can only under-admit); 'local' takes it locally. The
    // gaps of a local share do not say what the organisation's bucket does: none are told.
    await this.degrade('adjust', specs, sent.error, async () => {
      if (this.mode !== 'local') return;
      const local = this.localCosts(specs, deltasUs, false);
      // The provider's figure is the whole organisation's: this worker's share of it.
      const shares = leftUs?.map((l) => (l < 0 ? l : l * this.localWorkers));
      await this.local.adjust(specs, local, nowUs, shares);
    });
    return undefined;
  }

  async cancel(
    specs: readonly BudgetSpec[],
    seqs: readonly number[],
    costsUs: readonly number[],
    nowUs: number,
  ): Promise<void> {
    if (seqs.every((s) => s < 0)) return;
    const args: number[] = [];
    specs.forEach((s, i) => {
      args.push(s.rate.capacityUs, seqs[i]!, costsUs[i]!);
    });
    const sent = await this.send(budgetCancelScript, specs, args, 'cancel');
    if ('reply' in sent) return;
    // A withdrawal that cannot reach Redis is dropped, in every mode: it can only under-admit
    // (a waiting ticket left there is dropped after the claim grace), and the callers giving
    // their place back in an outage have their own error already.
    if (this.mode === 'fail-closed') return;
    await this.degrade('cancel', specs, sent.error, async () => {
      if (this.mode !== 'local') return;
      await this.local.cancel(specs, seqs, this.localCosts(specs, costsUs, false), nowUs);
    });
  }

  async hold(spec: BudgetSpec, delayUs: number, costUs: number, nowUs: number): Promise<void> {
    if (delayUs <= 0) return;
    const args = [spec.rate.capacityUs, delayUs, costUs];
    const sent = await this.send(budgetHoldScript, [spec], args, 'hold');
    if ('reply' in sent) return;
    await this.degrade('hold', [spec], sent.error, async () => {
      if (this.mode !== 'local') return;
      this.markLocal([spec]);
      await this.local.hold(spec, delayUs, costUs * this.localWorkers, nowUs);
    });
  }

  async look(spec: BudgetSpec, nowUs: number): Promise<BudgetLook> {
    const sent = await this.send(budgetLookScript, [spec], [spec.rate.capacityUs], 'look');
    if ('reply' in sent) {
      const [freeUs, queued, heldUs] = numbers(sent.reply, 4);
      return { freeUs: freeUs!, queued: queued!, heldUs: heldUs! };
    }
    return this.degrade('look', [spec], sent.error, async () => {
      if (this.mode === 'fail-open') return { freeUs: spec.rate.capacityUs, queued: 0, heldUs: 0 };
      const look = await this.local.look(spec, nowUs);
      return { ...look, freeUs: Math.floor(look.freeUs / this.localWorkers) };
    });
  }

  /**
   * Shifts of `keys` made by any worker reach `listener` through the store's subscriber; in
   * 'local' mode during an outage, those of the local share too.
   */
  watch(keys: readonly string[], listener: (change: QueueChange) => void): () => void {
    for (const name of keys) {
      const key = this.keyOf(name);
      let w = this.watched.get(key);
      if (!w) {
        w = { name, listeners: new Set() };
        this.watched.set(key, w);
      }
      w.listeners.add(listener);
    }
    const unwatchLocal = this.local.watch(keys, listener);
    this.subscribe();
    return () => {
      unwatchLocal();
      for (const name of keys) {
        const key = this.keyOf(name);
        const w = this.watched.get(key);
        w?.listeners.delete(listener);
        if (w?.listeners.size === 0) this.watched.delete(key);
      }
      this.unsubscribeIfIdle();
    };
  }

  /** The hash of a budget's first contact. */
  private contactKey(name: string): string {
    return `{${this.prefix}}:contact:${encodeKeyName(name)}`;
  }

  private async enterContact(name: string, leaseMs: number): Promise<ContactAnswer> {
    const sent = await sendUnlessDown(this.outage, () =>
      withTimeout(
        evalScript(this.redis, contactEnterScript, [this.contactKey(name)], [Math.ceil(leaseMs)]),
        'contact',
        this.timeoutMs,
      ),
    ).catch((error: unknown) => ({ error }));
    // Without Redis, each process makes its own contact, as a store of one process does.
    if (!('reply' in sent) || !Array.isArray(sent.reply)) return { contact: 'probe' };
    const [state, notice] = sent.reply as [number, string];
    return {
      contact: state === 2 ? 'open' : state === 1 ? 'probe' : 'wait',
      ...parseNotice(notice),
    };
  }

  private async contactMade(name: string, notice: ContactNotice): Promise<void> {
    const stopped = notice.stoppedUntil;
    const nowMs = this.clock?.now() ?? Date.now();
    const ttlMs = Math.max(CONTACT_TTL_MS, Math.ceil((stopped ?? 0) - nowMs) + CONTACT_TTL_MS);
    const args = [ttlMs, JSON.stringify(notice), this.contactChannel, name];
    await sendUnlessDown(this.outage, () =>
      withTimeout(
        evalScript(this.redis, contactMadeScript, [this.contactKey(name)], args),
        'contact',
        this.timeoutMs,
      ),
    ).catch(() => undefined);
  }

  private onContactMade(
    name: string,
    listener: (notice: ContactNotice) => void,
    passive: boolean,
  ): () => void {
    const all = passive ? this.passiveListeners : this.contactListeners;
    let listeners = all.get(name);
    if (!listeners) {
      listeners = new Set();
      all.set(name, listeners);
    }
    listeners.add(listener);
    if (!passive) this.subscribe();
    return () => {
      const set = all.get(name);
      set?.delete(listener);
      if (set?.size === 0) all.delete(name);
      this.unsubscribeIfIdle();
    };
  }

  private onContactMessage(message: string): void {
    // Budget names are encoded (no spaces); the notice follows the first space.
    const space = message.indexOf(' ');
    this.tellContact(message.slice(0, space), parseNotice(message.slice(space + 1)));
  }

  private tellContact(name: string, notice: ContactNotice): void {
    const listeners = [
      ...(this.contactListeners.get(name) ?? []),
      ...(this.passiveListeners.get(name) ?? []),
    ];
    for (const listener of listeners) {
      try {
        listener(notice);
      } catch (error) {
        reportError('a first-contact listener threw', error);
      }
    }
  }

  /** After a (re)subscription: contacts made while it was away were not heard. */
  private async resyncContacts(): Promise<void> {
    for (const name of [...this.contactListeners.keys()]) {
      let reply: unknown;
      try {
        reply = await withTimeout(
          evalScript(this.redis, contactEnterScript, [this.contactKey(name)], [0]),
          'contact',
          this.timeoutMs,
        );
      } catch {
        // The waiters ask again when the probe's lease runs out.
        return;
      }
      if (!Array.isArray(reply) || reply[0] !== 2) continue;
      this.tellContact(name, parseNotice(String(reply[1])));
    }
  }

  private unsubscribeIfIdle(): void {
    if (this.watched.size === 0 && this.contactListeners.size === 0) this.unsubscribe();
  }

  /** Closes the subscriber connection, if one is open (it closes by itself when nobody waits). */
  close(): void {
    this.watched.clear();
    this.contactListeners.clear();
    this.passiveListeners.clear();
    this.unsubscribe();
  }

  /**
   * One subscriber connection while somebody waits. After each (re)subscription, the versions of
   * the watched keys are read again: shifts published while it was away are missed, and the
   * waiters planned on an older version ask for their plan.
   */
  private subscribe(): void {
    if (this.subscriber) return;
    // 'ready' below subscribes again after every reconnection, its promise handled. ioredis's
    // own re-subscription is turned off: nobody holds its promise, which rejects unhandled when
    // the subscriber closes before the answer (test/redis/subscriber-reconnect.test.ts). A
    // Cluster re-subscribes through its own subscriber node and keeps it.
    const sub = this.redis.isCluster
      ? this.redis.duplicate()
      : this.redis.duplicate({ autoResubscribe: false });
    this.subscriber = sub;
    const subscribed = () => {
      if (this.subscriber !== sub) return;
      sub.subscribe(this.channel, this.contactChannel).then(
        () => {
          void this.resync();
          void this.resyncContacts();
        },
        () => {
          // Not connected yet: 'ready' subscribes again.
        },
      );
    };
    // Connection errors are the scripts' to report (as outages); a listener keeps ioredis from
    // treating them as unhandled.
    sub.on('error', () => {});
    sub.on('ready', subscribed);
    sub.on('message', (channel, message) => {
      if (this.subscriber !== sub) return;
      if (channel === this.channel) this.onMessage(message);
      else if (channel === this.contactChannel) this.onContactMessage(message);
    });
    subscribed();
  }

  private unsubscribe(): void {
    const sub = this.subscriber;
    this.subscriber = undefined;
    sub?.disconnect();
  }

  private onMessage(message: string): void {
    const [key, version, all, bs, ba, as, aa] = message.split(' ');
    const w = this.watched.get(key!);
    if (!w) return;
    const shift: QueueShift = {
      version: Number(version),
      all: Number(all) || 0,
      ...(bs !== '-' ? { before: { seq: Number(bs), add: Number(ba) || 0 } } : {}),
      ...(as !== '-' ? { after: { seq: Number(as), add: Number(aa) || 0 } } : {}),
    };
    this.deliver(w, { key: w.name, shift });
  }

  /** Tells every watcher the version its keys stand at now (see QueueChange.resync). */
  private async resync(): Promise<void> {
    const keys = [...this.watched.keys()];
    if (keys.length === 0 || this.outage.down) return;
    let reply: unknown;
    try {
      reply = await withTimeout(
        evalScript(this.redis, budgetVersionsScript, keys, this.head()),
        'resync',
        this.timeoutMs,
      );
    } catch {
      // Waiters keep their plans and claim at their planned start: a delay at most.
      return;
    }
    const versions = numbers(reply, keys.length);
    keys.forEach((key, i) => {
      const w = this.watched.get(key);
      if (w) {
        this.deliver(w, { key: w.name, shift: { version: versions[i]!, all: 0 }, resync: true });
      }
    });
  }

  private deliver(w: Watched, change: QueueChange): void {
    for (const listener of [...w.listeners]) {
      try {
        listener(change);
      } catch (error) {
        reportError('a budget queue listener threw', error);
      }
    }
  }

  /**
   * Runs a script within `timeoutMs`. An outage (or one still going on, until a check sees Redis
   * again) comes back as `{ error }`; errors that are not outages are thrown, in every mode.
   */
  private async send(
    script: LuaScript,
    specs: readonly BudgetSpec[],
    args: readonly number[],
    operation: RedisBudgetOperation,
  ): Promise<Sent> {
    const keys = specs.map((s) => this.keyOf(s.key));
    return sendUnlessDown(this.outage, () =>
      withTimeout(
        evalScript(this.redis, script, keys, [...this.head(), ...args]),
        operation,
        this.timeoutMs,
      ),
    );
  }

  /** The outage policy for one operation: throw (fail-closed), or emit and serve it. */
  private degrade<T>(
    operation: RedisBudgetOperation,
    specs: readonly BudgetSpec[],
    error: unknown,
    serve: () => T,
  ): T {
    return degradeOperation({
      mode: this.mode,
      what: 'budget',
      operation,
      timeoutMs: this.timeoutMs,
      keys: specs.map((s) => s.key),
      error,
      emit: (event) => this.unavailableEmitter.emit(event),
      serve,
    });
  }

  /**
   * Costs in the local share: each unit costs `localWorkers` times its schedule, so this worker
   * admits 1/localWorkers of every rate and burst. A cost above the share never fits it.
   */
  private localCosts(specs: readonly BudgetSpec[], costsUs: readonly number[], check = true) {
    const n = this.localWorkers;
    if (check) {
      specs.forEach((spec, i) => {
        if (costsUs[i]! * n > spec.rate.capacityUs) {
          throw new LimiterUnavailableError(
            `Redis is unavailable and the cost on ${spec.key} is above this worker's share of its burst (burst / localWorkers = ${spec.rate.burst} / ${n}); onUnavailable is 'local'`,
          );
        }
      });
    }
    this.markLocal(specs);
    return costsUs.map((c) => c * n);
  }

  private markLocal(specs: readonly BudgetSpec[]): void {
    for (const spec of specs) this.servedLocally.set(this.keyOf(spec.key), spec);
  }

  /**
   * The outage's probe: a read of this store's slot, then the keys served locally re-entered
   * empty at least, so they refill at the shared rate (no burst after the outage). Rejects while
   * Redis is away.
   */
  private async reenter(reached: () => void): Promise<void> {
    const probe = this.keyOf('');
    await withTimeout(
      evalScript(this.redis, budgetLookScript, [probe], [...this.head(), 1]),
      'look',
      this.timeoutMs,
    );
    // From here, operations wait for the keys below instead of being served locally.
    reached();
    for (const [key, spec] of this.servedLocally) {
      const args = [...this.head(), spec.rate.capacityUs, 0, 0, 'empty'];
      try {
        await withTimeout(
          evalScript(this.redis, budgetHoldScript, [key], args),
          'hold',
          this.timeoutMs,
        );
      } catch (error) {
        if (isOutage(error)) throw error;
        reportError(`re-entering ${key} in Redis after an outage failed`, error);
      }
      this.servedLocally.delete(key);
    }
  }

  /** ARGV[1..4] of every script: now (or '-'), TTL slack, claim grace, channel. */
  private head(): (string | number)[] {
    const now = this.clock ? String(Math.floor(this.clock.now() * 1000)) : '-';
    return [now, this.slackMs, this.graceUs, this.channel];
  }
}

/** A contact notice's JSON as recorded (fields of the wrong type are dropped). */
function parseNotice(json: string): ContactNotice {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    return {};
  }
  if (typeof raw !== 'object' || raw === null) return {};
  const { stoppedUntil, limits, output, cutAt } = raw as Record<string, unknown>;
  const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  const out: {
    stoppedUntil?: number;
    limits?: Record<string, number>;
    output?: number;
    cutAt?: number;
  } = {};
  if (finite(stoppedUntil)) out.stoppedUntil = stoppedUntil;
  if (finite(output)) out.output = output;
  if (finite(cutAt)) out.cutAt = cutAt;
  if (typeof limits === 'object' && limits !== null) {
    const entries = Object.entries(limits).filter(([, v]) => finite(v));
    if (entries.length > 0) out.limits = Object.fromEntries(entries) as Record<string, number>;
  }
  return out;
}

function numbers(reply: unknown, length: number): number[] {
  if (!Array.isArray(reply) || reply.length < length || reply.some((v) => typeof v !== 'number')) {
    throw new Error(`Unexpected reply from a budget script: ${JSON.stringify(reply)}`);
  }
  return reply as number[];
}

function plans(r: readonly number[], from: number, count: number): TicketPlan[] {
  const out: TicketPlan[] = [];
  for (let i = 0; i < count; i++) {
    const q = from + 4 * i;
    const seq = r[q]!;
    out.push(
      seq < 0
        ? NOT_CHARGED
        : { seq, queued: r[q + 1] === 1, waitUs: r[q + 2]!, version: r[q + 3]! },
    );
  }
  return out;
}
