/** One line of the self-test table. `fix` tells the installer what to do when `ok` is false. */
export interface CheckResult {
  name: string;
  ok: boolean;
  /** Not run here (simulated hardware, the running daemon holds the device, feature off); counts as ok. */
  skipped?: boolean;
  detail: string;
  fix: string;
}

export interface NamedCheck {
  name: string;
  timeoutMs: number;
  run: () => Promise<CheckResult[]> | CheckResult[];
}

export const pass = (name: string, detail: string): CheckResult => ({ name, ok: true, detail, fix: '' });
export const fail = (name: string, detail: string, fix: string): CheckResult => ({ name, ok: false, detail, fix });
export const skip = (name: string, detail: string): CheckResult => ({ name, ok: true, skipped: true, detail, fix: '' });

/** Runs the checks one after another (they share buses and devices); a throw or a hang is a failure of that check. */
export async function runChecks(checks: readonly NamedCheck[]): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const check of checks) {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${check.timeoutMs} ms`)), check.timeoutMs);
    });
    try {
      results.push(...(await Promise.race([Promise.resolve().then(check.run), timeout])));
    } catch (err) {
      results.push(fail(check.name, err instanceof Error ? err.message : String(err), 'see the detail; run `postern selftest` again after fixing it'));
    } finally {
      clearTimeout(timer);
    }
  }
  return results;
}

/** The table a person at the gate reads: one row a check, the fix under each failure. */
export function formatTable(results: readonly CheckResult[]): string {
  const width = Math.max(5, ...results.map((r) => r.name.length));
  const lines = [`${'check'.padEnd(width)}  result  detail`];
  for (const r of results) {
    lines.push(`${r.name.padEnd(width)}  ${(r.skipped ? 'skip' : r.ok ? 'ok' : 'FAIL').padEnd(6)}  ${r.detail}`);
    if (!r.ok) lines.push(`${''.padEnd(width)}  fix:    ${r.fix}`);
  }
  const failed = results.filter((r) => !r.ok).length;
  lines.push(failed === 0 ? 'all checks passed' : `${failed} check${failed === 1 ? '' : 's'} failed`);
  return lines.join('\n');
}
