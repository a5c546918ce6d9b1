import type { AccessConfig, AccessMethod } from './config';
import type { RateLimitPolicy } from './rate-limit';

/** The gate policy the decision functions read, derived once from the validated config. */
export interface AccessPolicy {
  methods: ReadonlySet<AccessMethod>;
  rateLimit: RateLimitPolicy;
}

export function policyFromConfig(config: AccessConfig): AccessPolicy {
  return {
    methods: new Set(config.methods),
    rateLimit: {
      maxFailuresPerCredential: config.rateLimit.perCredential.maxFailures,
      credentialWindowMs: config.rateLimit.perCredential.windowSeconds * 1000,
      maxFailuresPerGate: config.rateLimit.perGate.maxFailures,
      gateWindowMs: config.rateLimit.perGate.windowSeconds * 1000,
    },
  };
}
