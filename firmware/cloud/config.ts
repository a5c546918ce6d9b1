import { z } from 'zod';

const ED25519_BASE64 = /^[A-Za-z0-9+/]{43}=$/;

export const base64Key = z.string().refine((s) => ED25519_BASE64.test(s), {
  error: 'must be an Ed25519 public key (32 bytes of base64, 44 characters)',
});

const optionalKey = z
  .string()
  .refine((s) => s === '' || ED25519_BASE64.test(s), { error: 'must be an Ed25519 public key (32 bytes of base64, 44 characters), or empty' })
  .default('');

export const cloudConfigSchema = z
  .object({
    /** Empty = no cloud link at all; the gate works fully offline (red line 1). */
    url: z
      .string()
      .refine((s) => s === '' || /^(mqtt|mqtts|tcp|tls|ssl):\/\/[^/\s]+/.test(s), {
        error: 'must be mqtt://host:port or mqtts://host:port (or empty for no cloud link)',
      })
      .default(''),
    /** Defaults to the login (`username`): the shipped broker binds client ids to logins (scripts/mosquitto/mosquitto.conf). */
    clientId: z.string().max(128, { error: 'must be at most 128 characters' }).default(''),
    /** Per-gate broker login; empty = `<gate.site>/<gate.id>`, which the production ACL (scripts/mosquitto/acl) expects. */
    username: z.string().default(''),
    /** File holding the broker password on its first line (kept out of the config so the config can be shared). */
    passwordFile: z.string().default(''),
    /** CA bundle for mqtts:// when the broker's certificate is not signed by a public CA. */
    caFile: z.string().default(''),
    /** Ed25519 public keys (base64) whose signatures the gate accepts on `cmd` and `credentials`. */
    operatorKeys: z.array(base64Key).default([]),
    /** The site root's Ed25519 public key (base64): keys it certifies may sign what their certificate allows (docs/PROTOCOL.md §2a). Empty = none. */
    siteRoot: optionalKey,
    /** The site's offline recovery public key: the only key that may rotate the site root (§7a). Empty = the root cannot be rotated remotely. */
    siteRecovery: optionalKey,
    homeAssistant: z
      .object({
        enabled: z.boolean({ error: 'must be true or false' }).default(false),
        prefix: z.string().regex(/^[A-Za-z0-9_-]+$/, { error: 'must be one topic level of A-Z a-z 0-9 _ -' }).default('homeassistant'),
        /** Where the operator's bridge (scripts/cli/remote.ts `ha-bridge`) listens for HA lock commands; the gate never reads it. */
        commandTopicRoot: z.string().regex(/^[A-Za-z0-9_/-]+$/, { error: 'must be a plain topic of A-Z a-z 0-9 _ - / (no wildcards)' }).default('postern-ha/v1'),
      })
      .strict()
      .prefault({}),
    maxPayloadBytes: z
      .number()
      .int()
      .min(512, { error: 'must be at least 512' })
      .max(1048576, { error: 'must be at most 1048576' })
      .default(65536),
    /** Clock difference tolerated between operator and gate when checking issued-at and expiry. */
    skewSeconds: z.number().int().min(0, { error: 'must be between 0 and 300' }).max(300, { error: 'must be between 0 and 300' }).default(30),
    keepaliveSeconds: z.number().int().min(5).max(600).default(30),
    reconnectSeconds: z.number().min(0.1).max(300).default(2),
  })
  .strict()
  .prefault({});

export type CloudConfig = z.infer<typeof cloudConfigSchema>;

/** For callers outside the gate's config loader (tests, tools): one line per problem, naming the key. */
export function parseCloudConfig(input: unknown): CloudConfig {
  const result = cloudConfigSchema.safeParse(input);
  if (!result.success) {
    throw new Error(`invalid cloud config:\n${result.error.issues.map((i) => `cloud.${i.path.join('.')}: ${i.message}`).join('\n')}`);
  }
  return result.data;
}
