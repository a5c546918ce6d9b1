import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cardsSchema } from '../../firmware/cards/config';
import { ConfigError, parseConfig } from '../../firmware/config/load';
import { cardMasterFileName, keyRingFrom, loadCardMasters } from '../../firmware/keys/card-keys';

const problems = (raw: unknown): string => {
  try {
    parseConfig(raw);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.join('\n');
    throw err;
  }
  throw new Error('config was accepted');
};

describe('cards config for secure cards', () => {
  test('defaults keep today\'s behaviour: uid mode, key version 1, no old versions', () => {
    expect(cardsSchema.parse({})).toMatchObject({ mode: 'uid', keyVersion: 1, acceptOldKeyVersions: [], secureTimeoutMs: 500 });
    expect(cardsSchema.parse({}).uidUntil).toBeUndefined();
    expect(parseConfig({ cards: { mode: 'both', uidUntil: '2027-12-31', keyVersion: 3, acceptOldKeyVersions: [2] } }).cards).toMatchObject({ mode: 'both', uidUntil: '2027-12-31' });
  });

  test.each([
    [{ cards: { mode: 'desfire' } }, 'cards.mode = "desfire": Invalid option: expected one of "uid"|"secure"|"both"'],
    [{ cards: { mode: 'secure', uidUntil: '2027-12-31' } }, 'cards.uidUntil = "2027-12-31": uidUntil only applies to mode "both"'],
    [{ cards: { mode: 'both', uidUntil: '2027-02-30' } }, 'cards.uidUntil = "2027-02-30": has day 30, but 2027-02 has 28 days'],
    [{ cards: { keyVersion: 0 } }, 'cards.keyVersion = 0: key versions are 1..255'],
    [{ cards: { keyVersion: 2, acceptOldKeyVersions: [1, 2] } }, 'cards.acceptOldKeyVersions = [1,2]: must not repeat keyVersion'],
    [{ cards: { acceptOldKeyVersions: [0] } }, 'cards.acceptOldKeyVersions.0 = 0: key versions are 1..255'],
    [{ cards: { secureTimeoutMs: 10 } }, 'cards.secureTimeoutMs = 10: must be at least 50 ms'],
  ])('%j is refused naming key, value and what is allowed', (raw, expected) => {
    expect(problems(raw)).toContain(expected);
  });
});

describe('card master key files', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'postern-card-keys-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('sim mode creates the masters it needs, 0600, 16 bytes; the same files load again', () => {
    const masters = loadCardMasters(dir, { current: 2, acceptOld: [1] }, true);
    expect([...masters.keys()]).toEqual([2, 1]);
    for (const v of [1, 2]) expect(statSync(join(dir, cardMasterFileName(v))).mode & 0o777).toBe(0o600);
    expect(loadCardMasters(dir, { current: 2, acceptOld: [1] }, false)).toEqual(masters);
  });

  test('a missing master, a readable-by-others file or a wrong length is refused with the path and the reason', () => {
    expect(() => loadCardMasters(dir, { current: 1, acceptOld: [] }, false)).toThrow(/card-master-v1\.key is missing/);
    const path = join(dir, cardMasterFileName(1));
    writeFileSync(path, Buffer.alloc(16).toString('base64'), { mode: 0o644 });
    chmodSync(path, 0o644);
    expect(() => loadCardMasters(dir, { current: 1, acceptOld: [] }, false)).toThrow(/mode 644; it must be 0600/);
    writeFileSync(path, Buffer.alloc(24).toString('base64'));
    chmodSync(path, 0o600);
    expect(() => loadCardMasters(dir, { current: 1, acceptOld: [] }, false)).toThrow(/holds 24 bytes, which is not a valid card master v1 key/);
  });

  test('the key ring derives only for accepted versions', () => {
    const ring = keyRingFrom(new Map([[2, new Uint8Array(16)]]), { current: 2, acceptOld: [] }, 'site');
    expect(ring.authKey(2, Uint8Array.of(4, 1, 2, 3, 4, 5, 6))).toHaveLength(16);
    expect(() => ring.readKey(1)).toThrow(/version 1 is not accepted/);
  });
});
