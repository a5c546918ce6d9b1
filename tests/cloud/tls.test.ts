import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nacl from 'tweetnacl';
import { parseCloudConfig } from '../../firmware/cloud/config';
import { startCloud } from '../../firmware/cloud/start';
import { gateTopics } from '../../firmware/cloud/topics';
import type { DoorMode, DoorPort, DoorSnapshot } from '../../firmware/door/port';
import { EventBus } from '../../firmware/events/bus';
import { MethodHealth } from '../../firmware/health';
import { createLogger } from '../../firmware/log';
import { sendCommand, signCommand } from '../../scripts/cli/remote';
import { makeTestCertificates, startMosquitto, type Broker } from '../helpers/mosquitto';
import { captureClient } from '../helpers/mqtt-capture';
import { PATIENCE_MS } from '../helpers/patience';

// A broker with TLS and a link connecting to it on a busy machine: every wait ends as soon as it can.
jest.setTimeout(180_000);

/** The production transport: mqtts:// with the broker's CA from cloud.caFile, paths relative to the config file. */
class RecordingDoor implements DoorPort {
  readonly grants: string[] = [];
  grant(source: string): boolean {
    this.grants.push(source);
    return true;
  }
  setMode(_mode: DoorMode, _source: string): void {}
  snapshot(): DoorSnapshot {
    return { relay: 'locked', contact: 'closed', mode: 'normal', alarms: [] };
  }
}

let dir: string;
let broker: Broker;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'postern-cloud-tls-'));
  broker = await startMosquitto(
    [
      { username: 'site1/gate-a', password: 'tls-gate-pass' },
      { username: 'operator', password: 'tls-op-pass' },
    ],
    { tls: makeTestCertificates(dir) },
  );
});
afterAll(async () => {
  await broker.dispose();
  rmSync(dir, { recursive: true, force: true });
});

test('the gate connects over TLS with the configured CA and takes signed commands', async () => {
  const operator = nacl.sign.keyPair();
  writeFileSync(join(dir, 'gate.pass'), 'tls-gate-pass\n', { mode: 0o600 });
  const door = new RecordingDoor();
  const health = new MethodHealth();
  const link = startCloud({
    config: parseCloudConfig({ url: broker.url, passwordFile: 'gate.pass', caFile: 'ca.crt', operatorKeys: [Buffer.from(operator.publicKey).toString('base64')] }),
    configSource: join(dir, 'config.json'),
    site: 'site1',
    gate: 'gate-a',
    dataDir: dir,
    bus: new EventBus(),
    health,
    logger: createLogger('silent'),
    gateSigningKey: nacl.sign.keyPair().secretKey,
    targets: { door, status: () => ({ door: door.snapshot() }) },
  })!;
  const op = await captureClient(broker.url, { username: 'operator', password: 'tls-op-pass' }, [gateTopics({ site: 'site1', gate: 'gate-a' }).availability], { ca: join(dir, 'ca.crt') });
  try {
    await op.waitFor((m) => m.payload.toString() === 'online');
    expect(health.get('cloud')).toBe('ok');
    const answer = await sendCommand(op.client, { site: 'site1', gate: 'gate-a' }, signCommand(operator.secretKey, { site: 'site1', gate: 'gate-a' }, 'open', {}), PATIENCE_MS);
    expect(answer.body).toMatchObject({ ok: true, cmd: 'open' });
    expect(door.grants).toEqual(['remote']);
  } finally {
    await link.stop();
    await op.close();
  }
});

test('without the CA the gate does not connect and reports the cloud as degraded', async () => {
  const health = new MethodHealth();
  const changes: string[] = [];
  health.onChange((name, status, reason) => changes.push(`${name}:${status}:${reason}`));
  const bus = new EventBus();
  const link = startCloud({
    config: parseCloudConfig({ url: broker.url, passwordFile: 'gate.pass', reconnectSeconds: 0.2 }),
    configSource: join(dir, 'config.json'),
    site: 'site1',
    gate: 'gate-a',
    dataDir: join(dir, 'no-ca'),
    bus,
    health,
    logger: createLogger('silent'),
    gateSigningKey: nacl.sign.keyPair().secretKey,
    targets: { door: new RecordingDoor(), status: () => ({}) },
  })!;
  for (const deadline = Date.now() + PATIENCE_MS; !changes.includes('cloud:degraded:broker unreachable') && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 20));
  expect(changes).toContain('cloud:degraded:broker unreachable');
  expect(changes).not.toContain('cloud:ok:');
  bus.emit({ type: 'test.queued', reason: 'offline' });
  expect(link.pendingEvents).toBeGreaterThan(0);
  await link.stop();
});
