/**
 * The candidate closest to a mistyped name, for "did you mean" hints; undefined when nothing is
 * close enough to be a plausible typo (more than a third of the longer name differs).
 */
export function nearest(input: string, candidates: readonly string[]): string | undefined {
  const typed = input.toLowerCase();
  // A name cut short by a suffix ("sonnet-4" for "sonnet-4.x") beats one a letter away
  // ("sonnet-5"); a longer continuation is another name ("o3" is not "o3-pro").
  const completion = candidates.find((c) => {
    const candidate = c.toLowerCase();
    return candidate.startsWith(typed) && candidate.length - typed.length <= 2;
  });
  if (typed.length > 0 && completion !== undefined) return completion;
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(typed, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  if (best === undefined) return undefined;
  return bestDistance <= Math.max(2, Math.floor(Math.max(typed.length, best.length) / 3))
    ? best
    : undefined;
}

/** Levenshtein distance: insertions, deletions and substitutions, one row at a time. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(
        Math.min(substitution, (previous[j] as number) + 1, (current[j - 1] as number) + 1),
      );
    }
    previous = current;
  }
  return previous[b.length] as number;
}
