import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import nacl from 'tweetnacl';
import { openGateGpio, type GateGpio } from '../../drivers/gpio';
import { CredentialSync } from '../../firmware/access/credential-sync';
import { ResidentRegistry } from '../../firmware/access/residents';
import { isAudited } from '../../firmware/admin/start';
import { AuditLog } from '../../firmware/audit/log';
import { parseCloudConfig } from '../../firmware/cloud/config';
import { CloudLink } from '../../firmware/cloud/link';
import type { CommandTargets } from '../../firmware/cloud/targets';
import { parseConfig } from '../../firmware/config/load';
import { ConsentLedger } from '../../firmware/consent/ledger';
import { DoorController, relayActiveFor } from '../../firmware/door/controller';
import { EventBus } from '../../firmware/events/bus';
import { MethodHealth } from '../../firmware/health';
import { createLogger } from '../../firmware/log';
import { GateStore } from '../../firmware/store/store';

/**
 * A gate in this process: the real cloud link with the real store, credential sync, consent ledger,
 * audit log and door controller on simulated GPIO, as the daemon wires them. The link can be stopped
 * and started again on the same data, as a gate that goes offline and comes back.
 */
export interface CloudGate {
  bus: EventBus;
  store: GateStore;
  ledger: ConsentLedger;
  door: DoorController;
  health: MethodHealth;
  gateKey: nacl.SignKeyPair;
  dir: string;
  auditDir: string;
  /** The running link (the latest startLink's). */
  readonly link: CloudLink;
  /** A new link on the same data directory (the old one must be stopped). */
  startLink(): CloudLink;
  stop(): Promise<void>;
}

export function startCloudGate(o: { brokerUrl: string; gate: { site: string; gate: string }; password: string; dir: string; cloud?: Record<string, unknown> }): CloudGate {
  const bus = new EventBus();
  const gateKey = nacl.sign.keyPair();
  const gateConfig = parseConfig({});
  const gpio: GateGpio = openGateGpio(gateConfig.gpio, 'sim', relayActiveFor('locked', 'fail-secure'));
  const door = new DoorController({ relay: gpio.relay }, {}, { ...gateConfig.door, pulseMs: 600 }, 'fail-secure', bus);
  const store = GateStore.open({ dir: join(o.dir, 'store'), templateKey: nacl.randomBytes(32) });
  const ledger = new ConsentLedger({ store, bus, signingSecretKey: gateKey.secretKey, retentionDays: 365 });
  const credentials = new CredentialSync(store, bus);
  const registry = new ResidentRegistry({ store, ledger, bus, siteKey: nacl.randomBytes(32) });
  const health = new MethodHealth();
  const auditDir = join(o.dir, 'audit');
  const audit = AuditLog.open({ dir: auditDir, maxSegmentBytes: 1 << 20, maxSegments: 4 });
  const detachAudit = audit.attach(bus, isAudited, (err) => {
    throw err;
  });
  const passwordFile = join(o.dir, 'gate.pass');
  writeFileSync(passwordFile, `${o.password}\n`, { mode: 0o600 });
  const config = parseCloudConfig({ url: o.brokerUrl, passwordFile, reconnectSeconds: 0.2, ...o.cloud });
  // As firmware/daemon.ts wires them.
  const targets: CommandTargets = {
    door,
    status: () => ({ door: door.snapshot(), alarms: door.snapshot().alarms, methods: health.snapshot() }),
    credentials,
    revokeResident: (id) => registry.revoke(id).receipt,
    withdrawConsent: (id) => ledger.withdraw(id),
  };
  let link: CloudLink;
  const startLink = () => {
    link = new CloudLink({ config, identity: o.gate, dataDir: join(o.dir, 'cloud'), bus, health, logger: createLogger('silent'), gateSigningKey: gateKey.secretKey, targets });
    link.start();
    return link;
  };
  startLink();
  return {
    bus,
    store,
    ledger,
    door,
    health,
    gateKey,
    dir: o.dir,
    auditDir,
    get link() {
      return link;
    },
    startLink,
    async stop() {
      await link.stop();
      door.stop();
      detachAudit();
      audit.close();
      store.close();
    },
  };
}
