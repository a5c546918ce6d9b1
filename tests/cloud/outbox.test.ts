import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Outbox } from '../../firmware/cloud/outbox';
import { ReplayCache } from '../../firmware/cloud/replay-cache';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'postern-outbox-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const drain = (box: Outbox, n: number) => {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const e = box.peek()!;
    out.push(e.payload);
    box.ack(e);
  }
  return out;
};

test('unacknowledged entries survive a reopen, in order; acknowledged ones do not come back', () => {
  const box = new Outbox(dir);
  for (let i = 1; i <= 5; i++) box.append(JSON.stringify({ id: `e${i}` }));
  expect(drain(box, 2)).toEqual(['{"id":"e1"}', '{"id":"e2"}']);
  box.close();
  const again = new Outbox(dir);
  expect(again.pending).toBe(3);
  expect(drain(again, 3)).toEqual(['{"id":"e3"}', '{"id":"e4"}', '{"id":"e5"}']);
  again.close();
  expect(new Outbox(dir).pending).toBe(0);
});

test('a torn last line (crash mid-append) is dropped and the file repaired; earlier entries stay', () => {
  const box = new Outbox(dir);
  box.append('{"id":"e1"}');
  box.close();
  const segment = readdirSync(dir).find((f) => f.endsWith('.jsonl'))!;
  appendFileSync(join(dir, segment), '{"id":"e2","tr');
  const again = new Outbox(dir);
  expect(again.pending).toBe(1);
  again.append('{"id":"e3"}');
  expect(drain(again, 2)).toEqual(['{"id":"e1"}', '{"id":"e3"}']);
  expect(readFileSync(join(dir, segment), 'utf8')).toBe('{"id":"e1"}\n{"id":"e3"}\n');
});

test('a fully acknowledged segment past the roll size is replaced by a new one', () => {
  const box = new Outbox(dir, 64);
  for (let i = 0; i < 10; i++) box.append(JSON.stringify({ id: `e${i}` }));
  drain(box, 10);
  box.append('{"id":"after-roll"}');
  box.close();
  expect(readdirSync(dir).filter((f) => f.endsWith('.jsonl'))).toEqual(['outbox-00000002.jsonl']);
  const again = new Outbox(dir, 64);
  expect(drain(again, 1)).toEqual(['{"id":"after-roll"}']);
});

test('acknowledging out of order is a programming error', () => {
  const box = new Outbox(dir);
  box.append('{"id":"a"}');
  box.append('{"id":"b"}');
  const first = box.peek()!;
  box.ack(first);
  expect(() => box.ack(first)).toThrow(/in order/);
});

test('replay cache persists accepted nonces and forgets them only after expiry plus skew', () => {
  const cache = new ReplayCache(dir, 1000);
  cache.record('nonce-a-0123456789', 10_000, 5_000);
  cache.record('nonce-b-0123456789', 20_000, 6_000);
  const reopened = new ReplayCache(dir, 1000);
  expect(reopened.has('nonce-a-0123456789')).toBe(true);
  reopened.record('nonce-c-0123456789', 30_000, 11_001);
  expect(reopened.has('nonce-a-0123456789')).toBe(false);
  expect(reopened.has('nonce-b-0123456789')).toBe(true);
  expect(new ReplayCache(dir, 1000).size).toBe(2);
});
