import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { LowSync } from 'lowdb';
import { JsonFileAdapter } from './json-file-adapter';
import { STORE_SCHEMA_VERSION } from './migrations';
import { acquireWriterLock } from './writer-lock';
import { parseIsoTime, type DateOnlyMeans } from './iso-time';
import {
  mainFileSchema,
  newResident,
  templateFileSchema,
  type ConsentEvent,
  type ConsentRecord,
  type DeletionReceipt,
  type MainFile,
  type Resident,
  type TemplateFile,
  type WeeklySchedule,
  weeklyScheduleSchema,
} from './records';
import { ciphertextDigest, openTemplate, sealTemplate } from './template-box';

/** File names inside the data directory. Templates live apart so that a card or consent write stays small. */
export const STORE_FILES = { main: 'store.json', templates: 'templates.json' } as const;

export interface NewResident {
  /** Pseudonymous id chosen by the operator; generated when absent. */
  id?: string;
  validFrom?: string | null;
  validUntil?: string | null;
  schedule?: WeeklySchedule | null;
  under14?: boolean;
}

export interface TemplateEntry {
  residentId: string;
  embedding: Float32Array;
}

export type TemplateChange = { kind: 'put' | 'deleted'; residentId: string };

export class StoreError extends Error {
  constructor(
    readonly code: 'not-found' | 'conflict' | 'invalid' | 'no-consent',
    message: string,
  ) {
    super(message);
    this.name = 'StoreError';
  }
}

export interface GateStoreOptions {
  dir: string;
  /** From loadGateKeys().templateKey; kept only in memory. */
  templateKey: Uint8Array;
  now?: () => Date;
}

/**
 * The gate's persistent state. The daemon is its only writer (red line 8); every mutation is written
 * through before the method returns, so a caller that got an answer can rely on it surviving a crash.
 */
export class GateStore {
  private readonly main: LowSync<MainFile>;
  private readonly templates: LowSync<TemplateFile>;
  private readonly cardIndex = new Map<string, string>();
  private readonly templateListeners = new Set<(change: TemplateChange) => void>();
  private readonly now: () => Date;
  private readonly templateKey: Uint8Array;
  private releaseLock: (() => void) | undefined;

  private constructor(options: GateStoreOptions) {
    this.now = options.now ?? (() => new Date());
    this.templateKey = options.templateKey;
    mkdirSync(options.dir, { recursive: true, mode: 0o700 });
    this.main = new LowSync(new JsonFileAdapter(join(options.dir, STORE_FILES.main), mainFileSchema, 'main'), emptyMain());
    this.templates = new LowSync(
      new JsonFileAdapter(join(options.dir, STORE_FILES.templates), templateFileSchema, 'templates'),
      emptyTemplates(),
    );
  }

  static open(options: GateStoreOptions): GateStore {
    const store = new GateStore(options);
    store.releaseLock = acquireWriterLock(options.dir);
    try {
      store.main.read();
      store.templates.read();
      store.reconcile();
    } catch (err) {
      store.close();
      throw err;
    }
    for (const r of Object.values(store.main.data.residents)) for (const c of r.cards) store.cardIndex.set(c.hash, r.id);
    return store;
  }

  /** Lets another process open the store (every write has already reached the disk). */
  close(): void {
    this.releaseLock?.();
    this.releaseLock = undefined;
  }

  /**
   * Templates and their metadata are two files written one after the other; a crash between the two
   * writes leaves one without the other. An orphan template is dropped (it was never confirmed, or its
   * deletion was under way), and metadata without a template is cleared.
   */
  private reconcile(): void {
    const residents = this.main.data.residents;
    const templates = this.templates.data.templates;
    const orphans = Object.keys(templates).filter((id) => !residents[id]?.face || !residents[id]?.consent);
    if (orphans.length) {
      for (const id of orphans) delete templates[id];
      this.templates.write();
    }
    const dangling = Object.values(residents).filter((r) => r.face && !templates[r.id]);
    if (dangling.length) {
      for (const r of dangling) r.face = null;
      this.main.write();
    }
  }

  private stamp(): string {
    return this.now().toISOString();
  }

  // ---- residents

  addResident(input: NewResident = {}): Resident {
    const id = input.id ?? `r-${randomBytes(6).toString('hex')}`;
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw new StoreError('invalid', `resident id "${id}" must be 1-64 characters of A-Z, a-z, 0-9, "-" or "_"`);
    if (this.main.data.residents[id]) throw new StoreError('conflict', `resident ${id} already exists`);
    const validFrom = normaliseTime(input.validFrom, 'validFrom');
    const validUntil = normaliseTime(input.validUntil, 'validUntil', 'end-of-day');
    const schedule = input.schedule ? weeklyScheduleSchema.safeParse(input.schedule) : undefined;
    if (schedule && !schedule.success) {
      const issue = schedule.error.issues[0];
      throw new StoreError('invalid', `schedule.${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
    }
    if (validFrom && validUntil && Date.parse(validFrom) >= Date.parse(validUntil)) {
      throw new StoreError('invalid', `validFrom ${validFrom} must be before validUntil ${validUntil}`);
    }
    const resident = newResident(id, this.stamp(), { validFrom, validUntil, schedule: schedule?.data ?? null, under14: input.under14 ?? false });
    this.main.data.residents[id] = resident;
    this.main.write();
    return structuredClone(resident);
  }

  getResident(id: string): Resident | undefined {
    const r = this.main.data.residents[id];
    return r ? structuredClone(r) : undefined;
  }

  listResidents(): Resident[] {
    return Object.values(this.main.data.residents).map((r) => structuredClone(r));
  }

  private live(id: string): Resident {
    const r = this.main.data.residents[id];
    if (!r) throw new StoreError('not-found', `no resident with id ${id}`);
    return r;
  }

  /**
   * Marks the resident revoked. Their card hashes stay, so a revoked card is refused as `revoked` rather
   * than `unknown`, until the card is given to someone else. Template deletion (with its receipt) is the
   * consent module's.
   */
  revokeResident(id: string): Resident {
    const r = this.live(id);
    if (r.revokedAt) return structuredClone(r);
    r.revokedAt = this.stamp();
    this.main.write();
    return structuredClone(r);
  }

  // ---- cards

  addCard(residentId: string, cardHash: string): void {
    if (!/^[0-9a-f]{64}$/.test(cardHash)) throw new StoreError('invalid', 'a card hash must be 64 lower-case hex characters (HMAC-SHA256)');
    const r = this.live(residentId);
    if (r.revokedAt) throw new StoreError('conflict', `resident ${residentId} is revoked; add a new resident instead`);
    const holder = this.cardIndex.get(cardHash);
    if (holder === residentId) return;
    const previous = holder === undefined ? undefined : this.main.data.residents[holder];
    if (previous && !previous.revokedAt) throw new StoreError('conflict', `this card is already enrolled for resident ${holder}`);
    if (previous) previous.cards = previous.cards.filter((c) => c.hash !== cardHash);
    r.cards.push({ hash: cardHash, addedAt: this.stamp() });
    this.cardIndex.set(cardHash, residentId);
    this.main.write();
  }

  removeCard(cardHash: string): boolean {
    const holder = this.cardIndex.get(cardHash);
    if (!holder) return false;
    const r = this.live(holder);
    r.cards = r.cards.filter((c) => c.hash !== cardHash);
    this.cardIndex.delete(cardHash);
    this.main.write();
    return true;
  }

  residentByCard(cardHash: string): Resident | undefined {
    const id = this.cardIndex.get(cardHash);
    return id === undefined ? undefined : this.getResident(id);
  }

  // ---- consent

  setConsent(residentId: string, consent: ConsentRecord | null, event: ConsentEvent): Resident {
    const r = this.live(residentId);
    r.consent = consent;
    r.consentHistory.push(event);
    this.main.write();
    return structuredClone(r);
  }

  // ---- face templates

  /** Encrypts and stores (or replaces) a resident's template. Refused without a consent record (red line 2). */
  putTemplate(residentId: string, embedding: Float32Array): void {
    const r = this.live(residentId);
    if (r.revokedAt) throw new StoreError('conflict', `resident ${residentId} is revoked`);
    if (!r.consent) throw new StoreError('no-consent', `resident ${residentId} has no consent record; record consent before enrolling a face`);
    const enrolledAt = this.stamp();
    this.templates.data.templates[residentId] = sealTemplate(this.templateKey, embedding, enrolledAt);
    this.templates.write();
    r.face = { enrolledAt, lastUsedAt: null };
    this.main.write();
    this.notifyTemplates({ kind: 'put', residentId });
  }

  hasTemplate(residentId: string): boolean {
    return this.templates.data.templates[residentId] !== undefined;
  }

  /**
   * Removes the template and rewrites the template file without it, so its ciphertext survives in no
   * store file. Returns the digest of what was deleted, or null when there was nothing to delete.
   * Receipts are issued by the consent module, which knows why.
   */
  deleteTemplate(residentId: string): { ciphertextSha256: string } | null {
    const record = this.templates.data.templates[residentId];
    const r = this.main.data.residents[residentId];
    if (!record) {
      if (r?.face) {
        r.face = null;
        this.main.write();
      }
      return null;
    }
    const digest = ciphertextDigest(record);
    delete this.templates.data.templates[residentId];
    this.templates.write();
    if (r) {
      r.face = null;
      this.main.write();
    }
    this.notifyTemplates({ kind: 'deleted', residentId });
    return { ciphertextSha256: digest };
  }

  /** All templates, decrypted, for the matcher. Revoked residents' templates are deleted, so never listed. */
  loadTemplates(): TemplateEntry[] {
    return Object.entries(this.templates.data.templates).map(([residentId, record]) => ({
      residentId,
      embedding: openTemplate(this.templateKey, record, residentId),
    }));
  }

  loadTemplate(residentId: string): Float32Array | undefined {
    const record = this.templates.data.templates[residentId];
    return record ? openTemplate(this.templateKey, record, residentId) : undefined;
  }

  /**
   * Records a face match for retention. Kept to the day: retention is counted in days, and writing the
   * store on every face entry would wear the SD card for nothing.
   */
  markFaceUsed(residentId: string): void {
    const r = this.main.data.residents[residentId];
    if (!r?.face) return;
    const day = `${this.stamp().slice(0, 10)}T00:00:00.000Z`;
    if (r.face.lastUsedAt === day) return;
    r.face.lastUsedAt = day;
    this.main.write();
  }

  /** Tells the matcher at once when a template appears or goes, so a deleted one leaves memory too. */
  onTemplatesChanged(listener: (change: TemplateChange) => void): () => void {
    this.templateListeners.add(listener);
    return () => this.templateListeners.delete(listener);
  }

  private notifyTemplates(change: TemplateChange): void {
    for (const l of this.templateListeners) {
      try {
        l(change);
      } catch {
        /* a faulty listener must not undo a committed write */
      }
    }
  }

  // ---- receipts

  addReceipt(receipt: DeletionReceipt): void {
    this.main.data.receipts.push(receipt);
    this.main.write();
  }

  receiptsFor(residentId: string): DeletionReceipt[] {
    return this.main.data.receipts.filter((r) => r.residentId === residentId).map((r) => structuredClone(r));
  }

  // ---- credential set (cloud sync)

  get credentialVersion(): number {
    return this.main.data.credentialVersion;
  }

  /**
   * Applies a batch of changes from the credential sync in one write: `mutate` edits the residents, the
   * card index is rebuilt, and the new version is stored with them so a crash never leaves half a delta.
   */
  applyCredentialChanges(version: number, mutate: (residents: Record<string, Resident>, stamp: string) => void): void {
    const draft = structuredClone(this.main.data.residents);
    mutate(draft, this.stamp());
    const index = new Map<string, string>();
    for (const r of Object.values(draft)) {
      for (const c of r.cards) {
        const other = index.get(c.hash);
        if (other && other !== r.id) throw new StoreError('conflict', `card ${c.hash.slice(0, 12)}… would belong to both ${other} and ${r.id}`);
        index.set(c.hash, r.id);
      }
    }
    this.main.data.residents = draft;
    this.main.data.credentialVersion = version;
    this.main.write();
    this.cardIndex.clear();
    for (const [hash, id] of index) this.cardIndex.set(hash, id);
  }

  counts(): { residents: number; active: number; cards: number; templates: number } {
    const all = Object.values(this.main.data.residents);
    return {
      residents: all.length,
      active: all.filter((r) => !r.revokedAt).length,
      cards: this.cardIndex.size,
      templates: Object.keys(this.templates.data.templates).length,
    };
  }
}

/** A strict ISO-8601 date or time (iso-time.ts), stored as UTC ISO-8601 (the one form the store file schema accepts). */
export function normaliseTime(value: string | null | undefined, field: string, dateOnly: DateOnlyMeans = 'start-of-day'): string | null {
  if (value === undefined || value === null) return null;
  const parsed = parseIsoTime(value, dateOnly);
  if ('error' in parsed) throw new StoreError('invalid', `${field} "${value}" ${parsed.error}`);
  return new Date(parsed.ms).toISOString();
}

function emptyMain(): MainFile {
  return { schema: STORE_SCHEMA_VERSION, credentialVersion: 0, residents: {}, receipts: [] };
}

function emptyTemplates(): TemplateFile {
  return { schema: STORE_SCHEMA_VERSION, templates: {} };
}
