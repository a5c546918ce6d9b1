import { join } from 'node:path';
import { hashCardUid } from '../../firmware/credentials/card-id';
import { loadGateKeys } from '../../firmware/keys/key-files';
import { startDaemon, type StartedDaemon } from '../helpers/daemon';

/** The real built daemon in sim mode: the bench taps a card on the PN532 emulator, the real driver reads it. */
describe('card reader in the sim daemon', () => {
  let daemon: StartedDaemon;
  beforeAll(async () => {
    daemon = await startDaemon({ config: { cards: { pollIntervalMs: 10 } } });
  });
  afterAll(async () => {
    await daemon?.stop();
  });

  test('POST /api/sim/nfc: presented with the site-keyed hash, removed after holdMs, never the UID', async () => {
    const uid = '04A1B2C3D4E5F6';
    const siteKey = loadGateKeys(join(daemon.dataDir, 'keys'), false).siteKey;
    const res = await daemon.post('/api/sim/nfc', { uid: '04:a1:b2:c3:d4:e5:f6', holdMs: 150 });
    expect(res).toEqual({ status: 200, body: { ok: true, holdMs: 150 } });
    const presented = await daemon.waitForEvent((e) => e.type === 'card.presented', 5000);
    expect(presented.data).toEqual({ card: hashCardUid(siteKey, uid) });
    await daemon.waitForEvent((e) => e.type === 'card.removed', 5000);
    expect((await daemon.state()).methods.card).toBe('ok');

    expect(await daemon.post('/api/sim/nfc', { uid: '08A1B2C3' })).toMatchObject({ status: 200 });
    await daemon.waitForEvent((e) => e.type === 'card.refused' && e.reason === 'random-uid', 5000);

    const everything = JSON.stringify(daemon.logs) + daemon.stderr() + JSON.stringify(await daemon.events());
    expect(everything).not.toMatch(/04A1B2C3D4E5F6|04:a1:b2/i);
    expect(daemon.stderr()).toMatch(/nfc\s+simulated\s+PN532 emulator/);
  });

  test('a malformed tap is refused with 400 and says what a UID must be', async () => {
    const res = await daemon.post('/api/sim/nfc', { uid: '12345' });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/4, 7 or 10 bytes of hex/);
    expect((await daemon.post('/api/sim/nfc', { uid: 'DEADBEEF', holdMs: -1 })).status).toBe(400);
  });
});
