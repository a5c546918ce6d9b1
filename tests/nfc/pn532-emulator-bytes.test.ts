import { Pn532Emulator } from '../../drivers/nfc/pn532-emulator';

/** The emulator seen from the bus, byte for byte, with frames as UM0701-02 spells them. */
const ADDR = 0x24;
const hex = (s: string) => Buffer.from(s.replace(/ /g, ''), 'hex');

async function write(emu: Pn532Emulator, bytes: Buffer): Promise<void> {
  await emu.i2cWrite(ADDR, bytes.length, bytes);
}

async function read(emu: Pn532Emulator, length: number): Promise<string> {
  const buf = Buffer.alloc(length);
  await emu.i2cRead(ADDR, length, buf);
  return buf.toString('hex').toUpperCase();
}

async function readWhenReady(emu: Pn532Emulator, length: number): Promise<string> {
  for (let i = 0; i < 200; i++) {
    if ((await read(emu, 1)) === '01') return read(emu, length);
    await new Promise((r) => setTimeout(r, 1));
  }
  throw new Error('emulator never became ready');
}

describe('PN532 emulator on the wire', () => {
  test('GetFirmwareVersion: ACK then D5 03 32 01 06 07 with correct LCS/DCS', async () => {
    const emu = new Pn532Emulator();
    expect(await read(emu, 1)).toBe('00');
    await write(emu, hex('0000FF02FED4022A00'));
    expect(await readWhenReady(emu, 7)).toBe('010000FF00FF00');
    expect(await readWhenReady(emu, 14)).toBe('010000FF06FAD50332010607E800');
    expect(await read(emu, 1)).toBe('00');
  });

  test('a one-byte status read does not consume the frame; a partial read leaves it too', async () => {
    const emu = new Pn532Emulator();
    await write(emu, hex('0000FF02FED4022A00'));
    await readWhenReady(emu, 7);
    await readWhenReady(emu, 4);
    expect(await read(emu, 6)).toBe('010000FF06FA');
    expect(await read(emu, 14)).toBe('010000FF06FAD50332010607E800');
  });

  test('NACK makes it send the last response again', async () => {
    const emu = new Pn532Emulator();
    await write(emu, hex('0000FF02FED4022A00'));
    await readWhenReady(emu, 7);
    const first = await readWhenReady(emu, 14);
    await write(emu, hex('0000FFFF0000'));
    expect(await readWhenReady(emu, 14)).toBe(first);
  });

  test('an unknown command is acknowledged and answered with the syntax error frame', async () => {
    const emu = new Pn532Emulator();
    await write(emu, hex('0000FF02FED47EAE00'));
    expect(await readWhenReady(emu, 7)).toBe('010000FF00FF00');
    expect(await readWhenReady(emu, 9)).toBe('010000FF01FF7F8100');
  });

  test('a frame with a bad checksum is dropped without an ACK', async () => {
    const emu = new Pn532Emulator();
    await write(emu, hex('0000FF02FED4022B00'));
    await new Promise((r) => setTimeout(r, 10));
    expect(await read(emu, 1)).toBe('00');
  });

  test('an ACK from the host aborts a running InListPassiveTarget', async () => {
    const emu = new Pn532Emulator();
    await write(emu, hex('0000FF04FCD44A0100E100'));
    expect(await readWhenReady(emu, 7)).toBe('010000FF00FF00');
    await write(emu, hex('0000FF00FF00'));
    emu.place('DEADBEEF');
    await new Promise((r) => setTimeout(r, 20));
    expect(await read(emu, 1)).toBe('00');
  });

  test('InListPassiveTarget with a card in the field: NbTg, Tg, ATQA, SAK, NFCID1', async () => {
    const emu = new Pn532Emulator();
    emu.place('DEADBEEF');
    await write(emu, hex('0000FF04FCD44A0100E100'));
    await readWhenReady(emu, 7);
    // D5 4B 01 01 0004 08 04 DEADBEEF
    expect(await readWhenReady(emu, 20)).toBe('010000FF0CF4D54B010100040804DEADBEEF9600');
  });

  test('the I2C transfer time at 100 kHz is modelled: 90 µs per byte on the bus', async () => {
    // The time the emulator asks to wait is the model; how late a busy machine wakes it is not.
    const timers = require('node:timers/promises') as typeof import('node:timers/promises');
    const waits = jest.spyOn(timers, 'setTimeout');
    try {
      const emu = new Pn532Emulator();
      const buf = Buffer.alloc(263);
      const started = performance.now();
      for (let i = 0; i < 6; i++) await emu.i2cRead(ADDR, 263, buf); // (263 + address) × 90 µs = 23.76 ms each
      const asked = waits.mock.calls.map(([ms]) => Number(ms));
      expect(asked).toHaveLength(6);
      // Whole milliseconds, the fraction carried to the next transfer (or dropped when a wait overran).
      for (const ms of asked) expect([23, 24]).toContain(ms);
      expect(performance.now() - started).toBeGreaterThanOrEqual(asked.reduce((a, b) => a + b, 0) - 1);
    } finally {
      waits.mockRestore();
    }
  });

  test('bus faults carry the errno code as i2c-bus reports it; a wrong address is EREMOTEIO', async () => {
    const emu = new Pn532Emulator();
    emu.faults.busError = { code: 'ETIMEDOUT', count: 1 };
    await expect(emu.i2cRead(ADDR, 1, Buffer.alloc(1))).rejects.toMatchObject({ code: 'ETIMEDOUT', errno: -110, syscall: 'read' });
    await expect(emu.i2cWrite(0x25, 1, Buffer.alloc(1))).rejects.toMatchObject({ code: 'EREMOTEIO', errno: -121, syscall: 'write' });
    expect(await read(emu, 1)).toBe('00');
  });

  test('tap validates the UID and takes the card away after holdMs', async () => {
    const emu = new Pn532Emulator();
    expect(() => emu.place('04A1B2')).toThrow(/4, 7 or 10 bytes/);
    const gone = emu.tap('04A1B2C3D4E5F6', 10);
    expect(emu.placedAt).not.toBeNull();
    await gone;
    expect(emu.placedAt).toBeNull();
    const first = emu.tap('DEADBEEF', 10_000);
    emu.place('CAFEF00D'); // another card ends the first tap
    await first;
    expect(emu.placedAt).not.toBeNull();
  });
});
