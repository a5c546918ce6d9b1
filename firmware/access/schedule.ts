import type { WeeklySchedule } from '../store/records';

const DAY_MINUTES = 24 * 60;
const WEEK_MINUTES = 7 * DAY_MINUTES;

function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}

/**
 * Whether `at` falls inside one of the schedule's weekly windows, read in the schedule's fixed UTC offset.
 * Times are placed on a week of minutes (Sunday 00:00 = 0) so a window that runs past midnight, or past
 * Saturday into Sunday, is just a span that wraps around the week.
 */
export function isWithinSchedule(schedule: WeeklySchedule, at: Date): boolean {
  const local = new Date(at.getTime() + schedule.utcOffsetMinutes * 60_000);
  const nowInWeek = local.getUTCDay() * DAY_MINUTES + local.getUTCHours() * 60 + local.getUTCMinutes();
  return schedule.windows.some((w) => {
    const start = minutesOf(w.start);
    const end = minutesOf(w.end);
    const length = end > start ? end - start : end + DAY_MINUTES - start;
    return w.days.some((day) => {
      const from = day * DAY_MINUTES + start;
      const since = (nowInWeek - from + WEEK_MINUTES) % WEEK_MINUTES;
      return since < length;
    });
  });
}
