import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import type { EventBus, GateEvent } from '../events/bus';
import type { MethodHealth } from '../health';
import type { Logger } from '../log';
import { signerRecord, type AuthorityContext, type Signer } from './authority';
import { verifyCommand, type RejectReason } from './commands';
import type { CloudConfig } from './config';
import { decideCredentialUpdate, verifyCredentialMessage } from './credentials';
import { dispatchCommand, type CommandOutcome } from './dispatch';
import { sign } from './envelope';
import { eventPayload } from './event-payload';
import { discoveryMessages } from './homeassistant';
import { Outbox, type OutboxEntry } from './outbox';
import { ReplayCache } from './replay-cache';
import type { CommandTargets } from './targets';
import { gateTopics, type GateIdentity, type GateTopics } from './topics';
import { TrustStore } from './trust-store';

function readConfigFile(key: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`${key} ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}

export interface CloudLinkDeps {
  config: CloudConfig;
  identity: GateIdentity;
  /** Where the outbox, the replay cache and the trust state live; only the daemon writes here. */
  dataDir: string;
  bus: EventBus;
  health: MethodHealth;
  logger: Logger;
  /** The gate's tweetnacl Ed25519 secret key (64 bytes): signs every `cmd/res`. */
  gateSigningKey: Uint8Array;
  targets: CommandTargets;
  now?: () => number;
}

/**
 * The gate's one connection to the cloud (DESIGN §4). Everything it receives is verified before it can
 * touch the gate; everything it sends is an event from the outbox, the retained state, or a signed answer.
 */
export class CloudLink {
  private readonly topics: GateTopics;
  private readonly trustedKeys: ReadonlySet<string>;
  private readonly now: () => number;
  private readonly log: Logger;
  private outbox?: Outbox;
  private replay?: ReplayCache;
  private trust?: TrustStore;
  private client?: MqttClient;
  private inflight?: OutboxEntry;
  private lastState = '';
  private work: Promise<void> = Promise.resolve();
  private stopping = false;
  private readonly unsubscribers: Array<() => void> = [];

  constructor(private readonly deps: CloudLinkDeps) {
    this.topics = gateTopics(deps.identity);
    this.trustedKeys = new Set(deps.config.operatorKeys);
    this.now = deps.now ?? Date.now;
    this.log = deps.logger.child({ module: 'cloud' });
  }

  /** Opens the outbox, replay cache and trust state and starts connecting; the gate does not wait for the broker. */
  start(): void {
    const { config, identity, bus, health } = this.deps;
    this.outbox = new Outbox(this.deps.dataDir);
    this.replay = new ReplayCache(this.deps.dataDir, config.skewSeconds * 1000);
    this.trust = new TrustStore(this.deps.dataDir);
    const rotated = this.trust.current.rotation;
    if (rotated && config.siteRoot && rotated.root !== config.siteRoot && rotated.previousRoot !== config.siteRoot) {
      this.log.warn({ configured: config.siteRoot, trusted: rotated.root }, 'cloud.siteRoot predates an accepted root rotation; the rotated root is the one trusted');
    }
    // Events from this run that came before the link started (boot, relock) still go out, in order.
    for (const event of bus.since(0)) this.enqueue(event);
    this.unsubscribers.push(bus.subscribe((event) => this.onEvent(event)));
    this.unsubscribers.push(health.onChange(() => this.publishState(false)));
    health.set('cloud', 'degraded', 'connecting');

    const username = config.username || `${identity.site}/${identity.gate}`;
    const options: IClientOptions = {
      protocolVersion: 5,
      // The shipped broker replaces every client id with the login (use_username_as_clientid), so that one
      // gate's login cannot take over another gate's session; asking for the same id keeps the broker's log and ours in step.
      clientId: config.clientId || username,
      username,
      clean: true,
      resubscribe: false,
      keepalive: config.keepaliveSeconds,
      reconnectPeriod: config.reconnectSeconds * 1000,
      connectTimeout: 10_000,
      will: { topic: this.topics.availability, payload: Buffer.from('offline'), qos: 1, retain: true },
      // Larger messages are dropped by the broker; between the config limit and this they arrive and are rejected with an event.
      properties: { maximumPacketSize: config.maxPayloadBytes * 4 + 1024 },
    };
    if (config.passwordFile) options.password = readConfigFile('cloud.passwordFile', config.passwordFile).toString('utf8').split('\n')[0]!.trim();
    if (config.caFile) options.ca = readConfigFile('cloud.caFile', config.caFile);
    const client = mqtt.connect(config.url, options);
    this.client = client;
    client.on('connect', () => this.onConnect());
    client.on('close', () => {
      if (!this.stopping) health.set('cloud', 'degraded', 'broker unreachable');
    });
    client.on('error', (err) => this.log.warn({ err: err.message }, 'mqtt error'));
    client.on('message', (topic, payload, packet) => {
      this.work = this.work.then(() => this.onMessage(topic, payload, packet)).catch((err: Error) => this.log.error({ err: err.message }, 'message handling failed'));
    });
  }

  /** Waits briefly for the event in flight so a clean stop does not publish it twice, then says offline. */
  async stop(): Promise<void> {
    for (const off of this.unsubscribers.splice(0)) off();
    const client = this.client;
    if (client) {
      const deadline = Date.now() + 2000;
      while (this.inflight && client.connected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      this.stopping = true;
      await this.work;
      if (client.connected) await client.publishAsync(this.topics.availability, 'offline', { qos: 1, retain: true }).catch(() => undefined);
      await client.endAsync(true);
    }
    this.stopping = true;
    this.outbox?.close();
  }

  get pendingEvents(): number {
    return this.outbox?.pending ?? 0;
  }

  private onConnect(): void {
    const client = this.client!;
    const { config, identity, health } = this.deps;
    // Without this, Nagle's algorithm holds each small answer back until the broker's delayed ACK (~40 ms).
    (client.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
    health.set('cloud', 'ok');
    this.log.info({ broker: config.url, clientId: client.options.clientId }, 'connected to broker');
    client.publish(this.topics.availability, 'online', { qos: 1, retain: true });
    // Retain-as-published keeps the retain flag visible so retained commands can be refused (red line 6).
    const subscription = { qos: 1, rap: true, rh: 0 } as const;
    // Retained messages come in this order: a rotation first, so that a revocation list or credential set
    // signed under the new root is judged against it by a gate that was offline through both.
    const filters = [this.topics.rootRotation, this.topics.revocations, this.topics.credentials, this.topics.cmd];
    client.subscribe(Object.fromEntries(filters.map((f) => [f, subscription])), (err, granted) => {
      const refused = granted?.filter((g) => g.qos > 2) ?? [];
      if (err || refused.length > 0) this.log.error({ err: err?.message, refused: refused.map((g) => g.topic) }, 'broker refused our subscriptions');
    });
    if (config.homeAssistant.enabled) {
      for (const m of discoveryMessages(identity, this.topics, config.homeAssistant.prefix, config.homeAssistant.commandTopicRoot)) {
        client.publish(m.topic, m.payload, { qos: 1, retain: true });
      }
    }
    this.publishState(true);
    this.pump();
  }

  private onEvent(event: GateEvent): void {
    this.enqueue(event);
    this.publishState(false);
  }

  private enqueue(event: GateEvent): void {
    try {
      this.outbox!.append(eventPayload(event, this.deps.identity));
    } catch (err) {
      this.log.error({ err: (err as Error).message, eventId: event.id }, 'could not queue event for the cloud');
      this.deps.health.set('cloud', 'degraded', 'outbox write failed');
      return;
    }
    this.pump();
  }

  /** One event in flight at a time: order is kept and the cursor moves only on PUBACK. */
  private pump(): void {
    const client = this.client;
    if (!client?.connected || this.inflight || this.stopping) return;
    const entry = this.outbox!.peek();
    if (!entry) return;
    this.inflight = entry;
    client.publish(this.topics.events, entry.payload, { qos: 1 }, (err) => {
      this.inflight = undefined;
      if (err) {
        this.log.warn({ err: err.message }, 'event not acknowledged; will retry');
        setTimeout(() => this.pump(), this.deps.config.reconnectSeconds * 1000).unref();
        return;
      }
      this.outbox!.ack(entry);
      this.pump();
    });
  }

  private stateBody(): Record<string, unknown> {
    const { targets } = this.deps;
    return { ...targets.status(), credentialsVersion: targets.credentials?.version() ?? null };
  }

  private publishState(force: boolean): void {
    const client = this.client;
    if (!client?.connected || this.stopping) return;
    const state = this.stateBody();
    const body = JSON.stringify(state);
    if (!force && body === this.lastState) return;
    this.lastState = body;
    client.publish(this.topics.state, JSON.stringify({ ...state, ts: new Date(this.now()).toISOString() }), { qos: 1, retain: true });
  }

  private requestResync(reason: 'requested' | 'version-gap'): void {
    const version = this.deps.targets.credentials?.version() ?? 0;
    this.deps.bus.emit({ type: 'credentials.resync-requested', reason, data: { version } });
    this.client?.publish(this.topics.credentialsSync, JSON.stringify({ site: this.deps.identity.site, gate: this.deps.identity.gate, version, reason, ts: new Date(this.now()).toISOString() }), { qos: 1 });
  }

  private async onMessage(topic: string, payload: Buffer, packet: IPublishPacket): Promise<void> {
    if (this.stopping) return;
    if (topic === this.topics.cmd) await this.onCommand(payload, packet);
    // An empty message only deletes a retained one at the broker: nothing to apply.
    else if (payload.length === 0) return;
    else if (topic === this.topics.credentials) await this.onCredentials(payload);
    else if (topic === this.topics.revocations) this.deps.bus.emit(this.trust!.receiveRevocationList(payload, this.trustContext()));
    else if (topic === this.topics.rootRotation) this.deps.bus.emit(this.trust!.receiveRootRotation(payload, this.trustContext()));
  }

  private trustContext() {
    const { config, identity } = this.deps;
    return { configRoot: config.siteRoot, recoveryKey: config.siteRecovery, identity, maxBytes: config.maxPayloadBytes, nowMs: this.now() };
  }

  /** What every verification needs to know of whom the gate trusts at `nowMs`. */
  private authority(nowMs: number): AuthorityContext {
    const { config, identity } = this.deps;
    return { trustedKeys: this.trustedKeys, roots: this.trust!.roots(config.siteRoot, nowMs), revoked: this.trust!, identity, nowMs, skewMs: config.skewSeconds * 1000, maxBytes: config.maxPayloadBytes };
  }

  private async onCommand(payload: Buffer, packet: IPublishPacket): Promise<void> {
    const { bus, targets } = this.deps;
    const correlation = packet.properties?.correlationData;
    if (packet.retain) {
      this.reject({ reason: 'retained', detail: 'retained command messages are never acted on' }, correlation);
      return;
    }
    const nowMs = this.now();
    const verdict = verifyCommand(payload, { ...this.authority(nowMs), replay: this.replay! });
    if (!verdict.ok) {
      this.reject(verdict, correlation);
      return;
    }
    const { command } = verdict;
    // Which certificate (serial, scopes) or listed key authorised it, and whom it concerned: for the audit log and `postern export`.
    const about = { nonce: command.nonce, ...signerRecord(command.signer), ...('residentId' in command.args ? { residentId: command.args.residentId } : {}) };
    try {
      this.replay!.record(command.nonce, command.expiresAt, nowMs);
    } catch (err) {
      // A nonce that cannot be remembered could be replayed after a restart: refuse rather than act.
      this.log.error({ err: (err as Error).message }, 'replay cache write failed');
      this.deps.bus.emit({ type: 'remote.failed', reason: command.cmd, data: { ...about, error: 'replay-cache-unwritable' } });
      this.respond({ nonce: command.nonce, cmd: command.cmd, ok: false, reason: 'failed', detail: 'the gate cannot record the nonce; nothing was done' }, correlation);
      return;
    }
    let outcome: CommandOutcome;
    try {
      outcome = await dispatchCommand(command, targets, { requestResync: (r) => this.requestResync(r), republishState: () => this.publishState(true) });
    } catch (err) {
      outcome = { ok: false, reason: 'failed', detail: (err as Error).message };
    }
    bus.emit({
      type: outcome.ok ? 'remote.command' : 'remote.failed',
      reason: command.cmd,
      data: { ...about, ...(outcome.ok ? {} : { error: outcome.reason, detail: outcome.detail }) },
    });
    this.respond({ nonce: command.nonce, cmd: command.cmd, ...outcome }, correlation);
  }

  private reject(r: { reason: RejectReason; detail: string; nonce?: string; cmd?: string; signer?: Signer }, correlation: Buffer | undefined): void {
    this.log.warn({ reason: r.reason, detail: r.detail, nonce: r.nonce }, 'remote command rejected');
    const about = { ...(r.nonce ? { nonce: r.nonce } : {}), ...(r.cmd ? { cmd: r.cmd } : {}), ...(r.signer ? signerRecord(r.signer) : {}) };
    this.deps.bus.emit({ type: 'remote.rejected', reason: r.reason, data: { detail: r.detail, ...about } });
    this.respond({ nonce: r.nonce ?? null, cmd: r.cmd ?? null, ok: false, reason: r.reason, detail: r.detail }, correlation);
  }

  /** Answers on `cmd/res`, signed by the gate, echoing the request's MQTT 5 correlation data. */
  private respond(answer: Record<string, unknown>, correlation: Buffer | undefined): void {
    const { identity, gateSigningKey } = this.deps;
    const envelope = sign('result', { kind: 'result', site: identity.site, gate: identity.gate, ts: new Date(this.now()).toISOString(), ...answer }, gateSigningKey);
    this.client?.publish(this.topics.cmdResult, JSON.stringify(envelope), { qos: 1, ...(correlation ? { properties: { correlationData: correlation } } : {}) });
  }

  private async onCredentials(payload: Buffer): Promise<void> {
    const { bus, targets } = this.deps;
    const verdict = verifyCredentialMessage(payload, this.authority(this.now()));
    if (!verdict.ok) {
      this.log.warn({ reason: verdict.reason, detail: verdict.detail }, 'credential message rejected');
      bus.emit({ type: 'credentials.rejected', reason: verdict.reason, data: { detail: verdict.detail, ...(verdict.signer ? signerRecord(verdict.signer) : {}) } });
      return;
    }
    const signer = signerRecord(verdict.signer);
    const store = targets.credentials;
    if (!store) {
      bus.emit({ type: 'credentials.rejected', reason: 'unsupported', data: { detail: 'this gate has no resident store wired' } });
      return;
    }
    const decision = decideCredentialUpdate(verdict.message, store.version());
    switch (decision.action) {
      case 'apply-delta':
      case 'replace-all':
        try {
          await (decision.action === 'apply-delta' ? store.applyDelta(decision.delta, signer) : store.replaceAll(decision.set, signer));
        } catch (err) {
          // The store refused it whole (its writes are atomic): the old set stays, the cloud hears why.
          bus.emit({ type: 'credentials.rejected', reason: 'apply-failed', data: { detail: (err as Error).message } });
        }
        break;
      case 'ignore':
        bus.emit({ type: 'credentials.ignored', reason: decision.reason, data: { version: store.version() } });
        break;
      case 'resync':
        this.requestResync('version-gap');
        break;
    }
  }
}
