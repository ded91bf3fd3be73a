/** Edit distance (insertions, deletions, substitutions) between two strings. */
export function levenshtein(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length];
}

/**
 * The `count` candidates closest to `text`, for "did you mean" lists: those containing it first, then by edit
 * distance, ties alphabetically. Case-insensitive; candidates are returned as given.
 */
export function closestStrings(text: string, candidates: Iterable<string>, count = 5): string[] {
  const key = text.toLowerCase();
  const scored = [...new Set(candidates)].map((n) => {
    const lower = n.toLowerCase();
    return { n, score: (lower.includes(key) ? 0 : 1000) + levenshtein(key, lower) };
  });
  scored.sort((a, b) => a.score - b.score || a.n.localeCompare(b.n));
  return scored.slice(0, count).map((s) => s.n);
}
