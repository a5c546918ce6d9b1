/** Consecutive-failure back-off: initialMs, doubled per failure, capped at maxMs. */
export function backoffMs(failures: number, initialMs: number, maxMs: number): number {
  return Math.min(maxMs, initialMs * 2 ** Math.max(0, failures - 1));
}
