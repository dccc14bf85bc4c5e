/**
 * A provider's token bucket with a FIFO queue of reservations in front of it: one key's state and
 * its operations, each given the time. No clock, no I/O: the in-process budget store holds one
 * per key, and the Lua script of the Redis budget store mirrors it operation for operation
 * (`reserve` is `queue_reserve` there, and so on).
 *
 * The bucket is the provider's: `ts` is the end of the schedule of the calls that have started
 * (GCRA's theoretical arrival time over started calls only). A call is charged when it starts and
 * settled when it ends, at that moment: a credit brings `ts` back by at most the debt it holds
 * (the bucket never holds more than its capacity), an overshoot pushes it on. That is exactly
 * what the provider does, so what this bucket starts the provider admits, and what the provider
 * would admit this bucket starts.
 *
 * Callers that cannot start at once queue, in order. Ticket i of the queue may start at
 * `ts + (costs of tickets up to and including i) - capacity`: the moment the bucket holds its
 * cost once everything ahead of it has started. It is charged when it really starts (its waiter
 * claims it), never before, so a caller held back by another dimension of its group does not
 * count against this one in the meantime. Every change reports how it moved the waiting starts
 * (a `QueueShift`), so waiters re-plan without asking: a credit moves the whole queue forward.
 *
 * Units are integer µs of schedule (rate.ts turns units into µs). Every operation costs O(log n)
 * in the number of waiting tickets (amortised; ticket-queue.ts), so thousands of callers queue
 * and give up in milliseconds.
 */
import { TicketQueue } from './ticket-queue.js';

/** A reservation waiting to start. */
export interface QueuedTicket {
  /** Its number on this key. */
  readonly seq: number;
  /** µs of schedule it will be charged. */
  readonly cost: number;
  /**
   * When it joined the queue (µs): it cannot be due before. Negative once a later ticket has
   * started ahead of it: -(the first such start + 1), the time since which it has certainly been
   * due (its own start keeps moving later while others pass it, so it cannot tell).
   */
  readonly at: number;
}

/** A key's state as plain values (for tests and inspection). */
export interface BucketQueueSnapshot {
  /** End of the started calls' schedule (µs); 0 for a fresh key. */
  readonly ts: number;
  /** Waiting reservations, in order. */
  readonly queue: readonly QueuedTicket[];
  /** Sum of the waiting reservations' costs (µs). */
  readonly pendUs: number;
  /** Number of the latest reservation on this key. */
  readonly seq: number;
  /** Counts the shifts reported; a waiter that sees a gap asks for its plan again. */
  readonly version: number;
  /** End of the latest hold (µs; 0 = none). */
  readonly heldUntil: number;
  /** What others spend between two of the provider's figures, as estimated (µs; `lowerTo`). */
  readonly outsideUs: number;
  /** Until when the estimate holds (µs): a bucket's time without a figure forgets it. */
  readonly outsideUntil: number;
}

/**
 * How a change moved the waiting starts, in µs: every one by `all`, plus `add` for the tickets
 * numbered below (`before`) or above (`after`) a given ticket.
 */
export interface QueueShift {
  readonly version: number;
  readonly all: number;
  readonly before?: { readonly seq: number; readonly add: number };
  readonly after?: { readonly seq: number; readonly add: number };
}

/**
 * Where a start at `nowUs` leaves the schedule's end. A request reaches the provider some time
 * after it is let through; if the provider's bucket is full meanwhile, the refill of that time
 * is lost there. So a start on a bucket that is full, or within `lagUs` of full, counts as if it
 * happened `lagUs` later: the same loss, only where it happens (a bucket running tight loses
 * nothing).
 */
export function chargedEnd(ts: number, nowUs: number, costUs: number, lagUs: number): number {
  return Math.max(ts, nowUs + lagUs) + costUs;
}

/**
 * The part of a start's charge at `nowUs` that is arrival lag (`chargedEnd` beyond its cost): the
 * refill the provider would lose if the request took the whole `lagUs` to arrive. A settle may
 * give back what its request's answer proves was not lost (the request arrived before it).
 */
export function lagChargedUs(ts: number, nowUs: number, lagUs: number): number {
  return Math.max(0, nowUs + lagUs - Math.max(ts, nowUs));
}

/** Applies a shift to a waiter's planned start on this key. */
export function shiftedStart(startUs: number, seq: number, shift: QueueShift): number {
  let out = startUs + shift.all;
  if (shift.before && seq < shift.before.seq) out += shift.before.add;
  if (shift.after && seq > shift.after.seq) out += shift.after.add;
  return out;
}

/**
 * One key: the bucket and its queue. Operations change it in place and return the shift of the
 * waiting starts when there was one.
 */
export class BucketQueue {
  /** End of the started calls' schedule (µs); 0 for a fresh key. */
  ts = 0;
  /** Sum of the waiting reservations' costs (µs). */
  pendUs = 0;
  /** Number of the latest reservation on this key. */
  seq = 0;
  /** Counts the shifts reported; a waiter that sees a gap asks for its plan again. */
  version = 0;
  /** End of the latest hold (µs; 0 = none). */
  heldUntil = 0;
  /** What others spend between two of the provider's figures, as estimated (µs; `lowerTo`). */
  outsideUs = 0;
  /** Until when the estimate holds (µs). */
  outsideUntil = 0;
  private readonly tickets = new TicketQueue();

  /** Reservations waiting. */
  get queued(): number {
    return this.tickets.length;
  }

  /** µs the started calls still owe at `nowUs`: what a credit may take back. */
  debtUs(nowUs: number): number {
    return Math.max(0, this.ts - nowUs);
  }

  /** Start (µs) of waiting ticket `seq`; undefined when it is not in the queue. */
  startOf(seq: number, capacityUs: number): number | undefined {
    const prefix = this.tickets.costsThrough(seq);
    return prefix === undefined ? undefined : this.ts + prefix - capacityUs;
  }

  /** µs until a new reservation of `costUs` could start: behind the whole queue. */
  wait(nowUs: number, costUs: number, capacityUs: number): number {
    return Math.max(0, this.ts + this.pendUs + costUs - capacityUs - nowUs);
  }

  /**
   * Reserves `costUs`; returns its number. With `startNow` (the whole group can start at once
   * and nothing waits here) the call is charged now; otherwise it joins the end of the queue.
   */
  reserve(nowUs: number, costUs: number, startNow: boolean, lagUs = 0): number {
    // A fresh key numbers from the clock, so a permit from an earlier life of the key is not
    // taken for one of the new life. Versions too: waiters of the key's earlier life (and a
    // budget's recent shifts) hold versions that must not pass for the new life's.
    if (this.seq === 0) {
      this.seq = nowUs;
      this.version = nowUs;
    }
    const seq = ++this.seq;
    if (startNow) {
      this.ts = chargedEnd(this.ts, nowUs, costUs, lagUs);
    } else {
      this.tickets.push(seq, costUs, nowUs);
      this.pendUs += costUs;
    }
    return seq;
  }

  /**
   * The waiting ticket `seq` starts now: it leaves the queue and is charged. The caller checked
   * that its start has come (startOf <= now) on every member of its group.
   */
  claim(nowUs: number, seq: number, lagUs = 0): QueueShift | undefined {
    const removed = this.tickets.remove(seq);
    if (!removed) return undefined;
    const { cost, index } = removed;
    this.pendUs -= cost;
    // The tickets it passes were due and not claimed: mark since when (expire).
    this.tickets.passAhead(index, nowUs);
    const old = this.ts;
    this.ts = chargedEnd(old, nowUs, cost, lagUs);
    // Tickets behind it keep their starts (ts gained what their prefix lost), unless the bucket sat
    // (nearly) full and that refill is gone; tickets ahead of it now come after it.
    const all = this.ts - cost - old;
    if (this.tickets.length === 0 || (all === 0 && index === 0)) return undefined;
    this.version++;
    return {
      version: this.version,
      all,
      ...(index > 0 ? { before: { seq, add: cost } } : {}),
    };
  }

  /**
   * Credits `refundUs` at `nowUs` (a settle below the reservation): the bucket gets it back up to
   * its debt, exactly as the provider's, and the queue moves forward by as much.
   */
  refund(nowUs: number, refundUs: number): QueueShift | undefined {
    return this.moveTs(this.ts - Math.min(refundUs, this.debtUs(nowUs)));
  }

  /** Charges `extraUs` at `nowUs` (a settle above the reservation); the queue moves back. */
  charge(nowUs: number, extraUs: number): QueueShift | undefined {
    return this.moveTs(Math.max(this.ts, nowUs) + extraUs);
  }

  /**
   * What a provider's 429 says: a request of `costUs` fits no sooner than `untilUs` (its
   * retry-after). The bucket comes down to that, no further: a request of that cost starts at
   * `untilUs` (with `costUs` 0, the bucket is empty then). Waiting reservations queue behind it in
   * their order.
   */
  hold(untilUs: number, capacityUs: number, costUs = 0): QueueShift | undefined {
    const end = untilUs + capacityUs - Math.min(costUs, capacityUs);
    const shift = this.moveTs(Math.max(this.ts, end));
    this.heldUntil = Math.max(this.heldUntil, untilUs);
    return shift;
  }

  /**
   * The provider says `leftUs` of schedule are left (its `remaining`): the bucket comes down to
   * that, less what others are estimated to spend before the next figure. The gap between where
   * the started calls left the bucket and the figure (lowered by the estimate in force) is what
   * others spent since the last figure, once the estimate is steady; the estimate follows it, by
   * half the difference upward and a tenth downward (a 429 costs more than a unit held back),
   * between 0 and a quarter of the bucket, and is forgotten after a bucket's time without a
   * figure. The same estimate for every worker of the key: each figure, whoever reads it, feeds
   * and uses it.
   */
  lowerTo(nowUs: number, capacityUs: number, leftUs: number): QueueShift | undefined {
    const used = this.outsideAt(nowUs);
    const target = Math.max(0, leftUs - used);
    const error = capacityUs - target - this.debtUs(nowUs) - used;
    const next = used + (error > 0 ? Math.floor(error / 2) : -Math.floor(-error / 10));
    this.outsideUs = Math.min(Math.floor(capacityUs / 4), Math.max(0, next));
    this.outsideUntil = nowUs + capacityUs;
    return this.hold(nowUs + 1, capacityUs, target);
  }

  /** The estimate of others' spending between figures in force at `nowUs` (µs). */
  outsideAt(nowUs: number): number {
    return nowUs < this.outsideUntil ? this.outsideUs : 0;
  }

  /**
   * Withdraws a reservation that will not run. A waiting one leaves the queue (the tickets behind
   * it move forward by its cost); one that has started is credited back like a refund.
   */
  cancel(nowUs: number, seq: number, costUs: number): QueueShift | undefined {
    const removed = this.tickets.remove(seq);
    if (!removed) return this.refund(nowUs, costUs);
    this.pendUs -= removed.cost;
    if (removed.index === this.tickets.length) return undefined;
    this.version++;
    return { version: this.version, all: 0, after: { seq, add: -removed.cost } };
  }

  /**
   * Drops waiting tickets that have been due for more than `graceUs` without a claim (their worker
   * died or stalled): they would hold the queue forever. A ticket is due from its start, and never
   * before it joined the queue (on an idle key the start lies far in the past), or from the first
   * time a later ticket started ahead of it. A waiter that comes back later finds its ticket gone
   * and reserves again.
   */
  expire(nowUs: number, capacityUs: number, graceUs: number): QueueShift[] {
    const shifts: QueueShift[] = [];
    for (let head = this.tickets.first(); head; head = this.tickets.first()) {
      if (!this.stale(head, nowUs, capacityUs, graceUs)) break;
      const shift = this.cancel(nowUs, head.seq, 0);
      if (shift) shifts.push(shift);
    }
    return shifts;
  }

  /**
   * The key as the next operation will find it (`expire` first), without changing it: the
   * tickets still waiting and the µs of schedule free at once (negative while calls wait). A look
   * only reads, and must not count a dead worker's tickets as callers waiting.
   */
  look(nowUs: number, capacityUs: number, graceUs: number): { queued: number; freeUs: number } {
    let dropped = 0;
    let droppedUs = 0;
    // Dropping a waiting ticket leaves `ts` alone: each next head is judged as `expire` would.
    this.tickets.forEachWhile((head) => {
      if (!this.stale(head, nowUs, capacityUs, graceUs)) return false;
      dropped++;
      droppedUs += head.cost;
      return true;
    });
    return {
      queued: this.tickets.length - dropped,
      freeUs: capacityUs - Math.max(0, this.ts + this.pendUs - droppedUs - nowUs),
    };
  }

  /** µs of schedule free at once (negative while calls wait). */
  freeUs(nowUs: number, capacityUs: number): number {
    return capacityUs - Math.max(0, this.ts + this.pendUs - nowUs);
  }

  /** µs until the latest hold ends (0 when none runs). */
  heldUs(nowUs: number): number {
    return Math.max(0, this.heldUntil - nowUs);
  }

  /** Whether the key behaves as a fresh one at `nowUs` and has no number the clock has not passed. */
  idleAt(nowUs: number): boolean {
    return (
      this.tickets.length === 0 &&
      this.ts <= nowUs &&
      this.seq <= nowUs &&
      this.version <= nowUs &&
      this.outsideUntil <= nowUs
    );
  }

  snapshot(): BucketQueueSnapshot {
    return {
      ts: this.ts,
      queue: this.tickets.toArray(),
      pendUs: this.pendUs,
      seq: this.seq,
      version: this.version,
      heldUntil: this.heldUntil,
      outsideUs: this.outsideUs,
      outsideUntil: this.outsideUntil,
    };
  }

  /**
   * Whether `head`, first in the queue, has been due for more than `graceUs`: since a later ticket
   * started ahead of it, or from its start (never before it joined).
   */
  private stale(head: QueuedTicket, nowUs: number, capacityUs: number, graceUs: number): boolean {
    const dueSince =
      head.at < 0 ? -head.at - 1 : Math.max(this.ts + head.cost - capacityUs, head.at);
    return dueSince < nowUs - graceUs;
  }

  /** Moves `ts` to `ts2`, reporting the shift when somebody waits. */
  private moveTs(ts2: number): QueueShift | undefined {
    if (ts2 === this.ts) return undefined;
    const all = ts2 - this.ts;
    this.ts = ts2;
    if (this.tickets.length === 0) return undefined;
    this.version++;
    return { version: this.version, all };
  }
}
