/**
 * The waiting tickets of one budget key, in order, for the in-process store: append, remove
 * anywhere, find a ticket's place and the costs up to it, each in O(log n) (amortised). A bucket
 * queue asks for these on every reservation, claim and cancel; with the queue as a plain array
 * each was a scan or a copy, and 10,000 waiters took seconds to queue and to abort.
 *
 * Tickets live in slots in the order they joined; a removed ticket leaves a dead slot. Two
 * Fenwick trees over the slots sum the live costs and count the live tickets before a slot. The
 * slots are renumbered (dead ones dropped) when they run out, which costs O(slots) once per as
 * many appends.
 */
import type { QueuedTicket } from './bucket-queue.js';

const MIN_SLOTS = 16;

export class TicketQueue {
  /** Slot of each live ticket, by seq. */
  private readonly slotOf = new Map<number, number>();
  private seqs: number[] = [];
  private costs: number[] = [];
  private ats: number[] = [];
  private live: boolean[] = [];
  /** Fenwick trees (1-based) of the live costs and the live count per slot. */
  private costTree: number[] = [0];
  private countTree: number[] = [0];
  /** Slots used so far (the next append goes there), and slots the trees cover. */
  private used = 0;
  private capacity = 0;
  /** No live ticket sits below this slot. */
  private head = 0;
  /**
   * Every live ticket below this slot has been passed by a later start (its `at` is negative).
   * Passed tickets are always a prefix of the queue: a start passes all the tickets ahead of it.
   */
  private passedBelow = 0;

  /** Live tickets. */
  get length(): number {
    return this.slotOf.size;
  }

  push(seq: number, cost: number, at: number): void {
    if (this.used === this.capacity) this.renumber();
    const slot = this.used++;
    this.seqs[slot] = seq;
    this.costs[slot] = cost;
    this.ats[slot] = at;
    this.live[slot] = true;
    this.slotOf.set(seq, slot);
    this.add(slot, cost, 1);
  }

  /** Place of ticket `seq` in the queue (0 = first), -1 when it is not there. */
  indexOf(seq: number): number {
    const slot = this.slotOf.get(seq);
    return slot === undefined ? -1 : sum(this.countTree, slot);
  }

  /** Sum of the costs of the tickets up to and including `seq`; undefined when it is not there. */
  costsThrough(seq: number): number | undefined {
    const slot = this.slotOf.get(seq);
    return slot === undefined ? undefined : sum(this.costTree, slot + 1);
  }

  /** The first ticket, if any. */
  first(): QueuedTicket | undefined {
    if (this.slotOf.size === 0) return undefined;
    while (!this.live[this.head]) this.head++;
    return this.ticketAt(this.head);
  }

  /** Removes ticket `seq`; its cost and the place it had, or undefined when it is not there. */
  remove(seq: number): { cost: number; index: number } | undefined {
    const slot = this.slotOf.get(seq);
    if (slot === undefined) return undefined;
    const index = sum(this.countTree, slot);
    const cost = this.costs[slot]!;
    this.slotOf.delete(seq);
    this.live[slot] = false;
    this.add(slot, -cost, -1);
    if (this.slotOf.size === 0) this.clear();
    return { cost, index };
  }

  /**
   * Marks the tickets ahead of the one in slot order `index` (the place it had) as passed at
   * `nowUs`, those not marked before: `at` becomes -(nowUs + 1) (bucket-queue.ts `QueuedTicket`).
   * Each slot is visited once over the queue's life.
   */
  passAhead(index: number, nowUs: number): void {
    if (index === 0 || this.slotOf.size === 0) return;
    // The ticket now at `index` was behind the one that started: mark every live slot before it.
    let slot = Math.max(this.passedBelow, this.head);
    let place = sum(this.countTree, slot);
    while (place < index && slot < this.used) {
      if (this.live[slot]) {
        if (this.ats[slot]! >= 0) this.ats[slot] = -(nowUs + 1);
        place++;
      }
      slot++;
    }
    this.passedBelow = Math.max(this.passedBelow, slot);
  }

  /** Calls `visit` on the live tickets in order until it returns false. */
  forEachWhile(visit: (ticket: QueuedTicket) => boolean): void {
    for (let slot = this.head; slot < this.used; slot++) {
      if (this.live[slot] && !visit(this.ticketAt(slot))) return;
    }
  }

  /** The live tickets in order (for inspection). */
  toArray(): QueuedTicket[] {
    const out: QueuedTicket[] = [];
    for (let slot = this.head; slot < this.used; slot++) {
      if (this.live[slot]) out.push(this.ticketAt(slot));
    }
    return out;
  }

  private ticketAt(slot: number): QueuedTicket {
    return { seq: this.seqs[slot]!, cost: this.costs[slot]!, at: this.ats[slot]! };
  }

  private add(slot: number, cost: number, count: number): void {
    for (let i = slot + 1; i < this.costTree.length; i += i & -i) {
      this.costTree[i]! += cost;
      this.countTree[i]! += count;
    }
  }

  private clear(): void {
    this.seqs = [];
    this.costs = [];
    this.ats = [];
    this.live = [];
    this.costTree = [0];
    this.countTree = [0];
    this.used = 0;
    this.capacity = 0;
    this.head = 0;
    this.passedBelow = 0;
  }

  /** Drops the dead slots and makes room for as many appends as there are live tickets. */
  private renumber(): void {
    const size = Math.max(MIN_SLOTS, 2 * this.slotOf.size);
    const seqs: number[] = [];
    const costs: number[] = [];
    const ats: number[] = [];
    let passedBelow = 0;
    for (let slot = this.head; slot < this.used; slot++) {
      if (!this.live[slot]) continue;
      if (slot < this.passedBelow) passedBelow++;
      this.slotOf.set(this.seqs[slot]!, seqs.length);
      seqs.push(this.seqs[slot]!);
      costs.push(this.costs[slot]!);
      ats.push(this.ats[slot]!);
    }
    this.used = seqs.length;
    this.head = 0;
    this.passedBelow = passedBelow;
    this.live = seqs.map(() => true);
    this.seqs = seqs;
    this.costs = costs;
    this.ats = ats;
    this.capacity = size;
    this.costTree = new Array<number>(size + 1).fill(0);
    this.countTree = new Array<number>(size + 1).fill(0);
    // Linear build: each node passes its sum to its parent, the empty slots' nodes too (a node
    // past the last ticket still carries the sums of the ones below it up the tree).
    for (let i = 1; i <= size; i++) {
      if (i <= this.used) {
        this.costTree[i]! += costs[i - 1]!;
        this.countTree[i]! += 1;
      }
      const parent = i + (i & -i);
      if (parent <= size) {
        this.costTree[parent]! += this.costTree[i]!;
        this.countTree[parent]! += this.countTree[i]!;
      }
    }
  }
}

/** Sum of the first `n` slots of a Fenwick tree. */
function sum(tree: readonly number[], n: number): number {
  let out = 0;
  for (let i = n; i > 0; i -= i & -i) out += tree[i]!;
  return out;
}
