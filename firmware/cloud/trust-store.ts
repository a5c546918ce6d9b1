import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { EventInput } from '../events/bus';
import { writeFileAtomic } from '../store/atomic-file';
import type { RevocationView } from './certificates';
import { base64Key } from './config';
import type { GateIdentity } from './topics';
import { decideRevocationList, decideRootRotation, EMPTY_TRUST, trustedRoots, verifyRevocationList, verifyRootRotation, type TrustState } from './trust';

const count = z.number().int().nonnegative();
const trustFile = z
  .object({
    rotation: z.object({ version: count, root: base64Key, previousRoot: base64Key, overlapUntil: count }).strict().nullable(),
    revocations: z.object({ version: count, serials: z.array(count), signer: base64Key }).strict().nullable(),
  })
  .strict();

export interface TrustMessageContext {
  /** `cloud.siteRoot`: the root before any rotation. */
  configRoot: string;
  /** `cloud.siteRecovery`. */
  recoveryKey: string;
  identity: GateIdentity;
  maxBytes: number;
  nowMs: number;
}

/**
 * The gate's accepted revocation list and root rotation, in `<dir>/trust.json`, replaced atomically (a
 * kill -9 leaves the old state or the new one) before the gate acts on it. An unreadable file stops the
 * link from starting rather than forgetting revocations.
 */
export class TrustStore implements RevocationView {
  private readonly path: string;
  private state: TrustState;
  private revoked: ReadonlySet<number>;

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.path = join(dir, 'trust.json');
    this.state = existsSync(this.path) ? this.load() : EMPTY_TRUST;
    this.revoked = new Set(this.state.revocations?.serials ?? []);
  }

  get current(): TrustState {
    return this.state;
  }

  has(serial: number): boolean {
    return this.revoked.has(serial);
  }

  roots(configRoot: string, nowMs: number): Set<string> {
    return trustedRoots(configRoot, this.state.rotation, nowMs);
  }

  /** A revocation list off the wire: verified, compared with the one held, stored; the event says which. */
  receiveRevocationList(raw: Uint8Array | string, ctx: TrustMessageContext): EventInput {
    const roots = this.roots(ctx.configRoot, ctx.nowMs);
    const verdict = verifyRevocationList(raw, { roots, identity: ctx.identity, maxBytes: ctx.maxBytes });
    if (!verdict.ok) return rejected('revocation-list', verdict.reason, verdict.detail);
    const { list, signer } = verdict;
    const decision = decideRevocationList(list, this.state.revocations, roots);
    if (decision.action === 'ignore') return ignored('revocation-list', list.version, this.state.revocations?.version ?? 0);
    return this.commit({ ...this.state, revocations: { version: list.version, serials: [...new Set(list.serials)].sort((a, b) => a - b), signer } }, () => ({
      type: 'credentials.revocations',
      reason: 'applied',
      data: { version: list.version, revokedCount: new Set(list.serials).size },
    }));
  }

  /** A root rotation off the wire: only the pinned recovery key's signature counts. */
  receiveRootRotation(raw: Uint8Array | string, ctx: TrustMessageContext): EventInput {
    const verdict = verifyRootRotation(raw, { recoveryKey: ctx.recoveryKey, identity: ctx.identity, maxBytes: ctx.maxBytes });
    if (!verdict.ok) return rejected('root-rotation', verdict.reason, verdict.detail);
    const { rotation } = verdict;
    if (decideRootRotation(rotation, this.state.rotation).action === 'ignore') return ignored('root-rotation', rotation.version, this.state.rotation?.version ?? 0);
    const next = { version: rotation.version, root: rotation.newRoot, previousRoot: rotation.previousRoot, overlapUntil: rotation.overlapUntil };
    return this.commit({ ...this.state, rotation: next }, () => ({
      type: 'credentials.root-rotated',
      reason: 'applied',
      data: { version: next.version, root: next.root, previousRoot: next.previousRoot, overlapUntil: new Date(next.overlapUntil).toISOString() },
    }));
  }

  private commit(next: TrustState, describe: () => EventInput): EventInput {
    try {
      writeFileAtomic(this.path, JSON.stringify(next));
    } catch (err) {
      return { type: 'credentials.rejected', reason: 'apply-failed', data: { detail: `cannot store ${this.path}: ${(err as Error).message}` } };
    }
    this.state = next;
    this.revoked = new Set(next.revocations?.serials ?? []);
    return describe();
  }

  private load(): TrustState {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(this.path, 'utf8'));
    } catch {
      throw new Error(`trust state ${this.path} is not valid JSON; refusing to start without knowing the revocation list and site root`);
    }
    const checked = trustFile.safeParse(parsed);
    if (!checked.success) {
      const issue = checked.error.issues[0];
      throw new Error(`trust state ${this.path}: field "${issue?.path.join('.') ?? ''}" ${issue?.message ?? 'is invalid'}; refusing to start without knowing the revocation list and site root`);
    }
    return checked.data;
  }
}

function rejected(kind: string, reason: string, detail: string): EventInput {
  return { type: 'credentials.rejected', reason, data: { kind, detail } };
}

function ignored(kind: string, version: number, held: number): EventInput {
  return { type: 'credentials.ignored', reason: 'already-applied', data: { kind, version, held } };
}
