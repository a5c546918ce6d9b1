import { hashCardUid, isRandomUid, normaliseUid } from '../credentials/card-id';
import type { EventBus } from '../events/bus';
import type { ConsentLedger } from '../consent/ledger';
import type { DeletionReceipt, Resident } from '../store/records';
import { StoreError, type GateStore, type NewResident } from '../store/store';

export interface ResidentRegistryDeps {
  store: GateStore;
  ledger: ConsentLedger;
  bus: EventBus;
  siteKey: Uint8Array;
}

/** Local administration of residents and their cards, each change an event (and so an audit entry). */
export class ResidentRegistry {
  constructor(private readonly deps: ResidentRegistryDeps) {}

  add(input: NewResident): Resident {
    const resident = this.deps.store.addResident(input);
    this.deps.bus.emit({ type: 'resident.added', reason: 'admin', data: { residentId: resident.id, under14: resident.under14 } });
    return resident;
  }

  /** Revocation takes effect at once: cards stop opening the door and the face template is deleted with a receipt. */
  revoke(residentId: string): { resident: Resident; receipt: DeletionReceipt | null } {
    const resident = this.deps.store.revokeResident(residentId);
    const receipt = this.deps.ledger.deleteTemplate(residentId, 'resident-revoked');
    this.deps.bus.emit({ type: 'resident.revoked', reason: 'admin', data: { residentId } });
    return { resident, receipt };
  }

  addCardHash(residentId: string, cardHash: string, how: 'tap' | 'uid' | 'hash'): void {
    this.deps.store.addCard(residentId, cardHash);
    this.deps.bus.emit({ type: 'card.enrolled', reason: how, data: { residentId, credential: cardHash } });
  }

  /** Hashes the UID at once; the UID itself goes no further than this function (red line 5). */
  addCardUid(residentId: string, uid: string): string {
    let normalised: string;
    try {
      normalised = normaliseUid(uid);
    } catch (err) {
      throw new StoreError('invalid', (err as Error).message);
    }
    if (isRandomUid(normalised)) {
      throw new StoreError('invalid', 'this UID is a random one (starts with 08, as phones send): it changes on every tap and cannot be a credential');
    }
    const cardHash = hashCardUid(this.deps.siteKey, normalised);
    this.addCardHash(residentId, cardHash, 'uid');
    return cardHash;
  }

  removeCard(cardHash: string): boolean {
    const holder = this.deps.store.residentByCard(cardHash);
    const removed = this.deps.store.removeCard(cardHash);
    if (removed) this.deps.bus.emit({ type: 'card.unenrolled', reason: 'admin', data: { residentId: holder?.id, credential: cardHash } });
    return removed;
  }
}
