import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

/** How `postern remote` reaches the broker: the options every broker verb takes, and the connection. */
export const BROKER_OPTIONS = {
  broker: { type: 'string' },
  username: { type: 'string' },
  'password-file': { type: 'string' },
  ca: { type: 'string' },
} as const;

export const BROKER_HELP = '--broker URL [--username U] [--password-file F] [--ca FILE]';

export async function connectBroker(values: { broker?: string | undefined; username?: string | undefined; 'password-file'?: string | undefined; ca?: string | undefined }): Promise<MqttClient> {
  if (!values.broker) throw new Error('--broker URL is required');
  const options: IClientOptions = { protocolVersion: 5, reconnectPeriod: 0, clientId: `postern-remote-${randomBytes(4).toString('hex')}` };
  if (values.username) options.username = values.username;
  if (values['password-file']) options.password = readFileSync(values['password-file'], 'utf8').split('\n')[0]!.trim();
  if (values.ca) options.ca = readFileSync(values.ca);
  const client = await mqtt.connectAsync(values.broker, options);
  (client.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
  return client;
}

/**
 * The gates of a site that the broker knows: every gate leaves a retained `availability` message, which
 * the broker hands to a new subscriber at once. Collected for `waitMs`.
 */
export async function discoverGates(client: MqttClient, site: string, waitMs: number): Promise<string[]> {
  const filter = `postern/v1/${site}/+/availability`;
  const found = new Set<string>();
  const onMessage = (topic: string) => {
    const [, , s, gate, leaf] = topic.split('/');
    if (s === site && gate && leaf === 'availability') found.add(gate);
  };
  client.on('message', onMessage);
  try {
    await client.subscribeAsync(filter, { qos: 1 });
    await new Promise((r) => setTimeout(r, waitMs));
    await client.unsubscribeAsync(filter);
  } finally {
    client.off('message', onMessage);
  }
  return [...found].sort();
}
