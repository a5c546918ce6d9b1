/** The gate's MQTT subtree (DESIGN §4); every topic the gate uses is built here and nowhere else. */
export interface GateIdentity {
  site: string;
  gate: string;
}

export interface GateTopics {
  root: string;
  availability: string;
  state: string;
  events: string;
  cmd: string;
  cmdResult: string;
  credentials: string;
  /** Gate → cloud: "send me the full credential set" (after a version gap, or on request). */
  credentialsSync: string;
  /**
   * Cloud → gate, retained: the site root's revocation list and the recovery key's root rotation. Each has
   * its own topic beside `credentials` because a topic retains one message, and the retained full
   * credential set must not displace them (nor they it).
   */
  revocations: string;
  rootRotation: string;
}

export function gateTopics({ site, gate }: GateIdentity): GateTopics {
  const root = `postern/v1/${site}/${gate}`;
  return {
    root,
    availability: `${root}/availability`,
    state: `${root}/state`,
    events: `${root}/events`,
    cmd: `${root}/cmd`,
    cmdResult: `${root}/cmd/res`,
    credentials: `${root}/credentials`,
    credentialsSync: `${root}/credentials/sync`,
    revocations: `${root}/credentials/revocations`,
    rootRotation: `${root}/credentials/root`,
  };
}
