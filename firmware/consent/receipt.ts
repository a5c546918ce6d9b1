import nacl from 'tweetnacl';
import { canonicalJson } from '../audit/chain';
import { deletionReceiptSchema, type DeletionReceipt } from '../store/records';

export type UnsignedReceipt = Omit<DeletionReceipt, 'signature' | 'gatePublicKey' | 'kind' | 'version'>;

function signedBytes(receipt: Omit<DeletionReceipt, 'signature'>): Uint8Array {
  return new Uint8Array(Buffer.from(canonicalJson(receipt), 'utf8'));
}

/** A deletion receipt: what was deleted, when and why, signed with the gate's Ed25519 key (red line 3). */
export function signReceipt(signingSecretKey: Uint8Array, fields: UnsignedReceipt): DeletionReceipt {
  const publicKey = nacl.sign.keyPair.fromSecretKey(signingSecretKey).publicKey;
  const body: Omit<DeletionReceipt, 'signature'> = {
    kind: 'postern.deletion-receipt',
    version: 1,
    gatePublicKey: Buffer.from(publicKey).toString('base64'),
    ...fields,
  };
  const signature = nacl.sign.detached(signedBytes(body), signingSecretKey);
  return { ...body, signature: Buffer.from(signature).toString('base64') };
}

export type ReceiptCheck = { valid: true; receipt: DeletionReceipt } | { valid: false; problem: string };

/**
 * Checks a receipt offline. Without `trustedGateKey` this proves only that the receipt is intact and was
 * signed by the key it names; pass the gate's public key (from `postern status`) to prove it was this gate.
 */
export function verifyReceipt(candidate: unknown, trustedGateKey?: Uint8Array): ReceiptCheck {
  const parsed = deletionReceiptSchema.safeParse(candidate);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { valid: false, problem: `not a deletion receipt: ${issue ? `${issue.path.join('.') || '(top level)'}: ${issue.message}` : 'invalid'}` };
  }
  const receipt = parsed.data;
  const { signature, ...body } = receipt;
  const publicKey = new Uint8Array(Buffer.from(receipt.gatePublicKey, 'base64'));
  const sig = new Uint8Array(Buffer.from(signature, 'base64'));
  if (publicKey.length !== nacl.sign.publicKeyLength) return { valid: false, problem: 'gatePublicKey is not a 32-byte Ed25519 key' };
  if (sig.length !== nacl.sign.signatureLength) return { valid: false, problem: 'signature is not a 64-byte Ed25519 signature' };
  if (trustedGateKey && Buffer.compare(Buffer.from(trustedGateKey), Buffer.from(publicKey)) !== 0) {
    return { valid: false, problem: 'signed by a different key than the trusted gate key' };
  }
  if (!nacl.sign.detached.verify(signedBytes(body), sig, publicKey)) {
    return { valid: false, problem: 'the signature does not match the contents (the receipt was altered or forged)' };
  }
  return { valid: true, receipt };
}
