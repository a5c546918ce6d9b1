import { Pn532, Pn532Error } from '../../drivers/nfc/pn532';
import { Pn532Emulator } from '../../drivers/nfc/pn532-emulator';
import type { I2cTransport } from '../../drivers/nfc/transport';

/**
 * Timeouts short enough to keep the fault cases quick, and long enough that a busy machine stalling this
 * process for a moment does not turn a healthy answer into one: the emulator answers within a few ms.
 */
function setup(options: { irq?: boolean; emulator?: Pn532Emulator; responseTimeoutMs?: number } = {}) {
  const emulator = options.emulator ?? new Pn532Emulator();
  const transfers: { op: 'read' | 'write'; length: number }[] = [];
  const spy: I2cTransport = {
    i2cRead: (a, l, b) => (transfers.push({ op: 'read', length: l }), emulator.i2cRead(a, l, b)),
    i2cWrite: (a, l, b) => (transfers.push({ op: 'write', length: l }), emulator.i2cWrite(a, l, b)),
    close: () => emulator.close(),
  };
  const pn532 = new Pn532(spy, { ackTimeoutMs: 250, responseTimeoutMs: options.responseTimeoutMs ?? 1000, ...(options.irq ? { irq: emulator.irq } : {}) });
  return { emulator, pn532, transfers };
}

async function expectCode(p: Promise<unknown>, code: string): Promise<Pn532Error> {
  const err = await p.then(
    () => {
      throw new Error(`expected Pn532Error ${code}, got success`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Pn532Error);
  expect((err as Pn532Error).code).toBe(code);
  return err as Pn532Error;
}

describe('PN532 driver against the emulator', () => {
  test('GetFirmwareVersion, SAMConfiguration and a finite MxRtyPassiveActivation at initialise', async () => {
    const { emulator, pn532 } = setup();
    const fw = await pn532.initialise(5);
    expect(fw).toEqual({ ic: 0x32, version: 1, revision: 6, support: 7 });
    expect(emulator.sam).toBe(0x01);
    expect(emulator.maxPassiveActivationRetries).toBe(5);
    expect(emulator.recentCommands).toEqual([0x02, 0x14, 0x32]);
  });

  test('polls the status byte with one-byte plain reads before reading a frame', async () => {
    const { pn532, transfers } = setup();
    await pn532.getFirmwareVersion();
    expect(transfers[0]).toEqual({ op: 'write', length: 9 });
    // status polls (1 byte) until ready, then status + ACK (7), then polls, then status + response.
    const reads = transfers.filter((t) => t.op === 'read').map((t) => t.length);
    expect(reads).toContain(7);
    expect(reads.filter((l) => l === 1).length).toBeGreaterThanOrEqual(2);
    expect(reads[reads.length - 1]).toBeGreaterThan(7);
  });

  test('InListPassiveTarget reads 4-, 7- and 10-byte UIDs with ATQA and SAK', async () => {
    const { emulator, pn532 } = setup();
    await pn532.initialise(2);
    for (const [uid, atqa, sak] of [
      ['DEADBEEF', [0x00, 0x04], 0x08],
      ['04A1B2C3D4E5F6', [0x00, 0x44], 0x00],
      ['0102030405060708090A', [0x00, 0x84], 0x00],
    ] as const) {
      emulator.place(uid);
      const target = await pn532.inListPassiveTargetA();
      expect(Buffer.from(target!.uid).toString('hex').toUpperCase()).toBe(uid);
      expect([...target!.atqa]).toEqual(atqa);
      expect(target!.sak).toBe(sak);
      expect(target!.tg).toBe(1);
    }
  });

  test('an ISO 14443-4 card (SAK bit 6) comes with its ATS', async () => {
    const { emulator, pn532 } = setup();
    await pn532.initialise(2);
    const ats = Uint8Array.from([0x75, 0x77, 0x81, 0x02, 0x80]); // a DESFire EV1's historical bytes
    emulator.place('04112233445566', { atqa: Uint8Array.from([0x03, 0x44]), sak: 0x20, ats });
    const target = await pn532.inListPassiveTargetA();
    expect(target).toMatchObject({ sak: 0x20, atqa: Uint8Array.from([0x03, 0x44]), ats, uid: Uint8Array.from(Buffer.from('04112233445566', 'hex')) });
  });

  test('InListPassiveTarget returns null when the field stays empty for all retries', async () => {
    const { pn532 } = setup();
    await pn532.initialise(3);
    expect(await pn532.inListPassiveTargetA()).toBeNull();
  });

  test('a card entering the field during a poll is found at the next activation attempt, not after the retries', async () => {
    // Slow attempts make the whole poll long (201 × 50 ms ≈ 10 s), so "found long before it ends" holds
    // however late a busy machine runs the timer that places the card.
    const POLL_MS = 201 * 50;
    const { emulator, pn532 } = setup({ emulator: new Pn532Emulator({ activationAttemptMs: 50 }), responseTimeoutMs: 2 * POLL_MS });
    await pn532.initialise(200);
    const started = Date.now();
    setTimeout(() => emulator.place('DEADBEEF'), 30);
    const target = await pn532.inListPassiveTargetA();
    expect(Buffer.from(target!.uid).toString('hex')).toBe('deadbeef');
    expect(Date.now() - started).toBeLessThan(POLL_MS / 2);
  });

  test('a phone answers with a random UID and its ATS', async () => {
    const { emulator, pn532 } = setup();
    await pn532.initialise(1);
    emulator.placePhone();
    const a = await pn532.inListPassiveTargetA();
    const b = await pn532.inListPassiveTargetA();
    expect(a!.uid[0]).toBe(0x08);
    expect(a!.uid).toHaveLength(4);
    expect(a!.sak & 0x20).toBe(0x20);
    expect([...a!.ats!]).toEqual([0x78, 0x80, 0x70, 0x02]);
    expect(Buffer.from(a!.uid).equals(Buffer.from(b!.uid))).toBe(false);
  });

  test('extended frames both ways: a 260-byte line test echoes intact', async () => {
    const { pn532, transfers } = setup();
    const payload = Uint8Array.from({ length: 260 }, (_, i) => (i * 7) & 0xff);
    const echo = await pn532.lineTest(payload);
    expect(Buffer.from(echo).equals(Buffer.from(payload))).toBe(true);
    // extended header (8) + TFI + Diagnose + NumTst + payload + DCS + postamble
    expect(transfers[0]!.length).toBe(8 + 3 + payload.length + 2);
  });

  test('IRQ line instead of status polling', async () => {
    const { emulator, pn532, transfers } = setup({ irq: true });
    await pn532.initialise(2);
    emulator.place('04A1B2C3D4E5F6');
    expect((await pn532.inListPassiveTargetA())!.uid).toHaveLength(7);
    expect(transfers.filter((t) => t.op === 'read' && t.length === 1)).toHaveLength(0);
  });

  test('a corrupted checksum is NACKed and the resent frame is used', async () => {
    const { emulator, pn532 } = setup();
    await pn532.initialise(2);
    emulator.place('DEADBEEF');
    emulator.faults.corruptChecksum = 1;
    expect(Buffer.from((await pn532.inListPassiveTargetA())!.uid).toString('hex')).toBe('deadbeef');
    expect(emulator.faults.corruptChecksum).toBe(0);
  });

  test('garbage instead of a response is NACKed too; persistent garbage is a bad-frame error', async () => {
    const { emulator, pn532 } = setup();
    emulator.faults.garbage = 1;
    expect((await pn532.getFirmwareVersion()).ic).toBe(0x32);
    emulator.faults.garbage = 10;
    await expectCode(pn532.getFirmwareVersion(), 'bad-frame');
  });

  test('a dropped ACK is a no-ack error; initialise retries GetFirmwareVersion past it', async () => {
    const { emulator, pn532 } = setup();
    emulator.faults.dropAck = 1;
    await expectCode(pn532.getFirmwareVersion(), 'no-ack');
    emulator.faults.dropAck = 2;
    expect((await pn532.initialise(2)).ic).toBe(0x32);
    expect(emulator.faults.dropAck).toBe(0);
  });

  test('a reader that never becomes ready times out, and the command is aborted with an ACK', async () => {
    const { emulator, pn532, transfers } = setup();
    emulator.faults.neverReady = true;
    await expectCode(pn532.getFirmwareVersion(), 'no-ack');
    const last = transfers[transfers.length - 1]!;
    expect(last).toEqual({ op: 'write', length: 6 });
    emulator.faults.neverReady = false;
    expect((await pn532.getFirmwareVersion()).ic).toBe(0x32);
  });

  test('infinite passive activation with no card: timeout, abort by ACK, and the next command works', async () => {
    const { emulator, pn532 } = setup();
    await pn532.getFirmwareVersion(); // power-up default: MxRtyPassiveActivation = 0xFF
    expect(emulator.maxPassiveActivationRetries).toBe(0xff);
    await expectCode(pn532.inListPassiveTargetA(), 'timeout');
    expect((await pn532.getFirmwareVersion()).ic).toBe(0x32);
  });

  test('slow responses within the timeout succeed; beyond it they time out', async () => {
    const { emulator, pn532 } = setup();
    emulator.faults.slowMs = 40;
    expect((await pn532.getFirmwareVersion()).ic).toBe(0x32);
    emulator.faults.slowMs = 3000;
    await expectCode(pn532.getFirmwareVersion(), 'timeout');
  });

  test('bus errors surface with their errno code', async () => {
    const { emulator, pn532 } = setup();
    emulator.faults.busError = { code: 'EREMOTEIO', count: 1 };
    expect((await expectCode(pn532.getFirmwareVersion(), 'bus')).busCode).toBe('EREMOTEIO');
    emulator.faults.busError = { code: 'ETIMEDOUT', count: 1 };
    expect((await expectCode(pn532.getFirmwareVersion(), 'bus')).busCode).toBe('ETIMEDOUT');
    expect((await pn532.getFirmwareVersion()).ic).toBe(0x32);
  });

  test('an unplugged reader fails with EREMOTEIO and comes back from reset when plugged in', async () => {
    const { emulator, pn532 } = setup();
    await pn532.initialise(2);
    emulator.unplug();
    expect((await expectCode(pn532.inListPassiveTargetA(), 'bus')).busCode).toBe('EREMOTEIO');
    emulator.plugIn();
    expect(emulator.sam).toBe(0);
    await pn532.initialise(2);
    expect(emulator.sam).toBe(1);
  });

  test('the syntax error frame is an error-frame error, and the next command works', async () => {
    const { emulator, pn532 } = setup();
    emulator.faults.syntaxError = 1;
    await expectCode(pn532.getFirmwareVersion(), 'error-frame');
    expect((await pn532.getFirmwareVersion()).ic).toBe(0x32);
  });

  test('the abort signal stops a long poll without waiting for its timeout', async () => {
    // The poll (retries for ever) would otherwise end only at the response timeout.
    const RESPONSE_TIMEOUT_MS = 20_000;
    const { pn532 } = setup({ responseTimeoutMs: RESPONSE_TIMEOUT_MS });
    await pn532.getFirmwareVersion();
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 20);
    await expectCode(pn532.inListPassiveTargetA(controller.signal), 'aborted');
    expect(Date.now() - started).toBeLessThan(RESPONSE_TIMEOUT_MS / 2);
  });
});
