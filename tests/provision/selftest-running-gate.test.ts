import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../firmware/config/load';
import { runChecks } from '../../firmware/selftest/check';
import { selftestChecks } from '../../firmware/selftest/suite';
import { startDaemon, type StartedDaemon } from '../helpers/daemon';
import { startMosquitto, type Broker } from '../helpers/mosquitto';

const PASSWORD = 'gate-password-that-is-long';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function brokerRows(gate: StartedDaemon) {
  const checks = (await selftestChecks(loadConfig(gate.configPath))).filter((c) => c.name === 'broker');
  return runChecks(checks);
}

async function waitForLink(gate: StartedDaemon, status: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while ((await gate.state()).methods.cloud !== status) {
    if (Date.now() > deadline) throw new Error(`the gate's cloud link never became ${status}`);
    await sleep(100);
  }
}

describe('postern selftest beside a running gate', () => {
  const secrets = mkdtempSync(join(tmpdir(), 'postern-selftest-gate-'));
  const passwordFile = join(secrets, 'gate.pass');
  writeFileSync(passwordFile, `${PASSWORD}\n`);
  let broker: Broker;
  beforeAll(async () => {
    // As shipped: the broker makes the login the client id, so a second session under the gate's login would take the gate's over.
    broker = await startMosquitto([{ username: 'acme/north', password: PASSWORD }], { clientIdFromLogin: true });
  });
  afterAll(async () => {
    await broker.dispose();
    rmSync(secrets, { recursive: true, force: true });
  });

  test('asks the gate how its link is and never takes its broker session over', async () => {
    const gate = await startDaemon({ config: { gate: { site: 'acme', id: 'north' }, cloud: { url: broker.url, passwordFile, reconnectSeconds: 0.2 } } });
    try {
      await waitForLink(gate, 'ok');
      const before = (await gate.events()).at(-1)?.seq ?? 0;
      const rows = await brokerRows(gate);
      expect(rows).toEqual([
        expect.objectContaining({ name: 'broker', ok: true, detail: expect.stringContaining(`the running gate is connected to ${broker.url}`) }),
        expect.objectContaining({ name: 'broker acl', ok: true, skipped: true, detail: expect.stringContaining('the gate is running') }),
      ]);
      // A session taken over would show as the link dropping: give it time to show.
      await sleep(1500);
      const after = (await gate.events(before)).filter((e) => e.type === 'method.health' && (e.data as { method?: string }).method === 'cloud');
      expect(after).toEqual([]);
      expect((await gate.state()).methods.cloud).toBe('ok');
    } finally {
      await gate.stop();
    }
  });

  test('a running gate whose link is down fails the broker row with what the gate reports', async () => {
    const gate = await startDaemon({ config: { gate: { site: 'acme', id: 'north' }, cloud: { url: 'mqtt://127.0.0.1:1', passwordFile, reconnectSeconds: 0.2 } } });
    try {
      await waitForLink(gate, 'degraded');
      const [row] = await brokerRows(gate);
      expect(row).toMatchObject({ name: 'broker', ok: false, detail: expect.stringContaining("the running gate's link to mqtt://127.0.0.1:1 is degraded") });
    } finally {
      await gate.stop();
    }
  });
});
