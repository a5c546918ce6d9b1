import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nacl from 'tweetnacl';
import { STORE_SCHEMA_VERSION } from '../../firmware/store/migrations';
import { newResident, type MainFile, type TemplateFile } from '../../firmware/store/records';
import { GateStore, STORE_FILES } from '../../firmware/store/store';
import { sealTemplate } from '../../firmware/store/template-box';
import { intArg, parseArgs } from './args';
import { percentile } from './stats';

/**
 * Store at scale: N residents, each with a card, consent and a `dims`-float template, written straight
 * to the two store files (building them through the API would rewrite the files N times), then the
 * operations the gate does timed on them: start-up load, decrypting every template for the matcher, a
 * card write, a template write and a template deletion.
 */
export async function runStoreBench(argv: readonly string[], log: (line: string) => void): Promise<Record<string, unknown>> {
  const args = parseArgs(argv, ['residents', 'dims', 'repeat']);
  const residents = intArg(args, 'residents', 10_000);
  const dims = intArg(args, 'dims', 512);
  const repeat = intArg(args, 'repeat', 5);
  const dir = mkdtempSync(join(tmpdir(), 'postern-store-bench-'));
  try {
    const templateKey = nacl.randomBytes(32);
    const stamp = new Date().toISOString();
    const main: MainFile = { schema: STORE_SCHEMA_VERSION, credentialVersion: 1, residents: {}, receipts: [] };
    const templates: TemplateFile = { schema: STORE_SCHEMA_VERSION, templates: {} };
    const embedding = Float32Array.from({ length: dims }, (_, i) => Math.sin(i));
    for (let i = 0; i < residents; i += 1) {
      const id = `r-${i.toString(16).padStart(8, '0')}`;
      const r = newResident(id, stamp, {
        cards: [{ hash: randomBytes(32).toString('hex'), addedAt: stamp }],
        consent: { grantedAt: stamp, noticeVersion: '1', consentedBy: 'self' },
        consentHistory: [{ at: stamp, action: 'granted', noticeVersion: '1', consentedBy: 'self' }],
        face: { enrolledAt: stamp, lastUsedAt: null },
      });
      main.residents[id] = r;
      templates.templates[id] = sealTemplate(templateKey, embedding, stamp);
    }
    writeFileSync(join(dir, STORE_FILES.main), JSON.stringify(main));
    writeFileSync(join(dir, STORE_FILES.templates), JSON.stringify(templates));

    const time = (fn: (i: number) => void): { p50: number; max: number } => {
      const ms: number[] = [];
      for (let i = 0; i < repeat; i += 1) {
        const t0 = process.hrtime.bigint();
        fn(i);
        ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
      return { p50: round(percentile(ms, 50)), max: round(Math.max(...ms)) };
    };
    const open = time(() => GateStore.open({ dir, templateKey }));
    const store = GateStore.open({ dir, templateKey });
    const decryptAll = time(() => store.loadTemplates());
    const ids = Object.keys(main.residents);
    const cardWrite = time((i) => store.addCard(ids[i] as string, randomBytes(32).toString('hex')));
    const templateWrite = time((i) => store.putTemplate(ids[i] as string, embedding));
    const templateDelete = time((i) => store.deleteTemplate(ids[repeat + i] as string));
    const result = {
      bench: 'store',
      residents,
      dims,
      mainFileMB: round(statSync(join(dir, STORE_FILES.main)).size / 1e6),
      templateFileMB: round(statSync(join(dir, STORE_FILES.templates)).size / 1e6),
      openMs: open.p50,
      decryptAllMs: decryptAll.p50,
      cardWriteMs: cardWrite.p50,
      templateWriteMs: templateWrite.p50,
      templateDeleteMs: templateDelete.p50,
      rssMB: round(process.memoryUsage().rss / 1e6),
    };
    log(`store with ${residents} residents, ${dims}-float templates (median of ${repeat}):`);
    log(`  files            store.json ${result.mainFileMB} MB, templates.json ${result.templateFileMB} MB`);
    log(`  open + validate  ${open.p50} ms (max ${open.max})`);
    log(`  decrypt all      ${decryptAll.p50} ms (max ${decryptAll.max})`);
    log(`  add a card       ${cardWrite.p50} ms (max ${cardWrite.max})`);
    log(`  put a template   ${templateWrite.p50} ms (max ${templateWrite.max})`);
    log(`  delete template  ${templateDelete.p50} ms (max ${templateDelete.max})`);
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const round = (x: number) => Math.round(x * 10) / 10;
