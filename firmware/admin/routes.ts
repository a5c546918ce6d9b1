import { z } from 'zod';
import type { ResidentRegistry } from '../access/residents';
import { verifyAuditDir } from '../audit/verify';
import type { ConsentLedger } from '../consent/ledger';
import type { DoorPort } from '../door/port';
import type { EventBus } from '../events/bus';
import type { MethodHealth } from '../health';
import { weeklyScheduleSchema } from '../store/records';
import { StoreError, type GateStore } from '../store/store';
import { AdminError, parseBody, type AdminApi } from './router';
import { buildSubjectExport } from './subject-export';

export interface CoreRouteDeps {
  store: GateStore;
  registry: ResidentRegistry;
  ledger: ConsentLedger;
  bus: EventBus;
  door: DoorPort;
  health: MethodHealth;
  auditDir: string;
  gate: { site: string; id: string; publicKey: string };
  /**
   * Resolves with the hash of the next card held to the reader, or rejects on timeout. Provided by the
   * card reader; absent when no reader is running, and then tap enrolment answers 503.
   */
  nextTap?: (timeoutMs: number) => Promise<string>;
  now?: () => Date;
}

const residentBody = z.strictObject({
  id: z.string().optional(),
  validFrom: z.string().nullable().optional(),
  validUntil: z.string().nullable().optional(),
  schedule: weeklyScheduleSchema.nullable().optional(),
  under14: z.boolean().optional(),
});
const uidBody = z.strictObject({ uid: z.string().min(1, 'uid is required') });
/** `check: true` answers whether a tap could be enrolled now, without waiting for one: the CLI asks before it prompts. */
const tapBody = z.strictObject({ timeoutMs: z.number().int().min(1000).max(120_000).default(30_000), check: z.boolean().optional() }).prefault({});
const consentBody = z.strictObject({
  noticeVersion: z.string().min(1, 'noticeVersion is required'),
  consentedBy: z.enum(['self', 'guardian']),
  guardianRef: z.string().min(1).optional(),
});

const since = (value: string | null): number => {
  if (value === null) return 0;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new AdminError(400, `since=${value}: must be a whole number ≥ 0`);
  return n;
};

/** The routes the CLI uses; each maps onto one call of the store, registry or ledger. */
export function registerCoreRoutes(api: AdminApi, deps: CoreRouteDeps): void {
  const now = deps.now ?? (() => new Date());

  api.route('GET', '/status', () => ({
    gate: deps.gate,
    door: deps.door.snapshot(),
    methods: deps.health.snapshot(),
    store: { ...deps.store.counts(), credentialVersion: deps.store.credentialVersion },
    lastEventSeq: deps.bus.lastSeq,
  }));

  api.route('GET', '/residents', () => ({
    residents: deps.store.listResidents().map((r) => ({
      id: r.id,
      validFrom: r.validFrom,
      validUntil: r.validUntil,
      schedule: r.schedule !== null,
      under14: r.under14,
      revoked: r.revokedAt !== null,
      cards: r.cards.length,
      consent: r.consent !== null,
      face: r.face !== null,
    })),
  }));
  api.route('POST', '/residents', (req) => ({ resident: deps.registry.add(parseBody(residentBody, req.body)) }));
  api.route('POST', '/residents/:id/revoke', (req) => deps.registry.revoke(req.params.id ?? ''));

  api.route('POST', '/residents/:id/cards', (req) => {
    const { uid } = parseBody(uidBody, req.body);
    return { cardHash: deps.registry.addCardUid(req.params.id ?? '', uid) };
  });
  api.route('POST', '/residents/:id/cards/tap', async (req) => {
    const id = req.params.id ?? '';
    const { timeoutMs, check } = parseBody(tapBody, req.body);
    if (!deps.store.getResident(id)) throw new StoreError('not-found', `no resident with id ${id}`);
    if (!deps.nextTap) throw new AdminError(503, 'no card reader is running on this gate; add the card by UID instead');
    if (check) return { ready: true };
    let cardHash: string;
    try {
      cardHash = await deps.nextTap(timeoutMs);
    } catch (err) {
      throw new AdminError(408, `no card was tapped within ${timeoutMs / 1000} s (${(err as Error).message})`);
    }
    deps.registry.addCardHash(id, cardHash, 'tap');
    return { cardHash };
  });
  api.route('POST', '/cards/:hash/remove', (req) => {
    if (!deps.registry.removeCard(req.params.hash ?? '')) throw new StoreError('not-found', `no card with hash ${req.params.hash}`);
    return { removed: true };
  });

  api.route('POST', '/residents/:id/consent', (req) => {
    const body = parseBody(consentBody, req.body);
    return { consent: deps.ledger.grant(req.params.id ?? '', body) };
  });
  api.route('POST', '/residents/:id/consent/withdraw', (req) => ({ receipt: deps.ledger.withdraw(req.params.id ?? '') }));
  api.route('POST', '/residents/:id/face/delete', (req) => {
    const id = req.params.id ?? '';
    if (!deps.store.getResident(id)) throw new StoreError('not-found', `no resident with id ${id}`);
    const receipt = deps.ledger.deleteTemplate(id, 'operator-request');
    if (!receipt) throw new StoreError('not-found', `resident ${id} has no face template`);
    return { receipt };
  });
  api.route('GET', '/residents/:id/export', (req) => buildSubjectExport(deps.store, deps.auditDir, req.params.id ?? '', now()));

  api.route('GET', '/audit/verify', () => verifyAuditDir(deps.auditDir));
  api.route('GET', '/events', (req) => ({ events: deps.bus.since(since(req.query.get('since'))), lastSeq: deps.bus.lastSeq }));
}
