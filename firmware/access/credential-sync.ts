import type { ConsentLedger } from '../consent/ledger';
import type { EventBus } from '../events/bus';
import type { Resident } from '../store/records';
import { normaliseTime, StoreError, type GateStore } from '../store/store';

/** One resident's credentials as the cloud sends them: hashed card ids only (red line 5). */
export interface CredentialGrant {
  residentId: string;
  cardHashes: string[];
  validFrom?: string | null;
  validUntil?: string | null;
}

export interface CredentialDelta {
  /** The version this delta applies on top of; must equal the gate's current version. */
  fromVersion: number;
  toVersion: number;
  /** Residents created or updated; their card set becomes exactly `cardHashes`. */
  upsert: CredentialGrant[];
  /** Residents revoked (their templates deleted with a receipt). */
  revoke: string[];
}

export interface CredentialSnapshot {
  version: number;
  residents: CredentialGrant[];
}

export class CredentialVersionError extends StoreError {
  constructor(
    readonly current: number,
    readonly offered: number,
  ) {
    super('conflict', `credential delta is based on version ${offered} but the gate holds version ${current}; send the full set`);
  }
}

const HASH = /^[0-9a-f]{64}$/;

function checkGrant(g: CredentialGrant): void {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(g.residentId)) throw new StoreError('invalid', `residentId "${g.residentId}" is not a valid resident id`);
  const bad = g.cardHashes.find((h) => !HASH.test(h));
  if (bad !== undefined) throw new StoreError('invalid', `resident ${g.residentId}: "${bad}" is not a 64-hex card hash (raw UIDs are never accepted)`);
  normaliseTime(g.validFrom, `resident ${g.residentId} validFrom`);
  normaliseTime(g.validUntil, `resident ${g.residentId} validUntil`);
}

/**
 * The cloud's view of who holds which card, applied as versioned deltas or a full replacement. Each
 * batch is one store write; revocations then delete templates with receipts like a local revoke does.
 */
export class CredentialSync {
  constructor(
    private readonly store: GateStore,
    private readonly ledger: ConsentLedger,
    private readonly bus: EventBus,
  ) {}

  version(): number {
    return this.store.credentialVersion;
  }

  applyDelta(delta: CredentialDelta): { revoked: string[] } {
    if (delta.fromVersion !== this.store.credentialVersion) throw new CredentialVersionError(this.store.credentialVersion, delta.fromVersion);
    if (!(delta.toVersion > delta.fromVersion)) throw new StoreError('invalid', `toVersion ${delta.toVersion} must be greater than fromVersion ${delta.fromVersion}`);
    delta.upsert.forEach(checkGrant);
    const revoked: string[] = [];
    this.store.applyCredentialChanges(delta.toVersion, (residents, stamp) => {
      for (const g of delta.upsert) upsert(residents, g, stamp);
      for (const id of delta.revoke) {
        const r = residents[id];
        if (r && !r.revokedAt) {
          r.revokedAt = stamp;
          revoked.push(id);
        }
      }
    });
    return this.finish(delta.toVersion, revoked);
  }

  /** Replaces the whole set: residents absent from the snapshot are revoked (the cloud is the authority). */
  replaceAll(snapshot: CredentialSnapshot): { revoked: string[] } {
    snapshot.residents.forEach(checkGrant);
    const listed = new Set(snapshot.residents.map((g) => g.residentId));
    const revoked: string[] = [];
    this.store.applyCredentialChanges(snapshot.version, (residents, stamp) => {
      for (const g of snapshot.residents) upsert(residents, g, stamp);
      for (const r of Object.values(residents)) {
        if (!listed.has(r.id) && !r.revokedAt) {
          r.revokedAt = stamp;
          revoked.push(r.id);
        }
      }
    });
    return this.finish(snapshot.version, revoked);
  }

  /** The active set, for the cloud to compare with its own. */
  snapshot(): CredentialSnapshot {
    return {
      version: this.store.credentialVersion,
      residents: this.store
        .listResidents()
        .filter((r) => !r.revokedAt)
        .map((r) => ({ residentId: r.id, cardHashes: r.cards.map((c) => c.hash), validFrom: r.validFrom, validUntil: r.validUntil })),
    };
  }

  private finish(version: number, revoked: string[]): { revoked: string[] } {
    for (const id of revoked) this.ledger.deleteTemplate(id, 'resident-revoked');
    this.bus.emit({ type: 'credentials.applied', reason: 'sync', data: { version, revoked: revoked.length } });
    return { revoked };
  }
}

function upsert(residents: Record<string, Resident>, g: CredentialGrant, stamp: string): void {
  // A card moving to this resident leaves whoever held it before.
  const incoming = new Set(g.cardHashes);
  for (const other of Object.values(residents)) {
    if (other.id !== g.residentId) other.cards = other.cards.filter((c) => !incoming.has(c.hash));
  }
  const existing = residents[g.residentId];
  const kept = new Map((existing?.cards ?? []).map((c) => [c.hash, c.addedAt]));
  const cards = g.cardHashes.map((hash) => ({ hash, addedAt: kept.get(hash) ?? stamp }));
  residents[g.residentId] = {
    id: g.residentId,
    createdAt: existing?.createdAt ?? stamp,
    validFrom: normaliseTime(g.validFrom, 'validFrom'),
    validUntil: normaliseTime(g.validUntil, 'validUntil'),
    schedule: existing?.schedule ?? null,
    under14: existing?.under14 ?? false,
    revokedAt: null,
    cards,
    consent: existing?.consent ?? null,
    consentHistory: existing?.consentHistory ?? [],
    face: existing?.face ?? null,
  };
}
