import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { SimGpioBackend } from '../../drivers/gpio/sim-backend';
import type { OutputSpec } from '../../drivers/gpio/types';
import { Pn532Emulator } from '../../drivers/nfc/pn532-emulator';
import { parseConfig } from '../../firmware/config/load';
import { checkBroker } from '../../firmware/selftest/broker';
import { formatTable, runChecks } from '../../firmware/selftest/check';
import { checkClock } from '../../firmware/selftest/clock';
import { checkGpio } from '../../firmware/selftest/gpio';
import { checkModels } from '../../firmware/selftest/models';
import { checkPn532 } from '../../firmware/selftest/nfc';
import { initTfBackend } from '../../firmware/vision/tf-backend';
import { loadVerifiedGraphModel, loadVerifiedModel, manifestEntry, resolveSourceDir } from '../../models/loader';
import { startMosquitto, type Broker } from '../helpers/mosquitto';
import { REPO } from './helpers/staging';

const gpioConfig = () => parseConfig({}).gpio;

describe('clock check', () => {
  it('passes a plausible, NTP-synchronised clock', () => {
    expect(checkClock(new Date('2026-03-01T10:00:00Z'), 'yes\n').map((r) => r.ok)).toEqual([true, true]);
  });
  it('fails a clock from before 2025 and an unsynchronised one, with what to do', () => {
    const [clock, sync] = checkClock(new Date('1970-01-01T00:00:10Z'), 'no\n');
    expect(clock).toMatchObject({ ok: false, fix: expect.stringContaining('NTP') });
    expect(sync).toMatchObject({ ok: false, fix: expect.stringContaining('timedatectl') });
  });
  it('says so when timedatectl is not there', () => {
    expect(checkClock(new Date('2026-03-01T10:00:00Z'), null)[1]).toMatchObject({ ok: true, skipped: true });
  });
});

describe('PN532 check through the card driver', () => {
  it('reads the firmware version from a PN532 speaking the real protocol', async () => {
    const result = await checkPn532(new Pn532Emulator(), 0x24, 1);
    expect(result).toMatchObject({ ok: true, detail: 'PN532 firmware 1.6 on /dev/i2c-1 at 0x24' });
  });
  it('fails with a wiring hint when the bus NACKs', async () => {
    const emulator = new Pn532Emulator();
    emulator.faults.busError = { code: 'EREMOTEIO', count: 100 };
    const result = await checkPn532(emulator, 0x24, 1);
    expect(result.ok).toBe(false);
    expect(result.fix).toContain('i2cdetect -y 1');
  });
});

describe('GPIO check', () => {
  it('opens every line, the relay at its locked level, and reads the inputs', async () => {
    const sim = new SimGpioBackend();
    const results = await checkGpio(sim, gpioConfig(), true);
    expect(results.map((r) => [r.name, r.ok])).toEqual([
      ['gpio relay', true], ['gpio ledGreen', true], ['gpio ledRed', true], ['gpio buzzer', true],
      ['gpio contact', true], ['gpio exit', true], ['gpio tamper', true],
    ]);
    expect(results[0]!.detail).toBe('BCM17: output, locked');
    expect(sim.lines().find((l) => l.name === 'relay')).toMatchObject({ active: true });
  });
  it('fails a stuck exit button and an open case', async () => {
    const sim = new SimGpioBackend();
    const pending = checkGpio(sim, gpioConfig(), false);
    sim.setInput('exit', true);
    sim.setInput('tamper', true);
    const results = await pending;
    expect(results.filter((r) => !r.ok).map((r) => r.name)).toEqual(['gpio exit', 'gpio tamper']);
  });
  it('reports a line that cannot be opened and still checks the others', async () => {
    class BrokenBuzzer extends SimGpioBackend {
      override output(name: string, spec: OutputSpec) {
        if (name === 'buzzer') throw new Error('EBUSY: line in use');
        return super.output(name, spec);
      }
    }
    const results = await checkGpio(new BrokenBuzzer(), gpioConfig(), false);
    expect(results.find((r) => r.name === 'gpio buzzer')).toMatchObject({ ok: false, detail: 'BCM24: EBUSY: line in use' });
    expect(results.filter((r) => r.ok)).toHaveLength(6);
  });
});

describe('model check', () => {
  it('loads a pinned model and refuses one whose bytes changed', async () => {
    await initTfBackend();
    const entry = manifestEntry('blazeface-back');
    const good = await checkModels([entry], (e) => loadVerifiedGraphModel(e));
    expect(good[0]).toMatchObject({ name: 'model blazeface-back', ok: true });
    const onnx = await checkModels([manifestEntry('fr-liveness')], loadVerifiedModel);
    expect(onnx[0]).toMatchObject({ name: 'model fr-liveness', ok: true });

    const copy = mkdtempSync(join(tmpdir(), 'postern-models-'));
    cpSync(join(resolveSourceDir(entry.source), dirname(entry.file)), join(copy, dirname(entry.file)), { recursive: true });
    writeFileSync(join(copy, entry.weights[0]!.file), Buffer.from('tampered'), { flag: 'r+' });
    const bad = await checkModels([entry], (e) => loadVerifiedGraphModel(e, copy));
    expect(bad[0]).toMatchObject({ ok: false, detail: expect.stringContaining('sha256') });
    rmSync(copy, { recursive: true, force: true });
  });
});

describe('broker check against a real mosquitto with the production ACL', () => {
  const secrets = mkdtempSync(join(tmpdir(), 'postern-broker-'));
  const passwordFile = join(secrets, 'password');
  writeFileSync(passwordFile, 'gate-password-that-is-long\n');
  const wrongFile = join(secrets, 'wrong');
  writeFileSync(wrongFile, 'not-the-password-at-all\n');
  const users = [{ username: 'acme/north', password: 'gate-password-that-is-long' }];
  let broker: Broker;
  let openBroker: Broker;
  beforeAll(async () => {
    broker = await startMosquitto(users);
    openBroker = await startMosquitto(users, { acl: 'user acme/north\ntopic readwrite #\n' });
  });
  afterAll(async () => {
    await broker.dispose();
    await openBroker.dispose();
    rmSync(secrets, { recursive: true, force: true });
  });
  const cloud = (url: string, file = passwordFile) => parseConfig({ cloud: { url, passwordFile: file } }).cloud;

  it('connects as the gate and proves the ACL confines it', async () => {
    const results = await checkBroker({ cloud: cloud(broker.url), site: 'acme', gate: 'north' });
    expect(results.map((r) => [r.name, r.ok])).toEqual([['broker', true], ['broker acl', true]]);
  });
  it('fails an ACL that lets the gate read other gates', async () => {
    const results = await checkBroker({ cloud: cloud(openBroker.url), site: 'acme', gate: 'north' });
    expect(results.find((r) => r.name === 'broker acl')).toMatchObject({ ok: false, fix: expect.stringContaining('scripts/mosquitto/acl') });
  });
  it('fails a wrong password with how to create the login', async () => {
    const [result] = await checkBroker({ cloud: cloud(broker.url, wrongFile), site: 'acme', gate: 'north' });
    expect(result).toMatchObject({ ok: false, fix: expect.stringContaining('add-gate.sh acme north') });
  });
  it('skips when the gate has no broker', async () => {
    expect(await checkBroker({ cloud: cloud(''), site: 'acme', gate: 'north' })).toEqual([expect.objectContaining({ ok: true, skipped: true })]);
  });
});

describe('runner and table', () => {
  it('turns a throw or a hang into a failed row and keeps going', async () => {
    const results = await runChecks([
      { name: 'throws', timeoutMs: 1000, run: () => { throw new Error('boom'); } },
      { name: 'hangs', timeoutMs: 50, run: () => new Promise(() => undefined) },
      { name: 'fine', timeoutMs: 1000, run: () => [{ name: 'fine', ok: true, detail: 'yes', fix: '' }] },
    ]);
    expect(results.map((r) => [r.name, r.ok, r.detail])).toEqual([
      ['throws', false, 'boom'],
      ['hangs', false, 'no answer within 50 ms'],
      ['fine', true, 'yes'],
    ]);
    const table = formatTable(results);
    expect(table).toContain('hangs   FAIL    no answer within 50 ms');
    expect(table.split('\n').at(-1)).toBe('2 checks failed');
  });
});

describe('postern selftest (the built CLI module)', () => {
  it('prints the table and exits 1 when a check fails', () => {
    const dir = mkdtempSync(join(tmpdir(), 'postern-selftest-'));
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ hardware: 'sim', dataDir: 'data', cloud: { url: 'mqtt://127.0.0.1:1', passwordFile: 'pw' } }));
    writeFileSync(join(dir, 'pw'), 'whatever-password-here\n');
    const script = `require(${JSON.stringify(join(REPO, 'dist/scripts/cli/selftest.js'))}).run(process.argv.slice(1), { out: console.log, err: console.error, env: process.env }).then((c) => process.exit(c))`;
    const r = spawnSync(process.execPath, ['-e', script, '--', '--config', config], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stdout).toMatch(/^config +ok /m);
    expect(r.stdout).toMatch(/^broker +FAIL +cannot connect to mqtt:\/\/127\.0\.0\.1:1/m);
    expect(r.stdout).toMatch(/^nfc reader +skip /m);
    expect(r.status).toBe(1);

    writeFileSync(config, JSON.stringify({ hardware: 'sim', door: { pulseMs: 'long' } }));
    const bad = spawnSync(process.execPath, ['-e', script, '--', '--config', config], { encoding: 'utf8', timeout: 60_000 });
    expect(bad.stdout).toMatch(/^config +FAIL +\/.*config\.json: door\.pulseMs = "long": /m);
    expect(bad.status).toBe(1);
    rmSync(dir, { recursive: true, force: true });
  });
});
