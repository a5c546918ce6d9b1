import nacl from 'tweetnacl';
import type { z } from 'zod';
import { verifyEd25519 } from './ed25519';

/**
 * The signed wrapper around every command, credential message and gate answer (docs/PROTOCOL.md §2),
 * and around the site root's certificates and revocation lists and the recovery key's root rotations.
 * The body travels as a JSON *string* and the signature covers its exact UTF-8 bytes, so neither side
 * ever has to re-serialise JSON canonically; the purpose prefix stops a signature made for one kind of
 * message from being accepted as another.
 */
export interface Envelope {
  v: 1;
  /** Signer's Ed25519 public key, base64 (32 bytes). */
  key: string;
  /** The signed JSON text. */
  body: string;
  /** Detached Ed25519 signature, base64 (64 bytes), over signedBytes(purpose, body). */
  sig: string;
  /** The signer's operator certificate (itself an envelope, purpose `operator-cert`), when `key` is certified by the site root rather than listed in `cloud.operatorKeys`. */
  cert?: Envelope;
}

export type Purpose = 'cmd' | 'credentials' | 'result' | 'operator-cert' | 'revocation-list' | 'root-rotation';

export function signedBytes(purpose: Purpose, body: string): Uint8Array {
  return new Uint8Array(Buffer.from(`postern/v1 ${purpose}\n${body}`, 'utf8'));
}

export function sign(purpose: Purpose, body: object, secretKey: Uint8Array): Envelope {
  const text = JSON.stringify(body);
  const signature = nacl.sign.detached(signedBytes(purpose, text), secretKey);
  return {
    v: 1,
    key: Buffer.from(secretKey.subarray(32)).toString('base64'),
    body: text,
    sig: Buffer.from(signature).toString('base64'),
  };
}

/** Checks `body` against the schema the receiver will apply, then signs it: the signer hears what is wrong before anything is sent. */
export function signChecked<S extends z.ZodType>(purpose: Purpose, schema: S, body: z.input<S>, secretKey: Uint8Array): Envelope {
  const checked = schema.safeParse(body);
  if (!checked.success) throw new Error(`${purpose}: ${checked.error.issues.map((i) => `${i.path.join('.') || '(body)'} ${i.message}`).join('; ')}`);
  return sign(purpose, checked.data as object, secretKey);
}

export type OpenFailure = 'oversized' | 'malformed' | 'unknown-key' | 'bad-signature';
export type Failure<R extends string = OpenFailure> = { ok: false; reason: R; detail: string };
export type Opened = { ok: true; key: string; body: unknown } | Failure;

/** An envelope's fields, decoded and shape-checked; nothing about them verified yet. */
export interface EnvelopeFields {
  /** `key` as base64, re-encoded from the decoded bytes. */
  key: string;
  publicKey: Uint8Array;
  body: string;
  signature: Uint8Array;
  /** The `cert` field as received (undefined when absent). */
  cert: unknown;
}

const B64 = /^[A-Za-z0-9+/]+={0,2}$/;

function decodeBase64(text: unknown, bytes: number): Uint8Array | undefined {
  if (typeof text !== 'string' || !B64.test(text)) return undefined;
  const decoded = Buffer.from(text, 'base64');
  return decoded.length === bytes ? new Uint8Array(decoded) : undefined;
}

/** The size limit and the JSON parse of a payload off the wire. */
export function parsePayload(raw: Uint8Array | string, maxBytes: number): { ok: true; value: unknown } | Failure<'oversized' | 'malformed'> {
  const size = typeof raw === 'string' ? Buffer.byteLength(raw, 'utf8') : raw.length;
  if (size > maxBytes) return { ok: false, reason: 'oversized', detail: `payload is ${size} bytes, the limit is ${maxBytes}` };
  try {
    return { ok: true, value: JSON.parse(typeof raw === 'string' ? raw : Buffer.from(raw).toString('utf8')) };
  } catch {
    return { ok: false, reason: 'malformed', detail: 'payload is not JSON' };
  }
}

/** `what` names the object in the detail ("envelope", "certificate"). */
export function envelopeFields(value: unknown, what = 'envelope'): { ok: true; fields: EnvelopeFields } | Failure<'malformed'> {
  const malformed = (detail: string): Failure<'malformed'> => ({ ok: false, reason: 'malformed', detail });
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return malformed(`${what} is not a JSON object`);
  const { v, key, body, sig, cert } = value as Record<string, unknown>;
  if (v !== 1) return malformed(`${what} field "v" must be 1`);
  if (typeof body !== 'string') return malformed(`${what} field "body" must be a JSON string`);
  const publicKey = decodeBase64(key, nacl.sign.publicKeyLength);
  if (!publicKey) return malformed(`${what} field "key" must be a base64 Ed25519 public key`);
  const signature = decodeBase64(sig, nacl.sign.signatureLength);
  if (!signature) return malformed(`${what} field "sig" must be a base64 64-byte signature`);
  return { ok: true, fields: { key: Buffer.from(publicKey).toString('base64'), publicKey, body, signature, cert } };
}

export function signatureHolds(fields: EnvelopeFields, purpose: Purpose): boolean {
  return verifyEd25519(fields.publicKey, signedBytes(purpose, fields.body), fields.signature);
}

/** The signed body parsed and checked against its schema; a body that does not fit is `malformed`, naming the field. */
export function parseBody<S extends z.ZodType>(fields: EnvelopeFields, purpose: Purpose, schema: S): { ok: true; body: z.output<S> } | Failure<'malformed'> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fields.body);
  } catch {
    return { ok: false, reason: 'malformed', detail: `signed ${purpose} body is not JSON` };
  }
  const checked = schema.safeParse(parsed);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    return { ok: false, reason: 'malformed', detail: `${purpose} body field "${issue?.path.join('.') ?? ''}": ${issue?.message ?? 'invalid'}` };
  }
  return { ok: true, body: checked.data };
}

/** Size, shape, key and signature checks: everything that does not depend on what the body says. */
function openTrusted(raw: Uint8Array | string, purpose: Purpose, trustedKeys: ReadonlySet<string>, maxBytes: number): { ok: true; fields: EnvelopeFields } | Failure {
  const payload = parsePayload(raw, maxBytes);
  if (!payload.ok) return payload;
  const shaped = envelopeFields(payload.value);
  if (!shaped.ok) return shaped;
  const { fields } = shaped;
  if (!trustedKeys.has(fields.key)) return { ok: false, reason: 'unknown-key', detail: `key ${fields.key} is not trusted by this gate` };
  if (!signatureHolds(fields, purpose)) return { ok: false, reason: 'bad-signature', detail: `signature does not verify for ${purpose}` };
  return shaped;
}

/** openTrusted, then the body parsed (any JSON). */
export function openEnvelope(raw: Uint8Array | string, purpose: Purpose, trustedKeys: ReadonlySet<string>, maxBytes: number): Opened {
  const opened = openTrusted(raw, purpose, trustedKeys, maxBytes);
  if (!opened.ok) return opened;
  try {
    return { ok: true, key: opened.fields.key, body: JSON.parse(opened.fields.body) };
  } catch {
    return { ok: false, reason: 'malformed', detail: `signed ${purpose} body is not JSON` };
  }
}

/** openTrusted, then the body checked against its schema. */
export function openSigned<S extends z.ZodType>(
  raw: Uint8Array | string,
  purpose: Purpose,
  schema: S,
  trustedKeys: ReadonlySet<string>,
  maxBytes: number,
): { ok: true; key: string; body: z.output<S> } | Failure {
  const opened = openTrusted(raw, purpose, trustedKeys, maxBytes);
  if (!opened.ok) return opened;
  const body = parseBody(opened.fields, purpose, schema);
  return body.ok ? { ok: true, key: opened.fields.key, body: body.body } : body;
}
