import type { EventBus } from '../events/bus';
import type { ConsentRecord, DeletionReceipt } from '../store/records';
import { StoreError, type GateStore } from '../store/store';
import { signReceipt } from './receipt';

export interface ConsentInput {
  noticeVersion: string;
  consentedBy: 'self' | 'guardian';
  guardianRef?: string;
}

export type DeletionReason = DeletionReceipt['why'];

export interface ConsentLedgerDeps {
  store: GateStore;
  bus: EventBus;
  signingSecretKey: Uint8Array;
  retentionDays: number;
  now?: () => Date;
}

const DAY_MS = 86_400_000;

/**
 * Consent and the face templates that depend on it (red lines 2 and 3): no consent, no template; and
 * whenever the basis for keeping a template goes, it is deleted at once and a signed receipt is issued.
 */
export class ConsentLedger {
  private readonly now: () => Date;

  constructor(private readonly deps: ConsentLedgerDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  grant(residentId: string, input: ConsentInput): ConsentRecord {
    const resident = this.deps.store.getResident(residentId);
    if (!resident) throw new StoreError('not-found', `no resident with id ${residentId}`);
    if (resident.revokedAt) throw new StoreError('conflict', `resident ${residentId} is revoked`);
    if (!input.noticeVersion?.trim()) throw new StoreError('invalid', 'noticeVersion is required: which privacy notice was the person shown?');
    if (input.consentedBy !== 'self' && input.consentedBy !== 'guardian') {
      throw new StoreError('invalid', `consentedBy "${String(input.consentedBy)}" must be "self" or "guardian"`);
    }
    if (resident.under14 && input.consentedBy !== 'guardian') {
      throw new StoreError('no-consent', `resident ${residentId} is marked under 14: consent must be given by a guardian (consentedBy "guardian" with a guardianRef)`);
    }
    if (input.consentedBy === 'guardian' && !input.guardianRef?.trim()) {
      throw new StoreError('invalid', 'guardian consent needs a guardianRef (the operator\'s reference for the guardian, not a name)');
    }
    const grantedAt = this.now().toISOString();
    const record: ConsentRecord = {
      grantedAt,
      noticeVersion: input.noticeVersion.trim(),
      consentedBy: input.consentedBy,
      ...(input.guardianRef ? { guardianRef: input.guardianRef.trim() } : {}),
    };
    this.deps.store.setConsent(residentId, record, { at: grantedAt, action: 'granted', noticeVersion: record.noticeVersion, consentedBy: record.consentedBy });
    this.deps.bus.emit({ type: 'consent.granted', reason: record.consentedBy, data: { residentId, noticeVersion: record.noticeVersion } });
    return record;
  }

  /** Withdrawal takes effect at once: the consent record goes and so does the template, with a receipt. */
  withdraw(residentId: string): DeletionReceipt | null {
    const resident = this.deps.store.getResident(residentId);
    if (!resident) throw new StoreError('not-found', `no resident with id ${residentId}`);
    if (!resident.consent) throw new StoreError('conflict', `resident ${residentId} has no consent to withdraw`);
    const receipt = this.deleteTemplate(residentId, 'consent-withdrawn');
    this.deps.store.setConsent(residentId, null, { at: this.now().toISOString(), action: 'withdrawn' });
    this.deps.bus.emit({ type: 'consent.withdrawn', reason: 'resident-request', data: { residentId } });
    return receipt;
  }

  /** Stores a face template for a resident; refused without a consent record (the store enforces it too). */
  enrolTemplate(residentId: string, embedding: Float32Array): void {
    const resident = this.deps.store.getResident(residentId);
    if (!resident) throw new StoreError('not-found', `no resident with id ${residentId}`);
    if (!resident.consent) throw new StoreError('no-consent', `resident ${residentId} has no consent record; no consent, no template`);
    const replaced = this.deps.store.hasTemplate(residentId);
    this.deps.store.putTemplate(residentId, embedding);
    this.deps.bus.emit({ type: 'face.enrolled', reason: replaced ? 're-enrolled' : 'enrolled', data: { residentId, dims: embedding.length } });
  }

  /**
   * Deletes the template from disk (the store rewrites its file) and memory (the store tells the matcher),
   * then signs and keeps a receipt. Null when there was no template.
   */
  deleteTemplate(residentId: string, why: DeletionReason): DeletionReceipt | null {
    const deleted = this.deps.store.deleteTemplate(residentId);
    if (!deleted) return null;
    const receipt = signReceipt(this.deps.signingSecretKey, {
      residentId,
      what: 'face-template',
      why,
      deletedAt: this.now().toISOString(),
      ciphertextSha256: deleted.ciphertextSha256,
    });
    this.deps.store.addReceipt(receipt);
    this.deps.bus.emit({ type: 'face.deleted', reason: why, data: { residentId, ciphertextSha256: deleted.ciphertextSha256 } });
    return receipt;
  }

  /** Deletes every template unused (not matched, or never since enrolment) for longer than the retention period. */
  sweepRetention(): DeletionReceipt[] {
    const cutoff = this.now().getTime() - this.deps.retentionDays * DAY_MS;
    const expired = this.deps.store
      .listResidents()
      .filter((r) => r.face && Date.parse(r.face.lastUsedAt ?? r.face.enrolledAt) < cutoff)
      .map((r) => r.id);
    return expired.map((id) => this.deleteTemplate(id, 'retention-expired')).filter((r): r is DeletionReceipt => r !== null);
  }

  /** Runs the retention sweep now and then every `intervalMs`; returns the stop function. */
  startRetentionSweep(intervalMs: number, onError: (err: unknown) => void): () => void {
    const run = () => {
      try {
        this.sweepRetention();
      } catch (err) {
        onError(err);
      }
    };
    run();
    const timer = setInterval(run, intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }
}
