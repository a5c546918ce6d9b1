import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nacl from 'tweetnacl';
import { parseIsoTime } from '../../firmware/store/iso-time';
import { GateStore } from '../../firmware/store/store';

const ms = (text: string, dateOnly?: 'start-of-day' | 'end-of-day') => {
  const r = parseIsoTime(text, dateOnly);
  if ('error' in r) throw new Error(r.error);
  return new Date(r.ms).toISOString();
};
const error = (text: string) => {
  const r = parseIsoTime(text);
  return 'error' in r ? r.error : `accepted as ${new Date(r.ms).toISOString()}`;
};

describe('strict ISO-8601 for validity limits', () => {
  test.each([
    ['2027-12-31', '2027-12-31T00:00:00.000Z'],
    ['2028-02-29', '2028-02-29T00:00:00.000Z'],
    ['2027-06-01T08:30', '2027-06-01T08:30:00.000Z'],
    ['2027-06-01T08:30:15Z', '2027-06-01T08:30:15.000Z'],
    ['2027-06-01T08:30:15.250+02:00', '2027-06-01T06:30:15.250Z'],
    ['2027-06-01 23:59:59-05:30', '2027-06-02T05:29:59.000Z'],
  ])('%s is %s', (text, iso) => expect(ms(text)).toBe(iso));

  test('a date alone as an end means the whole of that day is included', () => {
    expect(ms('2027-12-31', 'end-of-day')).toBe('2028-01-01T00:00:00.000Z');
    expect(ms('2027-02-28', 'end-of-day')).toBe('2027-03-01T00:00:00.000Z');
    expect(ms('2027-12-31T18:00Z', 'end-of-day')).toBe('2027-12-31T18:00:00.000Z');
  });

  test.each([
    ['2027-02-30', /day 30, but 2027-02 has 28 days/],
    ['2027-02-29', /day 29, but 2027-02 has 28 days/],
    ['2027-04-31', /day 31, but 2027-04 has 30 days/],
    ['2027-13-01', /month 13/],
    ['2027-00-10', /month 00/],
    ['2027-01-00', /day 00/],
    ['2027-01-01T24:00', /time 24:00/],
    ['2027-01-01T12:60', /time 12:60/],
    ['2027-01-01T12:00:61Z', /time 12:00:61/],
    ['2027-01-01T12:00+15:00', /UTC offset \+15:00/],
    ['0027-01-01', /year 0027/],
    ['soon', /not an ISO-8601 date/],
    ['31/12/2027', /not an ISO-8601 date/],
    ['Dec 31 2027', /not an ISO-8601 date/],
    ['2027-1-5', /not an ISO-8601 date/],
    ['', /not an ISO-8601 date/],
  ])('%j is refused: %s', (text, why) => expect(error(text)).toMatch(why));
});

describe('the store refuses impossible validity dates instead of rolling them over', () => {
  let dir: string;
  let store: GateStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'postern-iso-'));
    store = GateStore.open({ dir, templateKey: nacl.randomBytes(32) });
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('2027-02-30 is refused by name and nothing is created', () => {
    expect(() => store.addResident({ id: 'r-1', validUntil: '2027-02-30' })).toThrow('validUntil "2027-02-30" has day 30, but 2027-02 has 28 days');
    expect(() => store.addResident({ id: 'r-1', validFrom: '2027-13-01' })).toThrow(/validFrom "2027-13-01" has month 13/);
    expect(store.listResidents()).toHaveLength(0);
  });

  test('valid-until as a date keeps the resident valid through that day', () => {
    const r = store.addResident({ id: 'r-2', validFrom: '2027-01-01', validUntil: '2027-12-31' });
    expect(r.validFrom).toBe('2027-01-01T00:00:00.000Z');
    expect(r.validUntil).toBe('2028-01-01T00:00:00.000Z');
  });
});
