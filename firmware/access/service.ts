import type { DoorPort } from '../door/port';
import type { EventBus } from '../events/bus';
import type { Resident } from '../store/records';
import type { GateStore } from '../store/store';
import { countsAsFailure, decide, rateLimitKey, type CardProof, type Decision, type Presented } from './decide';
import type { AccessPolicy } from './policy';
import { emptyRateLimitState, recordFailure, recordSuccess, type RateLimitState } from './rate-limit';

export interface AccessServiceDeps {
  store: GateStore;
  door: DoorPort;
  bus: EventBus;
  policy: AccessPolicy;
  now?: () => Date;
}

/** A face match from the vision pipeline: who, and how close (the pipeline has already applied its threshold). */
export interface FaceMatch {
  residentId: string;
  score: number;
}

/**
 * Where credentials meet the door: the card reader and the vision pipeline hand what they saw here, the
 * pure decision says yes or no, and the outcome goes to the door and (as an event) to the audit log,
 * the bench and the cloud. Only hashed card ids and pseudonymous resident ids appear in events.
 */
export class AccessService {
  private rateLimit: RateLimitState = emptyRateLimitState;
  private readonly now: () => Date;

  constructor(private readonly deps: AccessServiceDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  /** `failure` says why a failed proof failed (wrong-key, torn…); every card decision says which proof it had. */
  presentCard(cardHash: string, proof: CardProof = 'uid', failure?: string): Decision {
    return this.present({ method: 'card', cardHash, proof }, this.deps.store.residentByCard(cardHash), {
      credential: cardHash,
      proof,
      ...(failure ? { failure } : {}),
    });
  }

  presentFace(match: FaceMatch): Decision {
    const decision = this.present({ method: 'face', residentId: match.residentId }, this.deps.store.getResident(match.residentId), {
      score: match.score,
    });
    if (decision.grant) this.deps.store.markFaceUsed(match.residentId);
    return decision;
  }

  private present(presented: Presented, resident: Resident | undefined, extra: Record<string, unknown>): Decision {
    const now = this.now();
    const key = rateLimitKey(presented);
    let decision = decide({
      policy: this.deps.policy,
      presented,
      resident,
      now,
      doorMode: this.deps.door.snapshot().mode,
      rateLimit: this.rateLimit,
    });
    // The door has the last word: it refuses in lockdown even if the mode changed since the snapshot.
    if (decision.grant && !this.deps.door.grant(presented.method)) {
      decision = { grant: false, method: decision.method, reason: 'lockdown', residentId: decision.residentId };
    }
    if (decision.grant) {
      this.rateLimit = recordSuccess(this.rateLimit, key);
      this.deps.bus.emit({ type: 'access.granted', reason: decision.method, data: { method: decision.method, residentId: decision.residentId, ...extra } });
    } else {
      if (countsAsFailure(decision.reason)) this.rateLimit = recordFailure(this.rateLimit, this.deps.policy.rateLimit, key, now.getTime());
      this.deps.bus.emit({
        type: 'access.denied',
        reason: decision.reason,
        data: { method: decision.method, ...(decision.residentId ? { residentId: decision.residentId } : {}), ...extra },
      });
    }
    return decision;
  }
}
