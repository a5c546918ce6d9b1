import type { GateIdentity, GateTopics } from './topics';

export interface DiscoveryMessage {
  topic: string;
  payload: string;
}

/**
 * Home Assistant MQTT discovery for the door: a lock plus contact and alarm binary sensors, all fed by
 * the retained `state`. The lock's command topic is *not* in the gate's subtree and the gate never
 * reads it: an operator bridge holding an operator key, certified for `door-open` only, turns it into
 * signed commands (PROTOCOL.md §8).
 */
export function discoveryMessages(id: GateIdentity, topics: GateTopics, prefix: string, commandTopicRoot: string): DiscoveryMessage[] {
  const device = { identifiers: [`postern_${id.site}_${id.gate}`], name: `Postern ${id.site}/${id.gate}`, manufacturer: 'Postern', model: 'gate controller' };
  const availability = { availability_topic: topics.availability, payload_available: 'online', payload_not_available: 'offline' };
  const entities: Array<[string, Record<string, unknown>]> = [
    [
      `${prefix}/lock/${id.site}/${id.gate}/config`,
      {
        name: 'Gate',
        unique_id: `postern_${id.site}_${id.gate}_lock`,
        state_topic: topics.state,
        value_template: "{{ 'UNLOCKED' if value_json.door.relay == 'unlocked' else 'LOCKED' }}",
        command_topic: haCommandTopic(commandTopicRoot, id),
        payload_lock: 'LOCK',
        payload_unlock: 'UNLOCK',
        payload_open: 'OPEN',
        state_locked: 'LOCKED',
        state_unlocked: 'UNLOCKED',
        optimistic: false,
      },
    ],
    [
      `${prefix}/binary_sensor/${id.site}/${id.gate}_contact/config`,
      {
        name: 'Gate contact',
        unique_id: `postern_${id.site}_${id.gate}_contact`,
        device_class: 'door',
        state_topic: topics.state,
        value_template: "{{ 'ON' if value_json.door.contact == 'open' else 'OFF' }}",
      },
    ],
    [
      `${prefix}/binary_sensor/${id.site}/${id.gate}_alarm/config`,
      {
        name: 'Gate alarm',
        unique_id: `postern_${id.site}_${id.gate}_alarm`,
        device_class: 'problem',
        state_topic: topics.state,
        value_template: "{{ 'ON' if value_json.alarms | length > 0 else 'OFF' }}",
        json_attributes_topic: topics.state,
        json_attributes_template: '{{ {"alarms": value_json.alarms} | tojson }}',
      },
    ],
  ];
  return entities.map(([topic, config]) => ({ topic, payload: JSON.stringify({ ...config, ...availability, device }) }));
}

export function haCommandTopic(commandTopicRoot: string, id: GateIdentity): string {
  return `${commandTopicRoot}/${id.site}/${id.gate}/set`;
}

/** What the bridge signs for each Home Assistant lock payload; anything else is dropped. */
export const HA_PAYLOAD_COMMANDS: Record<string, { cmd: 'open' | 'hold-unlocked' | 'relock'; args: Record<string, never> }> = {
  OPEN: { cmd: 'open', args: {} },
  UNLOCK: { cmd: 'hold-unlocked', args: {} },
  LOCK: { cmd: 'relock', args: {} },
};
