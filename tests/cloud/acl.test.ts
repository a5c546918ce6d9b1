import mqtt, { type MqttClient } from 'mqtt';
import { startMosquitto, type Broker } from '../helpers/mosquitto';

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
