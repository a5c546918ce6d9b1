import type { DoorPort } from '../door/port';
import type { SignerRecord } from './authority';
import type { CredentialDelta, CredentialSet } from './credentials';

/**
 * The gate's card credentials as the cloud sees them: a version and whole-set or delta updates. The
 * target records its own `credentials.applied` event, with `signer` (certificate serial and scopes, or
 * the listed operator key) in its data.
 */
export interface CredentialTarget {
  version(): number;
  applyDelta(delta: CredentialDelta, signer?: SignerRecord): void | Promise<void>;
  replaceAll(set: CredentialSet, signer?: SignerRecord): void | Promise<void>;
}

/**
 * Everything a remote command may touch. The daemon wires it to the real door, store and consent
 * modules, so the cloud module depends on no concrete class of theirs. A gate without a resident store
 * leaves the optional parts out; their commands are then answered `unsupported` and change nothing.
 */
export interface CommandTargets {
  door: DoorPort;
  /** The gate state as /api/state shows it (door.relay, door.contact, alarms, methods): also the retained `state`. */
  status(): Record<string, unknown>;
  /** Revokes the resident and deletes any face template; returns the signed deletion receipt, or null if there was no template. */
  revokeResident?(residentId: string): object | null | Promise<object | null>;
  /** Deletes the resident's face template at once (red line 3); returns the signed deletion receipt, or null if there was none. */
  withdrawConsent?(residentId: string): object | null | Promise<object | null>;
  credentials?: CredentialTarget;
}
