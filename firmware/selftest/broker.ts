import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { CloudConfig } from '../cloud/config';
import { gateTopics } from '../cloud/topics';
import { fail, pass, skip, type CheckResult } from './check';

export interface BrokerCheckOptions {
  /** cloud section with passwordFile and caFile already resolved to absolute paths. */
  cloud: CloudConfig;
  site: string;
  gate: string;
  timeoutMs?: number;
}

/** What the running daemon's admin API says of its cloud link (GET /api/admin/cloud). */
export function askRunningGate(socketPath: string, timeoutMs = 3000): Promise<{ link: string; outboxDepth: number }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path: '/api/admin/cloud', method: 'GET', timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as { link: string; outboxDepth: number });
        } catch (err) {
          reject(err as Error);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * While the gate runs, its own link is the proof: the shipped broker makes the login the client id
 * (use_username_as_clientid), so a second session under the gate's login would take the running gate's
 * over and publish its `offline` will. The running daemon is asked instead, and the ACL probe waits for
 * a stopped gate.
 */
export async function checkBrokerThroughRunningGate(cloud: CloudConfig, socketPath: string): Promise<CheckResult[]> {
  if (!cloud.url) return [skip('broker', 'no broker configured (cloud.url is empty): the gate runs offline')];
  const aclSkip = skip('broker acl', 'the gate is running and holds its broker session; stop it (systemctl stop postern) to probe the ACL with its login');
  let answer: { link: string; outboxDepth: number };
  try {
    answer = await askRunningGate(socketPath);
  } catch (err) {
    return [fail('broker', `the running gate did not say how its link is: ${(err as Error).message}`, 'see journalctl -u postern'), aclSkip];
  }
  const waiting = `${answer.outboxDepth} event(s) waiting to be sent`;
  return [
    answer.link === 'ok'
      ? pass('broker', `the running gate is connected to ${cloud.url} (${waiting})`)
      : fail('broker', `the running gate's link to ${cloud.url} is ${answer.link} (${waiting})`, 'see the gate\'s method.health events (postern events) and journalctl -u postern for the broker\'s answer'),
    aclSkip,
  ];
}

/** MQTT 5 PUBACK reason 0x87: the broker's ACL refused the publish. */
const NOT_AUTHORIZED = 0x87;

/** The broker's answer to a QoS 1 publish: 0 accepted, or the PUBACK reason code it refused with. */
function publishCode(client: MqttClient, topic: string, payload: string): Promise<number> {
  return new Promise((resolve) => {
    client.publish(topic, payload, { qos: 1, retain: false }, (err) => {
      const code = (err as (Error & { code?: number }) | undefined)?.code;
      resolve(err ? (typeof code === 'number' ? code : -1) : 0);
    });
  });
}

/**
 * Logs in as the gate does (its own user, password file and CA) under a client id of its own, so the
 * running gate's session is not taken over, then proves the ACL confines it: a publish outside its own
 * subtree must be refused. Nothing is published on a protocol topic: a stray message there would be
 * taken as real by the cloud or by Home Assistant. (Subscriptions cannot prove anything: mosquitto
 * grants every SUBACK and filters on delivery.)
 */
export async function checkBroker(o: BrokerCheckOptions): Promise<CheckResult[]> {
  const { cloud } = o;
  if (!cloud.url) return [skip('broker', 'no broker configured (cloud.url is empty): the gate runs offline')];
  const username = cloud.username || `${o.site}/${o.gate}`;
  const options: IClientOptions = {
    protocolVersion: 5,
    clientId: `${cloud.clientId || `postern-${o.site}-${o.gate}`}-selftest`,
    username,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: o.timeoutMs ?? 8000,
  };
  try {
    if (cloud.passwordFile) options.password = readFileSync(cloud.passwordFile, 'utf8').split('\n')[0]!.trim();
    if (cloud.caFile) options.ca = readFileSync(cloud.caFile);
  } catch (err) {
    return [fail('broker', `cannot read ${(err as NodeJS.ErrnoException).path ?? 'a credential file'}: ${(err as NodeJS.ErrnoException).code}`, 'run the self-test as the postern user; the provisioning script sets the files\' owners')];
  }
  const client = mqtt.connect(cloud.url, options);
  try {
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
      client.once('close', () => reject(new Error('connection closed')));
    });
  } catch (err) {
    client.end(true);
    const message = (err as Error).message;
    const fix = /Not authorized|Bad User Name or Password|authori/i.test(message)
      ? `the broker refused ${username}: create the login with scripts/mosquitto/add-gate.sh ${o.site} ${o.gate} and put the password in ${cloud.passwordFile || 'cloud.passwordFile'}`
      : /certificate|self.signed|CERT/i.test(message)
        ? 'the broker\'s certificate is not trusted: pass its CA with --ca-file to the provisioning script'
        : `check that ${cloud.url} is reachable from the gate (DNS, firewall, port)`;
    return [fail('broker', `cannot connect to ${cloud.url} as ${username}: ${message}`, fix)];
  }
  const results = [pass('broker', `connected to ${cloud.url} as ${username}`)];
  try {
    // Another gate's subtree, on a topic no part of the protocol uses: if the ACL wrongly lets it through,
    // nothing reads it.
    const probe = `${gateTopics({ site: o.site, gate: `${o.gate}-acl-probe` }).root}/selftest`;
    const code = await publishCode(client, probe, `ACL probe from the self-test of ${o.site}/${o.gate}; ignore`);
    results.push(
      code === NOT_AUTHORIZED
        ? pass('broker acl', `confined: the broker refused a publish to ${probe}`)
        : code === 0
          ? fail('broker acl', `the broker let this gate publish to another gate's ${probe}`, "the broker ACL is too open: install scripts/mosquitto/acl, which confines each gate (login <site>/<gate>) to its own subtree")
          : fail('broker acl', `unexpected answer ${code} to a QoS 1 publish`, 'use mosquitto 2.x (MQTT 5 reason codes) as in scripts/mosquitto/'),
    );
  } finally {
    await client.endAsync(true);
  }
  return results;
}
