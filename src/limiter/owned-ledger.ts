import { LEDGER_SIZE, type Ledger, type LedgerEntry } from './refund-ledger.js';

/**
 * A refund ledger owned by one live state (MemoryStore's, through gcraGrantInPlace), kept as a
 * ring of LEDGER_SIZE entries so that a grant is a few writes: on a schedule running ahead every
 * grant drops the oldest entry, and moving the others along cost as much as the rest of a
 * reservation. It reads as any other ledger (`entries`, oldest first, built when first read
 * after a change), so the pure functions of refund-ledger.ts serve refunds, charges and holds.
 */
/**
 * LEDGER_SIZE as a constant of this module: the compiler folds it into the ring's arithmetic, where
 * through the imported binding `%` stayed a division (a fifth of a grant here).
 */
const SLOTS = LEDGER_SIZE;

export class OwnedLedger implements Ledger {
  offset: number;
  floor: number;
  private readonly seqs = new Float64Array(SLOTS);
  /** Each gap minus the offset, as in `LedgerEntry`. */
  private readonly gaps = new Float64Array(SLOTS);
  /** Slot of the oldest entry. */
  private head = 0;
  private count = 0;
  /** `entries` as last built; dropped by every change. */
  private view: readonly LedgerEntry[] | undefined;

  private constructor(offset: number, floor: number) {
    this.offset = offset;
    this.floor = floor;
  }

  /** An owned copy of `ledger` (which is left as it is: it may be shared, as `emptyLedger` is). */
  static from(ledger: Ledger): OwnedLedger {
    const owned = new OwnedLedger(ledger.offset, ledger.floor);
    const { entries } = ledger;
    if (entries.length > LEDGER_SIZE) {
      throw new Error(
        `A refund ledger holds at most ${LEDGER_SIZE} entries, not ${entries.length}`,
      );
    }
    for (const [i, entry] of entries.entries()) {
      owned.seqs[i] = entry.seq;
      owned.gaps[i] = entry.gap;
    }
    owned.count = entries.length;
    return owned;
  }

  get entries(): readonly LedgerEntry[] {
    if (this.view === undefined) {
      const out = new Array<LedgerEntry>(this.count);
      for (let i = 0; i < this.count; i++) {
        const slot = (this.head + i) % SLOTS;
        out[i] = { seq: this.seqs[slot]!, gap: this.gaps[slot]! };
      }
      this.view = out;
    }
    return this.view;
  }

  /** `ledgerAfterGrant`, written into this ledger: the same offset, floor and entries. */
  grant(tatBefore: number, startUs: number, seq: number): void {
    this.view = undefined;
    const offset = this.offset + Math.max(0, startUs - tatBefore);
    const gap = Math.max(0, tatBefore - startUs);
    this.offset = offset;
    const { seqs, gaps } = this;
    // Entries no longer below the new gap stop being suffix minima (gap 0, the common start on
    // an idle schedule, leaves none).
    let count = this.count;
    while (count > 0 && gaps[(this.head + count - 1) % SLOTS]! + offset >= gap) count--;
    if (count === SLOTS) {
      // Full: the oldest is dropped, and grants before it get nothing back.
      this.floor = Math.max(this.floor, seqs[this.head]!);
      this.head = (this.head + 1) % SLOTS;
      count--;
    }
    const slot = (this.head + count) % SLOTS;
    seqs[slot] = seq;
    // As ledgerAfterGrant writes it (-offset when the gap is 0: -0, not 0, at offset 0).
    gaps[slot] = gap === 0 ? -offset : gap - offset;
    this.count = count + 1;
  }
}

/**
 * `ledgerAfterGrant` for a state's owner (see gcraGrantInPlace): the same ledger, written into
 * `ledger` when it is an `OwnedLedger`; any other ledger is copied into a new one first.
 */
export function ledgerAfterGrantInPlace(
  ledger: Ledger,
  tatBefore: number,
  startUs: number,
  seq: number,
): Ledger {
  const owned = ledger instanceof OwnedLedger ? ledger : OwnedLedger.from(ledger);
  owned.grant(tatBefore, startUs, seq);
  return owned;
}
