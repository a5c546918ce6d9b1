import { backoffMs } from '../../firmware/cards/backoff';
import { cardsSchema } from '../../firmware/cards/config';
import { NO_TAP, tapStep, type Sighting, type TapEvent, type TapState } from '../../firmware/cards/tap-tracker';

function run(sightings: Sighting[], removeAfterMisses = 2): TapEvent[] {
  let state: TapState = NO_TAP;
  const events: TapEvent[] = [];
  for (const s of sightings) {
    const step = tapStep(state, s, removeAfterMisses);
    state = step.state;
    events.push(...step.events);
  }
  return events;
}

const card = (c: string): Sighting => ({ kind: 'card', card: c });
const empty: Sighting = { kind: 'empty' };
const phone: Sighting = { kind: 'random-uid' };

describe('tap semantics', () => {
  test('a card held over many polls is presented once and removed once', () => {
    expect(run([card('a'), card('a'), card('a'), empty, empty])).toEqual([
      { kind: 'presented', card: 'a' },
      { kind: 'removed', card: 'a' },
    ]);
  });

  test('one missed poll at the edge of the field is not a new tap', () => {
    expect(run([card('a'), empty, card('a'), empty, card('a')])).toEqual([{ kind: 'presented', card: 'a' }]);
    expect(run([card('a'), empty, card('a')], 1)).toEqual([
      { kind: 'presented', card: 'a' },
      { kind: 'removed', card: 'a' },
      { kind: 'presented', card: 'a' },
    ]);
  });

  test('a card swapped for another without a gap: removed, then presented', () => {
    expect(run([card('a'), card('b')])).toEqual([
      { kind: 'presented', card: 'a' },
      { kind: 'removed', card: 'a' },
      { kind: 'presented', card: 'b' },
    ]);
  });

  test('a phone is refused once per tap however its UID changes, and leaves silently', () => {
    expect(run([phone, phone, phone, empty, empty, phone])).toEqual([{ kind: 'refused-random-uid' }, { kind: 'refused-random-uid' }]);
    expect(run([phone, card('a')])).toEqual([{ kind: 'refused-random-uid' }, { kind: 'presented', card: 'a' }]);
  });
});

describe('back-off', () => {
  test('doubles per consecutive failure and stops at the cap', () => {
    expect([1, 2, 3, 4, 10].map((f) => backoffMs(f, 50, 300))).toEqual([50, 100, 200, 300, 300]);
  });
});

describe('cards config', () => {
  test('an empty section gets working defaults', () => {
    expect(cardsSchema.parse(undefined)).toMatchObject({ i2cBus: 1, address: 0x24, passiveActivationRetries: 8, backoff: { initialMs: 50, maxMs: 5000 } });
    expect(cardsSchema.parse({}).irqPin).toBeUndefined();
  });

  test('bad values are refused with the key and what is allowed', () => {
    const result = cardsSchema.safeParse({ passiveActivationRetries: 255, address: 200, backoff: { initialMs: 100, maxMs: 10 } });
    expect(result.success).toBe(false);
    const issues = result.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^passiveActivationRetries: must be at most 254 .*for ever/),
        expect.stringMatching(/^address: must be a 7-bit I2C address/),
      ]),
    );
    expect(cardsSchema.safeParse({ backoff: { initialMs: 100, maxMs: 10 } }).error!.issues[0]!.message).toMatch(/maxMs must be at least initialMs/);
  });
});
