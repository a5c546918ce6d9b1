import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { ResidentRegistry } from '../access/residents';
import { AdminError, parseBody, type AdminApi } from '../admin/router';
import type { EventBus } from '../events/bus';
import { StoreError, type GateStore } from '../store/store';
import type { CardChannel, CardReaderService } from './reader-service';
import { issueCard, IssueError, rekeyCard, type IssuedCard, type SiteCardKeys } from './secure/issue';

const issuerKey = z
  .string()
  .refine((k) => /^[A-Za-z0-9+/]{22}==$/.test(k), 'must be the 16-byte issuer master key in base64 (as in the key file)');
const timeoutMs = z.number().int().min(1000, 'must be 1000 to 120000 ms').max(120_000, 'must be 1000 to 120000 ms').default(30_000);

const issueBody = z.strictObject({
  card: z.enum(['desfire', 'ntag424']),
  issuerKey,
  randomUid: z.boolean().default(false),
  timeoutMs,
  check: z.boolean().default(false),
});
const rekeyBody = z.strictObject({ issuerKey, timeoutMs, check: z.boolean().default(false) });

export interface CardIssuingDeps {
  reader: CardReaderService;
  /** Null when this gate holds no card master: it cannot issue. */
  keys: SiteCardKeys | null;
  registry: ResidentRegistry;
  store: GateStore;
  bus: EventBus;
}

const fresh16 = (): Uint8Array => new Uint8Array(randomBytes(16));

/**
 * The gate as an enrolment reader, on the admin API: `POST /residents/:id/cards/issue` issues the next card
 * tapped and enrols it; `POST /cards/rekey` moves the next card tapped to the current key version. The issuer
 * master comes in the request, is used for that one card and dropped: it is never stored, logged or sent on.
 */
export function registerCardIssuing(api: AdminApi, deps: CardIssuingDeps): void {
  const keysOrRefuse = (): SiteCardKeys => {
    if (!deps.keys) throw new AdminError(503, 'this gate holds no card master (card-master-v<N>.key in its keys folder), so it cannot issue cards');
    return deps.keys;
  };
  /** The issuer master is zeroed once the card is done with, whatever happened. */
  const onNextCard = async (wait: number, issuerKeyBase64: string, work: (card: CardChannel, issuerMaster: Uint8Array) => Promise<IssuedCard>) => {
    const issuerMaster = new Uint8Array(Buffer.from(issuerKeyBase64, 'base64'));
    try {
      return await deps.reader.runOnNextCard(wait, async (card) => {
        const issued = await work(card, issuerMaster);
        return { uid: issued.uid, result: issued };
      });
    } catch (err) {
      if (err instanceof IssueError) throw new AdminError(409, err.message);
      throw new AdminError(408, `no card was issued within ${wait / 1000} s (${(err as Error).message})`);
    } finally {
      issuerMaster.fill(0);
    }
  };
  const describe = (cardHash: string, card: IssuedCard) => ({ cardHash, card: card.card, keyVersion: card.keyVersion, randomUid: card.randomUid });

  api.route('POST', '/residents/:id/cards/issue', async (req) => {
    const id = req.params.id ?? '';
    const body = parseBody(issueBody, req.body);
    if (!deps.store.getResident(id)) throw new StoreError('not-found', `no resident with id ${id}`);
    const keys = keysOrRefuse();
    if (body.check) return { ready: true, keyVersion: keys.current };
    const { cardHash, result } = await onNextCard(body.timeoutMs, body.issuerKey, ({ transceive, anticollisionUid }, issuerMaster) =>
      issueCard(transceive, anticollisionUid, keys, { card: body.card, issuerMaster, randomUid: body.randomUid }, fresh16),
    );
    deps.registry.addCardHash(id, cardHash, 'tap');
    deps.bus.emit({ type: 'card.issued', reason: result.card, data: { residentId: id, credential: cardHash, keyVersion: result.keyVersion, randomUid: result.randomUid } });
    return describe(cardHash, result);
  });

  api.route('POST', '/cards/rekey', async (req) => {
    const body = parseBody(rekeyBody, req.body);
    const keys = keysOrRefuse();
    if (body.check) return { ready: true, keyVersion: keys.current };
    const { cardHash, result } = await onNextCard(body.timeoutMs, body.issuerKey, ({ transceive, anticollisionUid }, issuerMaster) =>
      rekeyCard(transceive, anticollisionUid, keys, issuerMaster, fresh16),
    );
    deps.bus.emit({ type: 'card.rekeyed', reason: result.card, data: { credential: cardHash, keyVersion: result.keyVersion } });
    return { ...describe(cardHash, result), enrolledTo: deps.store.residentByCard(cardHash)?.id ?? null };
  });
}
