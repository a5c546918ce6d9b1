/** What systemd asked for, read from the environment it gives the service (sd_watchdog_enabled(3)). */
export type WatchdogPlan =
  | { notify: false; reason: string }
  | { notify: true; pingMs: number | null; reason: string };

/**
 * The daemon pings at half of WATCHDOG_USEC, as sd_watchdog_enabled(3) recommends, so one late ping
 * never costs a restart. WATCHDOG_PID names the process the watchdog is meant for; any other process
 * (a child that inherited the environment) must not ping on its behalf.
 */
export function planWatchdog(env: NodeJS.ProcessEnv, pid: number): WatchdogPlan {
  if (!env.NOTIFY_SOCKET) return { notify: false, reason: 'NOTIFY_SOCKET is not set (not started by systemd)' };
  const usecText = env.WATCHDOG_USEC;
  if (usecText === undefined || usecText === '') return { notify: true, pingMs: null, reason: 'WATCHDOG_USEC is not set' };
  if (!/^\d+$/.test(usecText) || Number(usecText) === 0) {
    return { notify: true, pingMs: null, reason: `WATCHDOG_USEC=${usecText} is not a positive number of microseconds` };
  }
  const pidText = env.WATCHDOG_PID;
  if (pidText !== undefined && pidText !== '' && Number(pidText) !== pid) {
    return { notify: true, pingMs: null, reason: `WATCHDOG_PID=${pidText} is another process (this is ${pid})` };
  }
  const pingMs = Math.max(1, Math.floor(Number(usecText) / 2000));
  return { notify: true, pingMs, reason: `WATCHDOG_USEC=${usecText}` };
}
