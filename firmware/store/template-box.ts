import { createHash } from 'node:crypto';
import nacl from 'tweetnacl';
import type { TemplateRecord } from './records';

/** Face templates at rest: tweetnacl secretbox under the gate's template key (red line 4). */
export function sealTemplate(key: Uint8Array, embedding: Float32Array, enrolledAt: string): TemplateRecord {
  if (embedding.length === 0) throw new Error('a face template must have at least one dimension');
  for (const v of embedding) if (!Number.isFinite(v)) throw new Error('a face template must hold finite numbers only');
  const plain = new Uint8Array(embedding.buffer.slice(embedding.byteOffset, embedding.byteOffset + embedding.byteLength));
  const nonce = nacl.randomBytes(nacl.secretbox.nonceLength);
  const box = nacl.secretbox(plain, nonce, key);
  plain.fill(0);
  return { nonce: b64(nonce), box: b64(box), dims: embedding.length, enrolledAt };
}

export function openTemplate(key: Uint8Array, record: TemplateRecord, residentId: string): Float32Array {
  const plain = nacl.secretbox.open(fromB64(record.box), fromB64(record.nonce), key);
  if (!plain) throw new Error(`face template of resident ${residentId} does not decrypt with this gate's template key`);
  if (plain.length !== record.dims * 4) throw new Error(`face template of resident ${residentId} holds ${plain.length} bytes, not ${record.dims} floats`);
  return new Float32Array(plain.buffer, plain.byteOffset, record.dims);
}

/** Identifies a deleted template in its receipt without keeping any of its bytes. */
export function ciphertextDigest(record: TemplateRecord): string {
  return createHash('sha256').update(fromB64(record.box)).digest('hex');
}

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
const fromB64 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'base64'));
