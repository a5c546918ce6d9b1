import { z } from 'zod';
import { openAuthorised, signerPermits, signerStanding, type AuthorityContext, type Signer } from './authority';
import { COMMAND_SCOPE } from './scopes';
import type { GateIdentity } from './topics';

/** Red line 6: no command may be valid for longer than this after it was issued. */
export const MAX_VALIDITY_MS = 60_000;

const residentArgs = z.object({ residentId: z.string().min(1).max(128) }).strict();
const noArgs = z.object({}).strict();

/** Every command the gate accepts and the shape of its arguments. */
export const COMMAND_ARGS = {
  open: noArgs,
  'hold-unlocked': noArgs,
  relock: noArgs,
  lockdown: z.object({ on: z.boolean() }).strict(),
  'revoke-resident': residentArgs,
  'withdraw-consent': residentArgs,
  sync: noArgs,
  status: noArgs,
} as const;

export type CommandName = keyof typeof COMMAND_ARGS;
export type CommandArgs<N extends CommandName> = z.infer<(typeof COMMAND_ARGS)[N]>;
export const COMMAND_NAMES = Object.keys(COMMAND_ARGS) as CommandName[];

export type VerifiedCommand = {
  [N in CommandName]: { cmd: N; args: CommandArgs<N>; nonce: string; issuedAt: number; expiresAt: number; key: string; signer: Signer };
}[CommandName];

export type RejectReason =
  | 'oversized'
  | 'malformed'
  | 'unknown-key'
  | 'bad-signature'
  | 'untrusted-root'
  | 'cert-revoked'
  | 'cert-not-yet-valid'
  | 'cert-expired'
  | 'out-of-scope'
  | 'wrong-site'
  | 'wrong-gate'
  | 'not-yet-valid'
  | 'expired'
  | 'expiry-too-far'
  | 'unknown-command'
  | 'replayed'
  | 'retained';

export type Verdict = { ok: true; command: VerifiedCommand } | { ok: false; reason: RejectReason; detail: string; nonce?: string; cmd?: string; signer?: Signer };

/** What the verifier may know of the replay cache: only whether a nonce was already accepted. */
export interface ReplayView {
  has(nonce: string): boolean;
}

export interface VerifyContext extends AuthorityContext {
  replay: ReplayView;
}

export const NONCE_PATTERN = /^[A-Za-z0-9_-]{16,64}$/;

const commandBody = z.object({
  kind: z.literal('cmd'),
  site: z.string(),
  gate: z.string(),
  nonce: z.string().regex(NONCE_PATTERN),
  issuedAt: z.number().int().nonnegative(),
  expiresAt: z.number().int().nonnegative(),
  cmd: z.string(),
  args: z.record(z.string(), z.unknown()).default({}),
});

/**
 * Decides whether a command payload may run (red line 6) and whether its signer may give it here (its
 * certificate's scopes, gates, window and revocation). Pure: the clock, the trusted roots, the revocation
 * list and the replay cache come in as values, so every reason can be tested without timers or I/O.
 * Accepting does not record the nonce; the caller does that before acting.
 */
export function verifyCommand(raw: Uint8Array | string, ctx: VerifyContext): Verdict {
  const opened = openAuthorised(raw, 'cmd', commandBody, ctx);
  if (!opened.ok) return opened;
  const { body, signer } = opened;
  const about = { nonce: body.nonce, cmd: body.cmd, signer };
  const standing = signerStanding(signer, ctx);
  if (standing) return { ...standing, ...about };
  if (body.site !== ctx.identity.site) return { ok: false, reason: 'wrong-site', detail: `command names site "${body.site}", this is "${ctx.identity.site}"`, ...about };
  if (body.gate !== ctx.identity.gate) return { ok: false, reason: 'wrong-gate', detail: `command names gate "${body.gate}", this is "${ctx.identity.gate}"`, ...about };
  if (body.expiresAt <= body.issuedAt) return { ok: false, reason: 'malformed', detail: 'expiresAt must be after issuedAt', ...about };
  if (body.issuedAt > ctx.nowMs + ctx.skewMs) return { ok: false, reason: 'not-yet-valid', detail: `issued ${body.issuedAt - ctx.nowMs} ms in the future`, ...about };
  if (body.expiresAt + ctx.skewMs < ctx.nowMs) return { ok: false, reason: 'expired', detail: `expired ${ctx.nowMs - body.expiresAt} ms ago`, ...about };
  if (body.expiresAt - body.issuedAt > MAX_VALIDITY_MS || body.expiresAt > ctx.nowMs + MAX_VALIDITY_MS + ctx.skewMs) {
    return { ok: false, reason: 'expiry-too-far', detail: `expiry may be at most ${MAX_VALIDITY_MS} ms after issue`, ...about };
  }
  if (!Object.hasOwn(COMMAND_ARGS, body.cmd)) return { ok: false, reason: 'unknown-command', detail: `"${body.cmd}" is not one of ${COMMAND_NAMES.join(', ')}`, ...about };
  const name = body.cmd as CommandName;
  const args = COMMAND_ARGS[name].safeParse(body.args);
  if (!args.success) return { ok: false, reason: 'malformed', detail: `arguments of ${name}: ${args.error.issues.map((i) => `${i.path.join('.') || '(args)'} ${i.message}`).join('; ')}`, ...about };
  const denied = signerPermits(signer, COMMAND_SCOPE[name], ctx.identity.gate);
  if (denied) return { ...denied, ...about };
  if (ctx.replay.has(body.nonce)) return { ok: false, reason: 'replayed', detail: 'this nonce was already accepted', ...about };
  return {
    ok: true,
    command: { cmd: name, args: args.data, nonce: body.nonce, issuedAt: body.issuedAt, expiresAt: body.expiresAt, key: signer.key, signer } as VerifiedCommand,
  };
}

/** What an operator tool puts in a command body; the gate ignores nothing and accepts nothing else. */
export function commandBodyFor(identity: GateIdentity, cmd: string, args: Record<string, unknown>, nowMs: number, validityMs: number, nonce: string) {
  return { kind: 'cmd' as const, site: identity.site, gate: identity.gate, nonce, issuedAt: nowMs, expiresAt: nowMs + validityMs, cmd, args };
}
