/** One judged frame: the resident it matched, or null when the face matched nobody. */
export type FrameVote = string | null;

export type Confirmation =
  | { outcome: 'pending' }
  | { outcome: 'match'; residentId: string }
  | { outcome: 'no-match' };

/**
 * Pure k-of-n confirmation over the latest judged frames: a resident is confirmed when at least k of the
 * last n votes name them; the face is declared unknown only when the window is full and no resident can
 * reach k any more. One lucky frame never opens the door.
 */
export function confirmVotes(votes: readonly FrameVote[], k: number, n: number): Confirmation {
  if (k < 1 || n < k) throw new Error(`confirmation needs 1 <= k <= n (k=${k}, n=${n})`);
  const window = votes.slice(-n);
  const counts = new Map<string, number>();
  for (const v of window) if (v !== null) counts.set(v, (counts.get(v) ?? 0) + 1);
  for (const [residentId, count] of counts) if (count >= k) return { outcome: 'match', residentId };
  if (window.length < n) return { outcome: 'pending' };
  return { outcome: 'no-match' };
}
