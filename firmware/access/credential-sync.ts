import type { EventBus } from '../events/bus';
import { newResident, type Resident } from '../store/records';
import { StoreError, type GateStore } from '../store/store';

/** One card as the cloud sends it: the keyed hash only (red line 5) and the resident it belongs to. */
export interface CardCredential {
  cardHash: string;
  residentId: string;
}

/** Same shapes as firmware/cloud/credentials.ts (the signed `credentials` messages), kept structural. */
export interface CredentialDelta {
  from: number;
  to: number;
  add: CardCredential[];
  remove: string[];
}

export interface CredentialSet {
  version: number;
  credentials: CardCredential[];
}

const HASH = /^[0-9a-f]{64}$/;
const RESIDENT_ID = /^[A-Za-z0-9_-]{1,64}$/;

function check(c: CardCredential): void {
  if (!HASH.test(c.cardHash)) throw new StoreError('invalid', `"${c.cardHash}" is not a 64-hex card hash (raw UIDs are never accepted)`);
  if (!RESIDENT_ID.test(c.residentId)) throw new StoreError('invalid', `residentId "${c.residentId}" is not a valid resident id`);
}

/**
 * The cloud's versioned card set (firmware/cloud's CredentialTarget). Each delta or full set is a single
 * store write carrying the new version, so a crash leaves the old set or the new one. Residents the cloud
 * names and the gate does not know are created without validity limits; revocation is a separate command.
 */
export class CredentialSync {
  constructor(
    private readonly store: GateStore,
    private readonly bus: EventBus,
  ) {}

  version(): number {
    return this.store.credentialVersion;
  }

  /** `signer`: who authorised the change (firmware/cloud's SignerRecord), recorded in the event for the audit log. */
  applyDelta(delta: CredentialDelta, signer: Record<string, unknown> = {}): void {
    if (delta.from !== this.store.credentialVersion) {
      throw new StoreError('conflict', `credential delta is based on version ${delta.from} but the gate holds version ${this.store.credentialVersion}`);
    }
    if (!(delta.to > delta.from)) throw new StoreError('invalid', `credential delta must move the version forward (from ${delta.from} to ${delta.to})`);
    delta.add.forEach(check);
    const removed = new Set(delta.remove);
    for (const h of removed) if (!HASH.test(h)) throw new StoreError('invalid', `"${h}" is not a 64-hex card hash`);
    this.store.applyCredentialChanges(delta.to, (residents, stamp) => {
      for (const r of Object.values(residents)) r.cards = r.cards.filter((c) => !removed.has(c.hash));
      const holders = holderIndex(residents);
      for (const c of delta.add) giveCard(residents, holders, c, stamp);
    });
    this.bus.emit({ type: 'credentials.applied', reason: 'delta', data: { version: delta.to, added: delta.add.length, removed: removed.size, ...signer } });
  }

  /** The card set becomes exactly `set`: cards not listed are removed from whoever held them. */
  replaceAll(set: CredentialSet, signer: Record<string, unknown> = {}): void {
    set.credentials.forEach(check);
    this.store.applyCredentialChanges(set.version, (residents, stamp) => {
      const kept = new Map<string, string>();
      for (const r of Object.values(residents)) for (const c of r.cards) kept.set(c.hash, c.addedAt);
      for (const r of Object.values(residents)) r.cards = [];
      const holders = new Map<string, string>();
      for (const c of set.credentials) giveCard(residents, holders, c, kept.get(c.cardHash) ?? stamp);
    });
    this.bus.emit({ type: 'credentials.applied', reason: 'full', data: { version: set.version, cards: set.credentials.length, ...signer } });
  }
}

function holderIndex(residents: Record<string, Resident>): Map<string, string> {
  const index = new Map<string, string>();
  for (const r of Object.values(residents)) for (const c of r.cards) index.set(c.hash, r.id);
  return index;
}

/** Moves the card to its resident (creating the resident if new); a card has one holder. */
function giveCard(residents: Record<string, Resident>, holders: Map<string, string>, c: CardCredential, stamp: string): void {
  const previous = holders.get(c.cardHash);
  const previousHolder = previous === undefined ? undefined : residents[previous];
  if (previousHolder && previous !== c.residentId) previousHolder.cards = previousHolder.cards.filter((x) => x.hash !== c.cardHash);
  holders.set(c.cardHash, c.residentId);
  const holder = (residents[c.residentId] ??= newResident(c.residentId, stamp));
  if (!holder.cards.some((x) => x.hash === c.cardHash)) holder.cards.push({ hash: c.cardHash, addedAt: stamp });
}
