import { readFileSync } from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import { PATIENCE_MS } from './patience';

export interface CapturedMessage {
  topic: string;
  payload: Buffer;
  retain: boolean;
  /** Set when the broker redelivers a message it may have delivered before (its QoS 1 retry). */
  dup: boolean;
  correlationData?: Buffer;
}

/** An operator-side client that records every message on the given filters, byte for byte. */
export async function captureClient(url: string, user: { username: string; password: string }, filters: string[], options: { clientId?: string; persistent?: boolean; ca?: string } = {}) {
  const client: MqttClient = await mqtt.connectAsync(url, {
    ...user,
    protocolVersion: 5,
    clientId: options.clientId ?? `capture-${Math.random().toString(16).slice(2)}`,
    clean: !options.persistent,
    reconnectPeriod: 200,
    ...(options.persistent ? { properties: { sessionExpiryInterval: 600 } } : {}),
    ...(options.ca ? { ca: readFileSync(options.ca) } : {}),
  });
  const messages: CapturedMessage[] = [];
  client.on('message', (topic, payload, packet) => {
    const correlationData = packet.properties?.correlationData;
    messages.push({ topic, payload: Buffer.from(payload), retain: packet.retain, dup: packet.dup, ...(correlationData ? { correlationData } : {}) });
  });
  if (filters.length > 0) await client.subscribeAsync(filters, { qos: 1, rap: true });
  return {
    client,
    messages,
    async waitFor(predicate: (m: CapturedMessage) => boolean, timeoutMs = PATIENCE_MS): Promise<CapturedMessage> {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const found = messages.find(predicate);
        if (found) return found;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error(`no matching message within ${timeoutMs} ms; topics seen: ${[...new Set(messages.map((m) => m.topic))].join(', ')}`);
    },
    close: () => client.endAsync(true),
  };
}
