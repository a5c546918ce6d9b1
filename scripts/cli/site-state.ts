import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import type { OperatorCertificate } from '../../firmware/cloud/certificates';
import { base64Key } from '../../firmware/cloud/config';
import type { Envelope } from '../../firmware/cloud/envelope';
import { SCOPES } from '../../firmware/cloud/scopes';
import { topicLevel } from '../../firmware/config/base';
import { writeFileAtomic } from '../../firmware/store/atomic-file';

/**
 * The operator tool's records for one site, in the file given with `--state` (kept with the root key,
 * mode 0600): the current root, every certificate issued (with an optional local label, which never
 * goes into a certificate), the revocation list and the last root rotation, each as last signed, so
 * `cert publish` can send them again without any secret key.
 */
const envelope = z.object({ v: z.literal(1), key: z.string(), body: z.string(), sig: z.string() }).strict();
const issued = z
  .object({
    serial: z.number().int().min(1),
    operatorKey: base64Key,
    scopes: z.array(z.enum(SCOPES)),
    gates: z.union([z.literal('*'), z.array(z.string())]),
    notBefore: z.string(),
    notAfter: z.string(),
    issuedAt: z.string(),
    root: base64Key,
    label: z.string().optional(),
  })
  .strict();
const siteStateSchema = z
  .object({
    kind: z.literal('postern.site-state'),
    v: z.literal(1),
    site: topicLevel,
    root: base64Key,
    nextSerial: z.number().int().min(1),
    certificates: z.array(issued),
    revocations: z.object({ version: z.number().int().nonnegative(), serials: z.array(z.number().int().min(1)), signed: envelope.nullable() }).strict(),
    rotation: z.object({ version: z.number().int().nonnegative(), signed: envelope.nullable() }).strict(),
  })
  .strict();

export type SiteState = z.output<typeof siteStateSchema>;
export type IssuedCertificate = z.output<typeof issued>;

export function newSiteState(site: string, root: string): SiteState {
  return { kind: 'postern.site-state', v: 1, site, root, nextSerial: 1, certificates: [], revocations: { version: 0, serials: [], signed: null }, rotation: { version: 0, signed: null } };
}

export function loadSiteState(path: string): SiteState {
  if (!existsSync(path)) throw new Error(`state file ${path} does not exist (\`postern remote root keygen --state ${path}\` creates it)`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    throw new Error(`state file ${path} is not JSON`);
  }
  const checked = siteStateSchema.safeParse(parsed);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    throw new Error(`state file ${path}: field "${issue?.path.join('.') ?? ''}" ${issue?.message ?? 'is invalid'}`);
  }
  return checked.data;
}

export function saveSiteState(path: string, state: SiteState): void {
  writeFileAtomic(path, `${JSON.stringify(state, null, 2)}\n`);
}

export function recordCertificate(state: SiteState, cert: OperatorCertificate, issuedAtMs: number, label: string | undefined): SiteState {
  const entry: IssuedCertificate = {
    serial: cert.serial,
    operatorKey: cert.operatorKey,
    scopes: cert.scopes,
    gates: cert.gates,
    notBefore: new Date(cert.notBefore).toISOString(),
    notAfter: new Date(cert.notAfter).toISOString(),
    issuedAt: new Date(issuedAtMs).toISOString(),
    root: state.root,
    ...(label !== undefined ? { label } : {}),
  };
  return { ...state, nextSerial: Math.max(state.nextSerial, cert.serial + 1), certificates: [...state.certificates, entry] };
}

/** The serials of the next revocation list: the current ones plus `serial`, which must have been issued here and not yet revoked. */
export function serialsAfterRevoking(state: SiteState, serial: number): number[] {
  if (!state.certificates.some((c) => c.serial === serial)) throw new Error(`no certificate with serial ${serial} was issued from this state file (see \`postern remote cert list\`)`);
  if (state.revocations.serials.includes(serial)) throw new Error(`certificate ${serial} is already revoked (revocation list v${state.revocations.version})`);
  return [...state.revocations.serials, serial].sort((a, b) => a - b);
}

export type CertificateStatus = 'valid' | 'revoked' | 'expired' | 'not-yet-valid' | 'old-root';

/** What a gate would make of the certificate now, as far as this file knows (old-root: signed by a root rotated away since). */
export function certificateStatus(state: SiteState, c: IssuedCertificate, nowMs: number): CertificateStatus {
  if (state.revocations.serials.includes(c.serial)) return 'revoked';
  if (Date.parse(c.notAfter) < nowMs) return 'expired';
  if (Date.parse(c.notBefore) > nowMs) return 'not-yet-valid';
  return c.root === state.root ? 'valid' : 'old-root';
}
