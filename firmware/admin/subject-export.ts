import type { AuditEntry } from '../audit/chain';
import { readAudit } from '../audit/verify';
import type { DeletionReceipt } from '../store/records';
import { StoreError, type GateStore } from '../store/store';

export interface SubjectExport {
  kind: 'postern.subject-export';
  generatedAt: string;
  resident: {
    id: string;
    createdAt: string;
    validFrom: string | null;
    validUntil: string | null;
    schedule: unknown;
    under14: boolean;
    revokedAt: string | null;
  };
  cards: { hash: string; addedAt: string }[];
  /** Whether a face template exists and its dates; never the template bytes (red line 4). */
  face: { templateHeld: boolean; enrolledAt: string | null; lastUsedAt: string | null };
  consent: { current: unknown; history: unknown[] };
  deletionReceipts: DeletionReceipt[];
  /** The most recent audit entries that name this resident or one of their cards. */
  recentEvents: Pick<AuditEntry, 'seq' | 'ts' | 'type' | 'reason' | 'data'>[];
}

/** Everything the gate holds about one resident (subject access), as JSON. */
export function buildSubjectExport(store: GateStore, auditDir: string, residentId: string, now: Date, maxEvents = 500): SubjectExport {
  const r = store.getResident(residentId);
  if (!r) throw new StoreError('not-found', `no resident with id ${residentId}`);
  const cardHashes = new Set(r.cards.map((c) => c.hash));
  const mentions = (e: AuditEntry) => e.data?.residentId === residentId || (typeof e.data?.credential === 'string' && cardHashes.has(e.data.credential));
  const recentEvents = readAudit(auditDir)
    .entries.map((x) => x.entry)
    .filter(mentions)
    .slice(-maxEvents)
    .map(({ seq, ts, type, reason, data }) => ({ seq, ts, type, reason, ...(data ? { data } : {}) }));
  return {
    kind: 'postern.subject-export',
    generatedAt: now.toISOString(),
    resident: {
      id: r.id,
      createdAt: r.createdAt,
      validFrom: r.validFrom,
      validUntil: r.validUntil,
      schedule: r.schedule,
      under14: r.under14,
      revokedAt: r.revokedAt,
    },
    cards: r.cards,
    face: { templateHeld: store.hasTemplate(r.id), enrolledAt: r.face?.enrolledAt ?? null, lastUsedAt: r.face?.lastUsedAt ?? null },
    consent: { current: r.consent, history: r.consentHistory },
    deletionReceipts: store.receiptsFor(r.id),
    recentEvents,
  };
}
