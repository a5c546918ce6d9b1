import nacl from 'tweetnacl';
import type { z } from 'zod';

/**
 * The signed wrapper around every command, credential message and gate answer (docs/PROTOCOL.md §2).
 * The body travels as a JSON *string* and the signature covers its exact UTF-8 bytes, so neither side
 * ever has to re-serialise JSON canonically; the purpose prefix stops a signature made for one topic
 * from being accepted on another.
 */
export interface Envelope {
  v: 1;
  /** Signer's Ed25519 public key, base64 (32 bytes). */
  key: string;
  /** The signed JSON text. */
  body: string;
  /** Detached Ed25519 signature, base64 (64 bytes), over signedBytes(purpose, body). */
  sig: string;
}

export type Purpose = 'cmd' | 'credentials' | 'result';

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

export type OpenFailure = 'oversized' | 'malformed' | 'unknown-key' | 'bad-signature';
export type Opened = { ok: true; key: string; body: unknown } | { ok: false; reason: OpenFailure; detail: string };

const B64 = /^[A-Za-z0-9+/]+={0,2}$/;

function decodeBase64(text: unknown, bytes: number): Uint8Array | undefined {
  if (typeof text !== 'string' || !B64.test(text)) return undefined;
  const decoded = Buffer.from(text, 'base64');
  return decoded.length === bytes ? new Uint8Array(decoded) : undefined;
}

/** Size, shape, key and signature checks: everything that does not depend on what the body says. */
export function openEnvelope(raw: Uint8Array | string, purpose: Purpose, trustedKeys: ReadonlySet<string>, maxBytes: number): Opened {
  const size = typeof raw === 'string' ? Buffer.byteLength(raw, 'utf8') : raw.length;
  if (size > maxBytes) return { ok: false, reason: 'oversized', detail: `payload is ${size} bytes, the limit is ${maxBytes}` };
  let outer: unknown;
  try {
    outer = JSON.parse(typeof raw === 'string' ? raw : Buffer.from(raw).toString('utf8'));
  } catch {
    return { ok: false, reason: 'malformed', detail: 'payload is not JSON' };
  }
  if (typeof outer !== 'object' || outer === null || Array.isArray(outer)) return { ok: false, reason: 'malformed', detail: 'payload is not a JSON object' };
  const { v, key, body, sig } = outer as Record<string, unknown>;
  if (v !== 1) return { ok: false, reason: 'malformed', detail: 'envelope field "v" must be 1' };
  if (typeof body !== 'string') return { ok: false, reason: 'malformed', detail: 'envelope field "body" must be a JSON string' };
  const publicKey = decodeBase64(key, nacl.sign.publicKeyLength);
  if (!publicKey) return { ok: false, reason: 'malformed', detail: 'envelope field "key" must be a base64 Ed25519 public key' };
  const signature = decodeBase64(sig, nacl.sign.signatureLength);
  if (!signature) return { ok: false, reason: 'malformed', detail: 'envelope field "sig" must be a base64 64-byte signature' };
  const keyText = Buffer.from(publicKey).toString('base64');
  if (!trustedKeys.has(keyText)) return { ok: false, reason: 'unknown-key', detail: `key ${keyText} is not trusted by this gate` };
  if (!nacl.sign.detached.verify(signedBytes(purpose, body), signature, publicKey)) {
    return { ok: false, reason: 'bad-signature', detail: `signature does not verify for ${purpose}` };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { ok: false, reason: 'malformed', detail: 'signed body is not JSON' };
  }
  return { ok: true, key: keyText, body: parsed };
}

/** openEnvelope, then the body checked against its schema; a body that does not fit is `malformed`, naming the field. */
export function openSigned<S extends z.ZodType>(
  raw: Uint8Array | string,
  purpose: Purpose,
  schema: S,
  trustedKeys: ReadonlySet<string>,
  maxBytes: number,
): { ok: true; key: string; body: z.output<S> } | { ok: false; reason: OpenFailure; detail: string } {
  const opened = openEnvelope(raw, purpose, trustedKeys, maxBytes);
  if (!opened.ok) return opened;
  const parsed = schema.safeParse(opened.body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, reason: 'malformed', detail: `${purpose} body field "${issue?.path.join('.') ?? ''}": ${issue?.message ?? 'invalid'}` };
  }
  return { ok: true, key: opened.key, body: parsed.data };
}
