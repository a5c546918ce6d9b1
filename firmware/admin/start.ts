import { join } from 'node:path';
import type { AccessConfig } from '../access/config';
import { CredentialSync } from '../access/credential-sync';
import { policyFromConfig } from '../access/policy';
import { ResidentRegistry } from '../access/residents';
import { AccessService } from '../access/service';
import type { AuditConfig } from '../audit/config';
import { AuditLog } from '../audit/log';
import type { ConsentConfig } from '../consent/config';
import { ConsentLedger } from '../consent/ledger';
import type { DoorPort } from '../door/port';
import type { EventBus } from '../events/bus';
import type { MethodHealth } from '../health';
import type { GateKeys } from '../keys/key-files';
import type { Logger } from '../log';
import { GateStore } from '../store/store';
import { registerCoreRoutes } from './routes';
import { AdminApi } from './router';
import { listenOnSocket } from './socket-server';

export interface StartPrivacyCoreOptions {
  access: AccessConfig;
  consent: ConsentConfig;
  audit: AuditConfig;
  /** The store files go here, the audit log in `<dataDir>/audit`. */
  dataDir: string;
  /** Where the admin API listens (mode 0660). */
  adminSocket: string;
  keys: GateKeys;
  bus: EventBus;
  door: DoorPort;
  health: MethodHealth;
  log: Logger;
  gate: { site: string; id: string };
  nextTap?: (timeoutMs: number) => Promise<string>;
  now?: () => Date;
}

export interface PrivacyCore {
  store: GateStore;
  access: AccessService;
  ledger: ConsentLedger;
  registry: ResidentRegistry;
  credentials: CredentialSync;
  audit: AuditLog;
  /** Mount `admin.handle` on the bench under /api/admin/; other modules add routes with `admin.route`. */
  admin: AdminApi;
  stop(): Promise<void>;
}

/** Event types the audit log records: decisions, local and remote admin actions, consent, credentials and the door. */
const AUDITED = ['access.', 'resident.', 'card.enrolled', 'card.unenrolled', 'card.issued', 'card.rekeyed', 'consent.', 'face.enrolled', 'face.deleted', 'credentials.', 'door.', 'gate.', 'remote.'];

export const isAudited = (type: string): boolean => AUDITED.some((p) => type.startsWith(p));

/**
 * Builds the store, audit log, consent ledger, access service and admin API, and serves the admin socket.
 * Opening the store or the audit log fails loudly (never by starting empty over existing data).
 */
export async function startPrivacyCore(o: StartPrivacyCoreOptions): Promise<PrivacyCore> {
  const now = o.now ?? (() => new Date());
  const auditDir = join(o.dataDir, 'audit');
  const store = GateStore.open({ dir: o.dataDir, templateKey: o.keys.templateKey, now });
  const audit = AuditLog.open({ dir: auditDir, maxSegmentBytes: o.audit.maxSegmentBytes, maxSegments: o.audit.maxSegments, now });
  const detachAudit = audit.attach(
    o.bus,
    isAudited,
    (err, event) => o.log.error({ err, eventType: event.type, eventSeq: event.seq }, 'audit log append failed'),
  );
  const ledger = new ConsentLedger({ store, bus: o.bus, signingSecretKey: o.keys.signingSecretKey, retentionDays: o.consent.retentionDays, now });
  const registry = new ResidentRegistry({ store, ledger, bus: o.bus, siteKey: o.keys.siteKey });
  const access = new AccessService({ store, door: o.door, bus: o.bus, policy: policyFromConfig(o.access), now });
  const credentials = new CredentialSync(store, o.bus);

  const admin = new AdminApi((err, method, path) => o.log.error({ err, method, path }, 'admin request failed'));
  registerCoreRoutes(admin, {
    store,
    registry,
    ledger,
    bus: o.bus,
    door: o.door,
    health: o.health,
    auditDir,
    gate: { ...o.gate, publicKey: Buffer.from(o.keys.signingPublicKey).toString('base64') },
    ...(o.nextTap ? { nextTap: o.nextTap } : {}),
    now,
  });
  const stopSweep = ledger.startRetentionSweep(o.consent.sweepIntervalMinutes * 60_000, (err) => o.log.error({ err }, 'retention sweep failed'));
  const socket = await listenOnSocket(o.adminSocket, admin.handle);

  return {
    store,
    access,
    ledger,
    registry,
    credentials,
    audit,
    admin,
    async stop() {
      await socket.close();
      stopSweep();
      detachAudit();
      audit.close();
      store.close();
    },
  };
}
