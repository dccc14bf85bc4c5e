/**
 * A provider's token bucket with a FIFO queue of reservations in front of it, as pure functions
 * of (state, now). No clock, no I/O: the budget stores call these, and the Lua script of the
 * Redis budget store mirrors them function for function.
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
 * Units are integer µs of schedule (rate.ts turns units into µs).
 */

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

export interface BucketQueueState {
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

export const initialBucketQueue: BucketQueueState = {
  ts: 0,
  queue: [],
  pendUs: 0,
  seq: 0,
  version: 0,
  heldUntil: 0,
};

/** A new state, and the shift of the waiting starts when there was one. */
export interface QueueStep {
  readonly state: BucketQueueState;
  readonly shift?: QueueShift;
}

/** µs the started calls still owe at `nowUs`: what a credit may take back. */
export function debtUs(state: BucketQueueState, nowUs: number): number {
  return Math.max(0, state.ts - nowUs);
}

/** Start (µs) of the ticket at `index` of the queue. */
export function startAt(state: BucketQueueState, index: number, capacityUs: number): number {
  let prefix = 0;
  for (let i = 0; i <= index; i++) prefix += state.queue[i]!.cost;
  return state.ts + prefix - capacityUs;
}

/** µs until a new reservation of `costUs` could start: behind the whole queue. */
export function queueWait(
  state: BucketQueueState,
  nowUs: number,
  costUs: number,
  capacityUs: number,
): number {
  return Math.max(0, state.ts + state.pendUs + costUs - capacityUs - nowUs);
}

/** Moves `ts` to `ts2`, reporting the shift when somebody waits. */
function moveTs(state: BucketQueueState, ts2: number): QueueStep {
  if (ts2 === state.ts) return { state };
  if (state.queue.length === 0) return { state: { ...state, ts: ts2 } };
  const version = state.version + 1;
  return { state: { ...state, ts: ts2, version }, shift: { version, all: ts2 - state.ts } };
}

function nextSeq(state: BucketQueueState, nowUs: number): number {
  // A fresh key numbers from the clock, so a permit from an earlier life of the key is not
  // taken for one of the new life.
  return (state.seq === 0 ? nowUs : state.seq) + 1;
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
 * Reserves `costUs`. With `startNow` (the whole group can start at once and nothing waits here)
 * the call is charged now; otherwise it joins the end of the queue.
 */
export function queueReserve(
  state: BucketQueueState,
  nowUs: number,
  costUs: number,
  startNow: boolean,
  lagUs = 0,
): { state: BucketQueueState; seq: number } {
  const seq = nextSeq(state, nowUs);
  // Versions of a fresh key count from the clock too: waiters of the key's earlier life (and a
  // budget's recent shifts) hold versions that must not pass for the new life's.
  const version = state.seq === 0 ? nowUs : state.version;
  if (startNow) {
    return {
      state: { ...state, ts: chargedEnd(state.ts, nowUs, costUs, lagUs), seq, version },
      seq,
    };
  }
  return {
    state: {
      ...state,
      seq,
      version,
      queue: [...state.queue, { seq, cost: costUs, at: nowUs }],
      pendUs: state.pendUs + costUs,
    },
    seq,
  };
}

/** Index of a waiting ticket, -1 when it is not in the queue. */
export function indexOf(state: BucketQueueState, seq: number): number {
  return state.queue.findIndex((t) => t.seq === seq);
}

/**
 * The waiting ticket `seq` starts now: it leaves the queue and is charged. The caller checked
 * that its start has come (startAt <= now) on every member of its group.
 */
export function queueClaim(
  state: BucketQueueState,
  nowUs: number,
  seq: number,
  lagUs = 0,
): QueueStep {
  const at = indexOf(state, seq);
  if (at < 0) return { state };
  const { cost } = state.queue[at]!;
  const queue = state.queue.slice();
  queue.splice(at, 1);
  // The tickets it passes were due and not claimed: mark since when (queueExpire).
  for (let i = 0; i < at; i++) {
    const t = queue[i]!;
    if (t.at >= 0) queue[i] = { ...t, at: -(nowUs + 1) };
  }
  const ts = chargedEnd(state.ts, nowUs, cost, lagUs);
  const next = { ...state, ts, queue, pendUs: state.pendUs - cost };
  // Tickets behind it keep their starts (ts gained what their prefix lost), unless the bucket sat
  // (nearly) full and that refill is gone; tickets ahead of it now come after it.
  const all = ts - cost - state.ts;
  if (queue.length === 0 || (all === 0 && at === 0)) return { state: next };
  const version = state.version + 1;
  return {
    state: { ...next, version },
    shift: { version, all, ...(at > 0 ? { before: { seq, add: cost } } : {}) },
  };
}

/**
 * Credits `refundUs` at `nowUs` (a settle below the reservation): the bucket gets it back up to
 * its debt, exactly as the provider's, and the queue moves forward by as much.
 */
export function queueRefund(state: BucketQueueState, nowUs: number, refundUs: number): QueueStep {
  return moveTs(state, state.ts - Math.min(refundUs, debtUs(state, nowUs)));
}

/** Charges `extraUs` at `nowUs` (a settle above the reservation); the queue moves back. */
export function queueCharge(state: BucketQueueState, nowUs: number, extraUs: number): QueueStep {
  return moveTs(state, Math.max(state.ts, nowUs) + extraUs);
}

/**
 * What a provider's 429 says: a request of `costUs` fits no sooner than `untilUs` (its
 * retry-after). The bucket comes down to that, no further: a request of that cost starts at
 * `untilUs` (with `costUs` 0, the bucket is empty then). Waiting reservations queue behind it in
 * their order.
 */
export function queueHold(
  state: BucketQueueState,
  untilUs: number,
  capacityUs: number,
  costUs = 0,
): QueueStep {
  const end = untilUs + capacityUs - Math.min(costUs, capacityUs);
  const step = moveTs(state, Math.max(state.ts, end));
  return { ...step, state: { ...step.state, heldUntil: Math.max(state.heldUntil, untilUs) } };
}

/**
 * Withdraws a reservation that will not run. A waiting one leaves the queue (the tickets behind
 * it move forward by its cost); one that has started is credited back like a refund.
 */
export function queueCancel(
  state: BucketQueueState,
  nowUs: number,
  seq: number,
  costUs: number,
): QueueStep {
  const at = indexOf(state, seq);
  if (at < 0) return queueRefund(state, nowUs, costUs);
  const { cost } = state.queue[at]!;
  const queue = state.queue.slice();
  queue.splice(at, 1);
  const next = { ...state, queue, pendUs: state.pendUs - cost };
  if (at === queue.length) return { state: next };
  const version = state.version + 1;
  return {
    state: { ...next, version },
    shift: { version, all: 0, after: { seq, add: -cost } },
  };
}

/**
 * Drops waiting tickets that have been due for more than `graceUs` without a claim (their worker
 * died or stalled): they would hold the queue forever. A ticket is due from its start, and never
 * before it joined the queue (on an idle key the start lies far in the past), or from the first
 * time a later ticket started ahead of it. A waiter that comes
 * back later finds its ticket gone and reserves again.
 */
export function queueExpire(
  state: BucketQueueState,
  nowUs: number,
  capacityUs: number,
  graceUs: number,
): { state: BucketQueueState; shifts: QueueShift[] } {
  let s = state;
  const shifts: QueueShift[] = [];
  while (s.queue.length > 0 && dueSince(s, capacityUs) < nowUs - graceUs) {
    const step = queueCancel(s, nowUs, s.queue[0]!.seq, 0);
    s = step.state;
    if (step.shift) shifts.push(step.shift);
  }
  return { state: s, shifts };
}

/** Since when the head ticket has been due: passed by a later start, or from its start. */
function dueSince(s: BucketQueueState, capacityUs: number): number {
  const { at } = s.queue[0]!;
  return at < 0 ? -at - 1 : Math.max(startAt(s, 0, capacityUs), at);
}

/** Applies a shift to a waiter's planned start on this key. */
export function shiftedStart(startUs: number, seq: number, shift: QueueShift): number {
  let out = startUs + shift.all;
  if (shift.before && seq < shift.before.seq) out += shift.before.add;
  if (shift.after && seq > shift.after.seq) out += shift.after.add;
  return out;
}

/** µs of schedule free at once (negative while calls wait). */
export function queueFreeUs(state: BucketQueueState, nowUs: number, capacityUs: number): number {
  return capacityUs - Math.max(0, state.ts + state.pendUs - nowUs);
}

/** µs until the latest hold ends (0 when none runs). */
export function queueHeldUs(state: BucketQueueState, nowUs: number): number {
  return Math.max(0, state.heldUntil - nowUs);
}
