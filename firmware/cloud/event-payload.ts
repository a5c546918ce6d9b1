import type { GateEvent } from '../events/bus';

/**
 * Field names that may never leave the gate (red lines 4-5). Emitters are meant to put only hashed ids
 * in events; this is the second line of defence at the one door out.
 */
const FORBIDDEN_KEYS = new Set(['uid', 'rawuid', 'template', 'templates', 'descriptor', 'embedding', 'image', 'frame', 'jpeg', 'png', 'photo']);

function scrub(value: unknown, depth: number): unknown {
  if (depth > 8) return '[too deep]';
  if (value === null || typeof value !== 'object') return typeof value === 'bigint' || typeof value === 'function' ? String(value) : value;
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return '[binary removed]';
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] = FORBIDDEN_KEYS.has(key.toLowerCase()) ? '[removed]' : scrub(v, depth + 1);
  }
  return out;
}

/** The JSON line stored in the outbox and published on `events`. */
export function eventPayload(event: GateEvent, gate: { site: string; gate: string }): string {
  return JSON.stringify({
    id: event.id,
    seq: event.seq,
    ts: event.ts,
    site: gate.site,
    gate: gate.gate,
    type: event.type,
    reason: event.reason,
    ...(event.data ? { data: scrub(event.data, 0) } : {}),
  });
}
