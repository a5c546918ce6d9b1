import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nacl from 'tweetnacl';
import { ResidentRegistry } from '../../firmware/access/residents';
import { ConsentLedger } from '../../firmware/consent/ledger';
import { verifyReceipt } from '../../firmware/consent/receipt';
import { EventBus } from '../../firmware/events/bus';
import { GateStore, STORE_FILES, StoreError } from '../../firmware/store/store';

const faces = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 31 + i));

function setup(start = new Date('2026-03-01T10:00:00Z')) {
  const dir = mkdtempSync(join(tmpdir(), 'postern-privacy-'));
  const clock = { now: start };
  const now = () => clock.now;
  const templateKey = nacl.randomBytes(32);
  const signing = nacl.sign.keyPair();
  const bus = new EventBus({ now });
  const store = GateStore.open({ dir, templateKey, now });
  const ledger = new ConsentLedger({ store, bus, signingSecretKey: signing.secretKey, retentionDays: 30, now });
  const registry = new ResidentRegistry({ store, ledger, bus, siteKey: nacl.randomBytes(32) });
  return { dir, clock, templateKey, signing, bus, store, ledger, registry };
}

/** The ciphertext as it sits in the template file (base64 in JSON), for scanning raw file bytes. */
function storedCiphertext(dir: string, residentId: string): string {
  const file = JSON.parse(readFileSync(join(dir, STORE_FILES.templates), 'utf8'));
  return file.templates[residentId].box as string;
}

function allStoreBytes(dir: string): string {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json') || f.endsWith('.tmp'))
    .map((f) => readFileSync(join(dir, f), 'latin1'))
    .join('\n');
}

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});
const make = (start?: Date) => {
  const s = setup(start);
  dirs.push(s.dir);
  return s;
};

describe('consent ledger and templates', () => {
  test('no consent, no template: enrolment is refused and nothing is written', () => {
    const { store, ledger, registry, dir } = make();
    const r = registry.add({});
    expect(() => ledger.enrolTemplate(r.id, faces(512, 1))).toThrow(/no consent record/);
    expect(() => store.putTemplate(r.id, faces(512, 1))).toThrow(StoreError);
    expect(store.hasTemplate(r.id)).toBe(false);
    expect(readdirSync(dir)).not.toContain(STORE_FILES.templates);
  });

  test('an under-14 resident needs a guardian, and a guardian needs a reference', () => {
    const { ledger, registry } = make();
    const child = registry.add({ under14: true });
    expect(() => ledger.grant(child.id, { noticeVersion: '2', consentedBy: 'self' })).toThrow(/under 14.*guardian/);
    expect(() => ledger.grant(child.id, { noticeVersion: '2', consentedBy: 'guardian' })).toThrow(/guardianRef/);
    expect(() => ledger.grant(child.id, { noticeVersion: ' ', consentedBy: 'guardian', guardianRef: 'form-17' })).toThrow(/noticeVersion/);
    const record = ledger.grant(child.id, { noticeVersion: '2', consentedBy: 'guardian', guardianRef: 'form-17' });
    expect(record).toEqual({ grantedAt: '2026-03-01T10:00:00.000Z', noticeVersion: '2', consentedBy: 'guardian', guardianRef: 'form-17' });
    ledger.enrolTemplate(child.id, faces(512, 2));
  });

  test('templates are encrypted at rest and decrypt to the same floats', () => {
    const { store, ledger, registry, dir, templateKey } = make();
    const r = registry.add({});
    ledger.grant(r.id, { noticeVersion: '1', consentedBy: 'self' });
    const emb = faces(512, 3);
    ledger.enrolTemplate(r.id, emb);
    const raw = readFileSync(join(dir, STORE_FILES.templates));
    expect(raw.includes(Buffer.from(emb.buffer))).toBe(false);
    const reopened = GateStore.open({ dir, templateKey });
    expect(reopened.loadTemplates()).toEqual([{ residentId: r.id, embedding: emb }]);
    expect(() => GateStore.open({ dir, templateKey: nacl.randomBytes(32) }).loadTemplates()).toThrow(/does not decrypt/);
  });

  test('withdrawal deletes the template from memory and disk at once, with a verifiable receipt', () => {
    const { store, ledger, registry, dir, signing, clock, bus } = make();
    const keep = registry.add({ id: 'keeper' });
    const leave = registry.add({ id: 'leaver' });
    for (const r of [keep, leave]) {
      ledger.grant(r.id, { noticeVersion: '1', consentedBy: 'self' });
      ledger.enrolTemplate(r.id, faces(512, r.id.length));
    }
    const ciphertext = storedCiphertext(dir, leave.id);
    expect(allStoreBytes(dir)).toContain(ciphertext);
    const changes: string[] = [];
    store.onTemplatesChanged((c) => changes.push(`${c.kind}:${c.residentId}`));

    clock.now = new Date('2026-03-02T08:00:00Z');
    const receipt = ledger.withdraw(leave.id);
    expect(changes).toEqual(['deleted:leaver']);
    expect(store.loadTemplates().map((t) => t.residentId)).toEqual(['keeper']);
    expect(allStoreBytes(dir)).not.toContain(ciphertext);
    expect(allStoreBytes(dir)).toContain(storedCiphertext(dir, keep.id));
    expect(store.getResident(leave.id)?.consent).toBeNull();
    expect(store.getResident(leave.id)?.face).toBeNull();
    expect(bus.since(0).map((e) => e.type)).toContain('face.deleted');

    expect(receipt).toMatchObject({ residentId: 'leaver', what: 'face-template', why: 'consent-withdrawn', deletedAt: '2026-03-02T08:00:00.000Z' });
    expect(verifyReceipt(receipt, signing.publicKey).valid).toBe(true);
    expect(store.receiptsFor(leave.id)).toEqual([receipt]);
    // Enrolment after withdrawal is refused again.
    expect(() => ledger.enrolTemplate(leave.id, faces(512, 9))).toThrow(/no consent/);
  });

  test('a tampered or foreign receipt does not verify', () => {
    const { ledger, registry, signing } = make();
    const r = registry.add({});
    ledger.grant(r.id, { noticeVersion: '1', consentedBy: 'self' });
    ledger.enrolTemplate(r.id, faces(128, 5));
    const receipt = ledger.deleteTemplate(r.id, 'operator-request')!;
    expect(verifyReceipt(JSON.parse(JSON.stringify(receipt))).valid).toBe(true);
    const moved = verifyReceipt({ ...receipt, deletedAt: '2026-01-01T00:00:00.000Z' });
    expect(moved).toEqual({ valid: false, problem: expect.stringMatching(/altered or forged/) });
    expect(verifyReceipt({ ...receipt, residentId: 'someone-else' }).valid).toBe(false);
    expect(verifyReceipt({ ...receipt, why: 'retention-expired' }).valid).toBe(false);
    // Re-signed by another key: intact, but not this gate's.
    const other = nacl.sign.keyPair();
    const { signature: _s, ...body } = receipt;
    expect(verifyReceipt(receipt, other.publicKey)).toEqual({ valid: false, problem: expect.stringMatching(/different key/) });
    expect(verifyReceipt({ ...body })).toEqual({ valid: false, problem: expect.stringMatching(/signature/) });
    expect(verifyReceipt('not json at all').valid).toBe(false);
    expect(verifyReceipt(receipt, signing.publicKey).valid).toBe(true);
  });

  test('revoking a resident deletes their template with a receipt and their card then reads as revoked', () => {
    const { store, ledger, registry, dir, signing } = make();
    const r = registry.add({});
    const hash = registry.addCardUid(r.id, '04:A1:B2:C3:D4:E5:F6');
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(readFileSync(join(dir, STORE_FILES.main), 'utf8')).not.toMatch(/04A1B2C3D4E5F6/i);
    ledger.grant(r.id, { noticeVersion: '1', consentedBy: 'self' });
    ledger.enrolTemplate(r.id, faces(512, 7));
    const ciphertext = storedCiphertext(dir, r.id);
    const { receipt } = registry.revoke(r.id);
    expect(receipt?.why).toBe('resident-revoked');
    expect(verifyReceipt(receipt, signing.publicKey).valid).toBe(true);
    expect(allStoreBytes(dir)).not.toContain(ciphertext);
    expect(store.residentByCard(hash)?.revokedAt).not.toBeNull();
    expect(() => registry.addCardUid(r.id, '04A1B2C3D4E5F7')).toThrow(/revoked/);
    // The card may be given to someone else.
    const next = registry.add({});
    registry.addCardHash(next.id, hash, 'hash');
    expect(store.residentByCard(hash)?.id).toBe(next.id);
  });

  test('retention: a template unused for longer than the period is swept with a receipt; a recently used one stays', () => {
    const { store, ledger, registry, clock } = make(new Date('2026-01-01T09:00:00Z'));
    const idle = registry.add({ id: 'idle' });
    const busy = registry.add({ id: 'busy' });
    for (const r of [idle, busy]) {
      ledger.grant(r.id, { noticeVersion: '1', consentedBy: 'self' });
      ledger.enrolTemplate(r.id, faces(64, r.id.length));
    }
    clock.now = new Date('2026-01-25T09:00:00Z');
    store.markFaceUsed(busy.id);
    expect(ledger.sweepRetention()).toEqual([]);
    clock.now = new Date('2026-02-01T09:00:01Z'); // 31 days after enrolment, 7 after busy's last use
    const receipts = ledger.sweepRetention();
    expect(receipts.map((r) => [r.residentId, r.why])).toEqual([['idle', 'retention-expired']]);
    expect(store.hasTemplate('idle')).toBe(false);
    expect(store.hasTemplate('busy')).toBe(true);
  });

  test('bad input names what was wrong', () => {
    const { registry } = make();
    const r = registry.add({});
    expect(() => registry.addCardUid(r.id, 'zz')).toThrow(/not 4, 7 or 10 bytes of hex/);
    expect(() => registry.addCardUid(r.id, '08112233')).toThrow(/random/);
    expect(() => registry.add({ validFrom: 'yesterday' })).toThrow(/validFrom "yesterday" is not an ISO-8601 date/);
    expect(() => registry.add({ validFrom: '2026-02-01', validUntil: '2026-01-01' })).toThrow(/must be before/);
    expect(() => registry.add({ id: r.id })).toThrow(/already exists/);
    expect(() => registry.add({ schedule: { utcOffsetMinutes: 0, windows: [{ days: [1], start: '25:00', end: '02:00' }] } })).toThrow(/schedule.windows.0.start/);
  });
});

describe('store files', () => {
  test('a damaged store file stops the open and is left untouched', () => {
    const { dir, registry, templateKey } = make();
    registry.add({});
    const path = join(dir, STORE_FILES.main);
    writeFileSync(path, '{"schema":1,"credentialVersion":0,"resid');
    expect(() => GateStore.open({ dir, templateKey })).toThrow(/store\.json: is not valid JSON.*left untouched/);
    expect(readFileSync(path, 'utf8')).toBe('{"schema":1,"credentialVersion":0,"resid');
  });

  test('a file from a newer schema is refused; one without a version is refused', () => {
    const { dir, registry, templateKey } = make();
    registry.add({});
    const path = join(dir, STORE_FILES.main);
    const data = JSON.parse(readFileSync(path, 'utf8'));
    writeFileSync(path, JSON.stringify({ ...data, schema: 99 }));
    expect(() => GateStore.open({ dir, templateKey })).toThrow(/newer Postern \(schema 99\)/);
    writeFileSync(path, JSON.stringify({ ...data, schema: undefined }));
    expect(() => GateStore.open({ dir, templateKey })).toThrow(/no valid "schema"/);
  });

  test('a stale temp file from a crash is discarded, an orphan template is dropped on open', () => {
    const { dir, ledger, registry, templateKey } = make();
    const r = registry.add({});
    ledger.grant(r.id, { noticeVersion: '1', consentedBy: 'self' });
    ledger.enrolTemplate(r.id, faces(32, 1));
    const ciphertext = storedCiphertext(dir, r.id);
    writeFileSync(join(dir, `${STORE_FILES.templates}.tmp`), `{"half a write ${ciphertext}`);
    // Simulate a crash between the template-file write and the metadata write of a deletion.
    const main = JSON.parse(readFileSync(join(dir, STORE_FILES.main), 'utf8'));
    main.residents[r.id].consent = null;
    writeFileSync(join(dir, STORE_FILES.main), JSON.stringify(main));
    const reopened = GateStore.open({ dir, templateKey });
    expect(reopened.hasTemplate(r.id)).toBe(false);
    expect(allStoreBytes(dir)).not.toContain(ciphertext);
  });
});
