import { readFileSync } from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import { REPO_CONF, startMosquitto, type Broker } from '../helpers/mosquitto';

/** The repo's production ACL (scripts/mosquitto/acl) confines each gate login to its own subtree. */
const A = { username: 'site1/gateA', password: 'pw-gate-a' };
const B = { username: 'site1/gateB', password: 'pw-gate-b' };
const OPERATOR = { username: 'operator', password: 'pw-operator' };

let broker: Broker;
const clients: MqttClient[] = [];

async function connect(user: { username: string; password: string }): Promise<MqttClient> {
  const client = await mqtt.connectAsync(broker.url, { ...user, protocolVersion: 5, reconnectPeriod: 0, clientId: `t-${user.username.replace('/', '-')}-${clients.length}` });
  clients.push(client);
  return client;
}

function collect(client: MqttClient): string[] {
  const seen: string[] = [];
  client.on('message', (topic, payload) => seen.push(`${topic} ${payload.toString()}`));
  return seen;
}

const settle = () => new Promise((r) => setTimeout(r, 300));

beforeAll(async () => {
  broker = await startMosquitto([A, B, OPERATOR]);
});
afterAll(async () => {
  for (const c of clients) await c.endAsync(true);
  await broker.dispose();
});

test('gate A cannot publish into gate B subtree (PUBACK not authorized, nothing delivered)', async () => {
  const op = await connect(OPERATOR);
  const seen = collect(op);
  await op.subscribeAsync('postern/v1/site1/gateB/#', { qos: 1 });
  const a = await connect(A);
  for (const topic of ['postern/v1/site1/gateB/events', 'postern/v1/site1/gateB/cmd', 'postern/v1/site1/gateB/state']) {
    await expect(a.publishAsync(topic, 'forged', { qos: 1 })).rejects.toMatchObject({ code: 135 });
  }
  // and its own subtree works, so the denial above is the ACL, not a broken login
  await a.publishAsync('postern/v1/site1/gateA/events', 'mine', { qos: 1 });
  await op.subscribeAsync('postern/v1/site1/gateA/events', { qos: 1 });
  await a.publishAsync('postern/v1/site1/gateA/events', 'mine-2', { qos: 1 });
  await settle();
  expect(seen).toEqual(['postern/v1/site1/gateA/events mine-2']);
});

test('gate A cannot subscribe to gate B commands or results, nor write its own cmd', async () => {
  const a = await connect(A);
  const seen = collect(a);
  // mosquitto 2.0 grants the SUBSCRIBE and enforces `read` on each delivery, so what counts is what arrives.
  await a.subscribeAsync(['postern/v1/site1/gateB/cmd', 'postern/v1/site1/gateB/#', 'postern/v1/#'], { qos: 1 });
  // a gate forging its own commands is refused too: only operators write cmd
  await expect(a.publishAsync('postern/v1/site1/gateA/cmd', 'self', { qos: 1 })).rejects.toMatchObject({ code: 135 });
  const op = await connect(OPERATOR);
  await op.publishAsync('postern/v1/site1/gateB/cmd', 'for-b', { qos: 1 });
  await op.publishAsync('postern/v1/site1/gateB/credentials', 'for-b', { qos: 1 });
  await op.publishAsync('postern/v1/site1/gateB/cmd/res', 'for-b', { qos: 1 });
  await op.publishAsync('postern/v1/site1/gateA/cmd', 'for-a', { qos: 1 });
  await settle();
  // `postern/v1/#` matches A's own cmd too, so it arrives once per matching subscription — never B's.
  expect(seen.length).toBeGreaterThan(0);
  expect(new Set(seen)).toEqual(new Set(['postern/v1/site1/gateA/cmd for-a']));
});

test('a wrong password is refused', async () => {
  await expect(mqtt.connectAsync(broker.url, { username: A.username, password: 'nope', protocolVersion: 5, reconnectPeriod: 0 })).rejects.toThrow();
});

describe('client ids are bound to logins (use_username_as_clientid in the shipped mosquitto.conf)', () => {
  const B_TOPICS = { availability: 'postern/v1/site1/gateB/availability', cmd: 'postern/v1/site1/gateB/cmd', res: 'postern/v1/site1/gateB/cmd/res' };
  let bound: Broker;
  beforeAll(async () => {
    bound = await startMosquitto([A, B, OPERATOR], { clientIdFromLogin: true });
  });
  afterAll(async () => {
    await bound.dispose();
  });

  /** Gate B as the gate connects: its login as client id, the `offline` will, `online`, and an answer to each command. */
  async function gateB(on: Broker): Promise<{ client: MqttClient; closed: () => boolean }> {
    const client = await mqtt.connectAsync(on.url, {
      ...B,
      clientId: B.username,
      protocolVersion: 5,
      clean: true,
      reconnectPeriod: 0,
      will: { topic: B_TOPICS.availability, payload: Buffer.from('offline'), qos: 1, retain: true },
    });
    clients.push(client);
    let closed = false;
    client.on('close', () => (closed = true));
    await client.publishAsync(B_TOPICS.availability, 'online', { qos: 1, retain: true });
    await client.subscribeAsync(B_TOPICS.cmd, { qos: 1 });
    client.on('message', (topic, payload) => {
      if (topic === B_TOPICS.cmd) client.publish(B_TOPICS.res, `answer ${payload.toString()}`, { qos: 1 });
    });
    return { client, closed: () => closed };
  }

  /** Gate A's own login asking for B's client id: the current one, and the `postern-<site>-<gate>` the gate used before. */
  async function impersonateB(on: Broker): Promise<void> {
    for (const clientId of [B.username, 'postern-site1-gateB']) {
      const a = await mqtt.connectAsync(on.url, { ...A, clientId, protocolVersion: 5, reconnectPeriod: 0 }).catch(() => undefined);
      if (a) clients.push(a);
    }
    await settle();
  }

  async function operatorWatching(on: Broker): Promise<{ op: MqttClient; seen: string[] }> {
    const op = await mqtt.connectAsync(on.url, { ...OPERATOR, protocolVersion: 5, reconnectPeriod: 0 });
    clients.push(op);
    const seen = collect(op);
    await op.subscribeAsync([B_TOPICS.availability, B_TOPICS.res], { qos: 1 });
    return { op, seen };
  }

  test('the shipped config sets it on its listener (a listener option in mosquitto 2.0)', () => {
    const lines = readFileSync(REPO_CONF, 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    const listener = lines.findIndex((l) => l.startsWith('listener '));
    expect(listener).toBeGreaterThanOrEqual(0);
    expect(lines.slice(listener + 1)).toContain('use_username_as_clientid true');
  });

  test("gate A's login asking for gate B's client id cannot disconnect B: B stays online and answers every command", async () => {
    const b = await gateB(bound);
    const { op, seen } = await operatorWatching(bound);
    await impersonateB(bound);
    for (let i = 1; i <= 6; i++) await op.publishAsync(B_TOPICS.cmd, `c${i}`, { qos: 1 });
    const deadline = Date.now() + 10_000;
    while (seen.filter((s) => s.startsWith(B_TOPICS.res)).length < 6 && Date.now() < deadline) await settle();
    expect(b.closed()).toBe(false);
    expect(b.client.connected).toBe(true);
    expect(seen.filter((s) => s.startsWith(B_TOPICS.res))).toEqual([1, 2, 3, 4, 5, 6].map((i) => `${B_TOPICS.res} answer c${i}`));
    expect(seen.filter((s) => s.startsWith(B_TOPICS.availability))).toEqual([`${B_TOPICS.availability} online`]);
  });

  test('without the option the same attempt takes B offline (what the test above guards against)', async () => {
    const b = await gateB(broker);
    const { seen } = await operatorWatching(broker);
    await impersonateB(broker);
    const deadline = Date.now() + 10_000;
    while (!seen.includes(`${B_TOPICS.availability} offline`) && Date.now() < deadline) await settle();
    expect(b.closed()).toBe(true);
    expect(seen).toContain(`${B_TOPICS.availability} offline`);
  });

  test('two clients sharing one login take the session from each other: each long-running tool needs its own login', async () => {
    const first = await mqtt.connectAsync(bound.url, { ...OPERATOR, clientId: 'tool-1', protocolVersion: 5, reconnectPeriod: 0 });
    clients.push(first);
    const firstClosed = new Promise<void>((r) => first.once('close', () => r()));
    const second = await mqtt.connectAsync(bound.url, { ...OPERATOR, clientId: 'tool-2', protocolVersion: 5, reconnectPeriod: 0 });
    clients.push(second);
    await firstClosed;
    expect(second.connected).toBe(true);
  });
});
