import { fail, pass, skip, type CheckResult } from './check';

/** Commands carry an issue time and an expiry (DESIGN red line 6): a gate whose clock is off rejects them all. */
export const EARLIEST_PLAUSIBLE_YEAR = 2025;

/**
 * `timedatectl` answers `show -p NTPSynchronized --value` with yes or no; null when it is not available
 * (no systemd, a container).
 */
export function checkClock(now: Date, ntpSynchronized: string | null): CheckResult[] {
  const results: CheckResult[] = [];
  const year = now.getUTCFullYear();
  results.push(
    year >= EARLIEST_PLAUSIBLE_YEAR
      ? pass('clock', `${now.toISOString()}`)
      : fail('clock', `the clock says ${now.toISOString()}, before ${EARLIEST_PLAUSIBLE_YEAR}`, 'connect the gate to a network with NTP, or fit an RTC module; signed commands are refused until the time is right'),
  );
  if (ntpSynchronized === null) results.push(skip('clock sync', 'timedatectl not available; NTP state unknown'));
  else if (ntpSynchronized.trim() === 'yes') results.push(pass('clock sync', 'NTP synchronised'));
  else results.push(fail('clock sync', 'NTP not synchronised', 'check `timedatectl timesync-status`; the gate needs to reach an NTP server (UDP 123)'));
  return results;
}
