import { accessSchema } from '../../firmware/access/config';
import { DENY_REASONS, decide, rateLimitKey, type DecisionInput, type DenyReason } from '../../firmware/access/decide';
import { policyFromConfig } from '../../firmware/access/policy';
import { emptyRateLimitState, isRateLimited, recordFailure, recordSuccess, type RateLimitPolicy } from '../../firmware/access/rate-limit';
import { isWithinSchedule } from '../../firmware/access/schedule';
import { newResident, type Resident, type WeeklySchedule } from '../../firmware/store/records';

const HASH = 'a'.repeat(64);
const NOW = new Date('2026-03-04T12:00:00Z'); // a Wednesday

function resident(over: Partial<Resident> = {}): Resident {
  return newResident('r-1', '2026-01-01T00:00:00.000Z', { cards: [{ hash: HASH, addedAt: '2026-01-01T00:00:00.000Z' }], ...over });
}

const policy = policyFromConfig(accessSchema.parse({ methods: ['card', 'face'] }));

function input(over: Partial<DecisionInput> = {}): DecisionInput {
  return { policy, presented: { method: 'card', cardHash: HASH }, resident: resident(), now: NOW, doorMode: 'normal', rateLimit: emptyRateLimitState, ...over };
}

const reasonOf = (i: DecisionInput): DenyReason | 'granted' => {
  const d = decide(i);
  return d.grant ? 'granted' : d.reason;
};

describe('access decisions', () => {
  const consented = { grantedAt: '2026-01-01T00:00:00.000Z', noticeVersion: '1', consentedBy: 'self' as const };
  const cases: [DenyReason | 'granted', Partial<DecisionInput>][] = [
    ['granted', {}],
    ['method-disabled', { policy: policyFromConfig(accessSchema.parse({ methods: ['card'] })), presented: { method: 'face', residentId: 'r-1' } }],
    ['lockdown', { doorMode: 'lockdown' }],
    ['unknown', { resident: undefined }],
    ['revoked', { resident: resident({ revokedAt: '2026-02-01T00:00:00.000Z' }) }],
    ['not-yet-valid', { resident: resident({ validFrom: '2026-03-04T12:00:01.000Z' }) }],
    ['expired', { resident: resident({ validUntil: '2026-03-04T12:00:00.000Z' }) }],
    ['outside-schedule', { resident: resident({ schedule: { utcOffsetMinutes: 0, windows: [{ days: [1, 2], start: '08:00', end: '18:00' }] } }) }],
    ['no-consent', { presented: { method: 'face', residentId: 'r-1' }, resident: resident({ face: { enrolledAt: '2026-01-01T00:00:00.000Z', lastUsedAt: null } }) }],
    ['unknown', { presented: { method: 'face', residentId: 'r-1' }, resident: resident({ consent: consented }) }],
    ['granted', { presented: { method: 'face', residentId: 'r-1' }, resident: resident({ consent: consented, face: { enrolledAt: '2026-01-01T00:00:00.000Z', lastUsedAt: null } }) }],
    ['granted', { doorMode: 'held-unlocked' }],
    ['granted', { resident: resident({ validFrom: '2026-03-04T12:00:00.000Z', validUntil: '2026-03-04T12:00:00.001Z' }) }],
    // A card that failed secure authentication (a clone showing the resident's UID) never opens.
    ['card-not-authentic', { presented: { method: 'card', cardHash: HASH, proof: 'failed' } }],
    ['granted', { presented: { method: 'card', cardHash: HASH, proof: 'secure' } }],
  ];
  test.each(cases)('%s', (expected, over) => expect(reasonOf(input(over))).toBe(expected));

  test('rate-limited after too many failures of one card, and only that card', () => {
    const rl: RateLimitPolicy = { ...policy.rateLimit, maxFailuresPerCredential: 3 };
    let state = emptyRateLimitState;
    for (let i = 0; i < 3; i += 1) state = recordFailure(state, rl, `card:${HASH}`, NOW.getTime() - 1000 + i);
    const p = { ...policy, rateLimit: rl };
    expect(reasonOf(input({ policy: p, rateLimit: state }))).toBe('rate-limited');
    expect(reasonOf(input({ policy: p, rateLimit: state, presented: { method: 'card', cardHash: 'b'.repeat(64) }, resident: undefined }))).toBe('unknown');
    // the failures age out of the window
    expect(reasonOf(input({ policy: p, rateLimit: state, now: new Date(NOW.getTime() + rl.credentialWindowMs) }))).toBe('granted');
  });

  test('failed proofs count under their own key: a clone tapped at the gate cannot rate-limit the genuine card', () => {
    const rl: RateLimitPolicy = { ...policy.rateLimit, maxFailuresPerCredential: 2 };
    const p = { ...policy, rateLimit: rl };
    const clone = { method: 'card' as const, cardHash: HASH, proof: 'failed' as const };
    expect(rateLimitKey(clone)).not.toBe(rateLimitKey({ method: 'card', cardHash: HASH }));
    let state = emptyRateLimitState;
    for (let i = 0; i < 2; i += 1) state = recordFailure(state, rl, rateLimitKey(clone), NOW.getTime() - 1000 + i);
    expect(reasonOf(input({ policy: p, rateLimit: state, presented: clone }))).toBe('rate-limited');
    expect(reasonOf(input({ policy: p, rateLimit: state, presented: { method: 'card', cardHash: HASH, proof: 'secure' } }))).toBe('granted');
  });

  test('every deny reason is exercised above', () => {
    const seen = new Set([...cases.map(([r]) => r), 'rate-limited']);
    expect(DENY_REASONS.filter((r) => !seen.has(r))).toEqual([]);
  });

  test('a policy allowing face but no non-face method is rejected, naming the rule', () => {
    const r = accessSchema.safeParse({ methods: ['face'] });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(['methods']);
    expect(r.error?.issues[0]?.message).toMatch(/face but no non-face method.*red line 1/);
    expect(accessSchema.safeParse({ methods: [] }).success).toBe(false);
    expect(accessSchema.parse({}).methods).toEqual(['card']);
  });
});

describe('rate limiting', () => {
  const rl: RateLimitPolicy = { maxFailuresPerCredential: 2, credentialWindowMs: 10_000, maxFailuresPerGate: 4, gateWindowMs: 5_000 };
  test('per gate: many different cards failing limit everyone until the window passes', () => {
    let s = emptyRateLimitState;
    for (let i = 0; i < 4; i += 1) s = recordFailure(s, rl, `card:${i}`, 1000 + i);
    expect(isRateLimited(s, rl, 'card:fresh', 2000)).toBe('gate');
    expect(isRateLimited(s, rl, 'card:fresh', 1000 + 3 + 5000)).toBeNull();
  });
  test('success clears the credential, failures age out, tracked keys are bounded', () => {
    let s = recordFailure(emptyRateLimitState, rl, 'k', 0);
    s = recordFailure(s, rl, 'k', 1);
    expect(isRateLimited(s, rl, 'k', 2)).toBe('credential');
    expect(isRateLimited(recordSuccess(s, 'k'), rl, 'k', 2)).toBeNull();
    let many = emptyRateLimitState;
    const wide = { ...rl, maxFailuresPerGate: 1e9, gateWindowMs: 1 };
    for (let i = 0; i < 1500; i += 1) many = recordFailure(many, wide, `k${i}`, i);
    expect(many.byCredential.size).toBe(1000);
    expect(many.byCredential.has('k1499')).toBe(true);
    expect(many.byCredential.has('k0')).toBe(false);
  });
});

describe('weekly schedules', () => {
  const at = (iso: string) => new Date(iso);
  test('a window across midnight covers the late evening and the early morning of the next day only', () => {
    const night: WeeklySchedule = { utcOffsetMinutes: 0, windows: [{ days: [5], start: '22:00', end: '02:00' }] }; // Friday night
    expect(isWithinSchedule(night, at('2026-03-06T21:59:00Z'))).toBe(false); // Fri 21:59
    expect(isWithinSchedule(night, at('2026-03-06T22:00:00Z'))).toBe(true);
    expect(isWithinSchedule(night, at('2026-03-07T01:59:00Z'))).toBe(true); // Sat 01:59
    expect(isWithinSchedule(night, at('2026-03-07T02:00:00Z'))).toBe(false);
    expect(isWithinSchedule(night, at('2026-03-05T23:00:00Z'))).toBe(false); // Thu 23:00
  });
  test('Saturday night wraps into Sunday (end of the week)', () => {
    const s: WeeklySchedule = { utcOffsetMinutes: 0, windows: [{ days: [6], start: '23:00', end: '01:00' }] };
    expect(isWithinSchedule(s, at('2026-03-08T00:30:00Z'))).toBe(true); // Sun 00:30
    expect(isWithinSchedule(s, at('2026-03-08T01:30:00Z'))).toBe(false);
  });
  test('UTC offsets move the window, including across the UTC date line', () => {
    const office: WeeklySchedule = { utcOffsetMinutes: 330, windows: [{ days: [1, 2, 3, 4, 5], start: '08:00', end: '18:00' }] }; // UTC+05:30
    expect(isWithinSchedule(office, at('2026-03-04T02:30:00Z'))).toBe(true); // Wed 08:00 local
    expect(isWithinSchedule(office, at('2026-03-04T02:29:00Z'))).toBe(false);
    expect(isWithinSchedule(office, at('2026-03-04T12:30:00Z'))).toBe(false); // 18:00 local
    const west: WeeklySchedule = { utcOffsetMinutes: -300, windows: [{ days: [3], start: '20:00', end: '23:00' }] }; // UTC-05:00, Wed evening
    expect(isWithinSchedule(west, at('2026-03-05T02:00:00Z'))).toBe(true); // Thu 02:00 UTC = Wed 21:00 local
    expect(isWithinSchedule(west, at('2026-03-04T21:00:00Z'))).toBe(false); // Wed 16:00 local
    const east: WeeklySchedule = { utcOffsetMinutes: 600, windows: [{ days: [4], start: '00:00', end: '06:00' }] }; // UTC+10, Thu early
    expect(isWithinSchedule(east, at('2026-03-04T15:00:00Z'))).toBe(true); // Wed 15:00 UTC = Thu 01:00 local
  });
  test('a window with start equal to end lasts a full day', () => {
    const s: WeeklySchedule = { utcOffsetMinutes: 0, windows: [{ days: [3], start: '06:00', end: '06:00' }] };
    expect(isWithinSchedule(s, at('2026-03-05T05:59:00Z'))).toBe(true);
    expect(isWithinSchedule(s, at('2026-03-05T06:00:00Z'))).toBe(false);
  });
});
