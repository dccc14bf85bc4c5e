/**
 * How much a refund to an earlier grant may give back, exactly and safely. Pure.
 *
 * A call counts at its settled cost from the moment it started. Write the schedule's end as
 * TAT = max over grants j of term_j, with term_j = start_j + (costs of j and every grant after
 * it). Lowering grant k's cost by r lowers term_j for j <= k only, so the schedule may move back
 * by r as long as TAT - r stays at or above every later term: the refund k may have is
 *
 *     allowance(k) = min over grants j after k of gap_j,   gap_j = TAT - term_j >= 0.
 *
 * The ledger keeps the suffix minima of the gaps (entries by increasing seq with strictly
 * increasing gaps), so the first entry after k holds the answer. Every operation changes the
 * gaps uniformly or on one side of k, which keeps this cheap: a grant adds the idle time before
 * its start to every gap (stored relative to `offset`), a refund lowers the gaps after k.
 * At most LEDGER_SIZE entries are kept; when the oldest is dropped, grants before it get nothing
 * back (`floor`), which is the safe answer to a question the ledger can no longer settle.
 */

export interface LedgerEntry {
  /** Number of the grant (or hold, or charge) this gap belongs to. */
  readonly seq: number;
  /** Its gap minus the ledger's offset, in µs. */
  readonly gap: number;
}

export interface Ledger {
  /** Added to every stored gap. */
  readonly offset: number;
  /** Grants numbered below this get no refund (their entries were dropped). */
  readonly floor: number;
  /** Suffix minima of the gaps, oldest first. */
  readonly entries: readonly LedgerEntry[];
}

/** Entries kept per key; each is two numbers in the store. */
export const LEDGER_SIZE = 16;

export const emptyLedger: Ledger = { offset: 0, floor: 0, entries: [] };

/**
 * The ledger after an event numbered `seq` that moved the schedule's end from `tatBefore` to
 * max(tatBefore, startUs) + cost: a grant, a charge (a debt starting now) or a hold (nothing
 * before `until`).
 */
export function ledgerAfterGrant(
  ledger: Ledger,
  tatBefore: number,
  startUs: number,
  seq: number,
): Ledger {
  const offset = ledger.offset + Math.max(0, startUs - tatBefore);
  const gap = Math.max(0, tatBefore - startUs);
  // The common case, a start on an idle schedule: gap 0 is below or equal to every gap (all are
  // >= 0), so it is the only minimum left.
  if (gap === 0) return { offset, floor: ledger.floor, entries: [{ seq, gap: -offset }] };
  const entries = ledger.entries.slice();
  while (entries.length > 0 && entries[entries.length - 1]!.gap + offset >= gap) entries.pop();
  entries.push({ seq, gap: gap - offset });
  let { floor } = ledger;
  if (entries.length > LEDGER_SIZE) floor = Math.max(floor, entries.shift()!.seq);
  return { offset, floor, entries };
}

/**
 * µs that may be given back to grant `grantSeq`: unbounded for the latest event, 0 when nothing
 * is known about the events after it.
 */
export function ledgerAllowance(ledger: Ledger, grantSeq: number, latestSeq: number): number {
  if (grantSeq === latestSeq) return Number.POSITIVE_INFINITY;
  if (grantSeq < ledger.floor) return 0;
  for (const entry of ledger.entries) {
    if (entry.seq > grantSeq) return Math.max(0, entry.gap + ledger.offset);
  }
  return 0;
}

/** The ledger after `appliedUs` (<= the allowance) was given back to grant `grantSeq`. */
export function ledgerAfterRefund(ledger: Ledger, grantSeq: number, appliedUs: number): Ledger {
  const before = ledger.entries.filter((e) => e.seq <= grantSeq);
  const after = ledger.entries
    .filter((e) => e.seq > grantSeq)
    .map((e) => ({ seq: e.seq, gap: e.gap - appliedUs }));
  const first = after[0];
  // Entries up to k stay as they are; those no longer below every later gap stop being minima.
  while (first && before.length > 0 && before[before.length - 1]!.gap >= first.gap) before.pop();
  return { offset: ledger.offset, floor: ledger.floor, entries: [...before, ...after] };
}
