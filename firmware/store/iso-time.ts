/**
 * Strict ISO-8601 for the validity limits an operator types. `Date.parse` rolls impossible dates over
 * (2027-02-30 becomes 2027-03-02) and accepts free-form text, which would silently move a resident's
 * expiry; here every field is checked against the calendar and anything else is refused by name.
 */
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?$/;

export type DateOnlyMeans = 'start-of-day' | 'end-of-day';

const daysIn = (year: number, month: number) => new Date(Date.UTC(year, month, 0)).getUTCDate();

/**
 * Parses `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM[:SS[.fff]][Z|±HH:MM]` (no zone means UTC) to epoch ms, or
 * returns a message saying what is wrong. A date alone is the start of that UTC day, or with
 * `end-of-day` the first instant after it, so that "valid until 2027-12-31" includes the 31st.
 */
export function parseIsoTime(text: string, dateOnly: DateOnlyMeans = 'start-of-day'): { ms: number } | { error: string } {
  const m = ISO.exec(text.trim());
  if (!m) return { error: 'is not an ISO-8601 date or time (e.g. 2027-12-31 or 2027-12-31T18:00:00Z)' };
  const [, y, mo, d, hh, mi, ss, frac, zone] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (year < 1970) return { error: `has year ${y}, before 1970` };
  if (month < 1 || month > 12) return { error: `has month ${mo}, which does not exist` };
  if (day < 1 || day > daysIn(year, month)) return { error: `has day ${d}, but ${y}-${mo} has ${daysIn(year, month)} days` };
  if (hh === undefined) return { ms: Date.UTC(year, month - 1, day + (dateOnly === 'end-of-day' ? 1 : 0)) };
  const hour = Number(hh);
  const minute = Number(mi);
  const second = ss === undefined ? 0 : Number(ss);
  if (hour > 23 || minute > 59 || second > 59) return { error: `has time ${hh}:${mi}${ss === undefined ? '' : `:${ss}`}, which does not exist` };
  let offsetMin = 0;
  if (zone !== undefined && zone !== 'Z') {
    const oh = Number(zone.slice(1, 3));
    const om = Number(zone.slice(4, 6));
    if (oh > 14 || om > 59) return { error: `has UTC offset ${zone}, which does not exist` };
    offsetMin = (zone.startsWith('-') ? -1 : 1) * (oh * 60 + om);
  }
  const ms = Date.UTC(year, month - 1, day, hour, minute, second, frac === undefined ? 0 : Math.floor(Number(frac) * 1000));
  return { ms: ms - offsetMin * 60_000 };
}
