import { request } from 'node:http';
import { startDaemon, type StartedDaemon } from '../helpers/daemon';

/**
 * The bench against the requests a web page on another site, or a DNS name rebound to 127.0.0.1, can
 * make: the real built daemon in sim mode, driven with raw HTTP so that Host, Origin and the body type
 * are exactly what a browser would send.
 */

const PULSE_MS = 1500;
const EVIL = 'http://evil.example';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Answer {
  status: number;
  body: any;
}

let gate: StartedDaemon;
let port: number;

/** One request with every header under the test's control (fetch would set Host itself). */
function raw(method: string, path: string, headers: Record<string, string>, body?: string | Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: { host: `127.0.0.1:${port}`, ...headers } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => {
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          /* the page */
        }
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const json = (value: unknown) => JSON.stringify(value);
const PULSE = json({ name: 'exit', pulse: true });

async function residents(): Promise<string[]> {
  return (await gate.get('/api/admin/residents')).body.residents.map((r: { id: string }) => r.id);
}

/** Waits longer than a default pulse and the debounce, then checks that nothing opened the door. */
async function expectStillLocked(since: number): Promise<void> {
  await sleep(600);
  expect((await gate.state()).door.relay).toBe('locked');
  expect(gate.simLevels().relay.active).toBe(false);
  expect((await gate.events(since)).filter((e) => e.type.startsWith('door.') && e.type !== 'door.locked')).toEqual([]);
}

async function lastSeq(): Promise<number> {
  const events = await gate.events();
  return events.length ? events[events.length - 1]!.seq : 0;
}

beforeAll(async () => {
  gate = await startDaemon({ config: { door: { pulseMs: PULSE_MS, forcedGraceMs: 0 } }, readyTimeoutMs: 60_000 });
  port = Number(new URL(gate.benchUrl).port);
});
afterAll(() => gate?.stop());

describe('requests from other origins are refused', () => {
  test('a forged cross-site form post (Origin evil, text/plain) of an exit pulse leaves the relay locked', async () => {
    const since = await lastSeq();
    const forged = await raw('POST', '/api/sim/input', { origin: EVIL, 'content-type': 'text/plain', 'sec-fetch-site': 'cross-site' }, PULSE);
    expect(forged.status).toBe(403);
    expect(forged.body.error).toContain(EVIL);
    await expectStillLocked(since);
  });

  test('application/json from another origin is refused too (403), and so is a cross-site request with no Origin', async () => {
    const since = await lastSeq();
    expect((await raw('POST', '/api/sim/input', { origin: EVIL, 'content-type': 'application/json' }, PULSE)).status).toBe(403);
    expect((await raw('POST', '/api/sim/input', { origin: 'null', 'content-type': 'application/json' }, PULSE)).status).toBe(403);
    expect((await raw('POST', '/api/sim/input', { 'sec-fetch-site': 'cross-site', 'content-type': 'application/json' }, PULSE)).status).toBe(403);
    expect((await raw('POST', '/api/sim/input', { 'sec-fetch-site': 'same-site', 'content-type': 'application/json' }, PULSE)).status).toBe(403);
    // another port on this machine is another origin
    expect((await raw('POST', '/api/sim/input', { origin: `http://127.0.0.1:${port + 1}`, 'content-type': 'application/json' }, PULSE)).status).toBe(403);
    expect((await raw('POST', '/api/sim/nfc', { origin: EVIL, 'content-type': 'application/json' }, json({ uid: '04A1B2C3D4E5F6' }))).status).toBe(403);
    await expectStillLocked(since);
  });

  test('Host: evil.example (DNS rebinding) gets 403 on reads and on state changes', async () => {
    const since = await lastSeq();
    const read = await raw('GET', '/api/state', { host: 'evil.example' });
    expect(read.status).toBe(403);
    expect(read.body.error).toContain('evil.example');
    expect(read.body).not.toHaveProperty('door');
    expect((await raw('GET', '/api/events?since=0', { host: `evil.example:${port}` })).status).toBe(403);
    expect((await raw('GET', '/', { host: 'evil.example' })).status).toBe(403);
    expect((await raw('POST', '/api/sim/input', { host: `evil.example:${port}`, 'content-type': 'application/json' }, PULSE)).status).toBe(403);
    expect((await raw('POST', '/api/admin/residents', { host: 'evil.example', 'content-type': 'application/json' }, json({ id: 'r-rebound' }))).status).toBe(403);
    await expectStillLocked(since);
    expect(await residents()).not.toContain('r-rebound');
  });

  test('a text/plain or form body to the admin API is 415, naming what was sent and what is needed, and creates nothing', async () => {
    const plain = await raw('POST', '/api/admin/residents', { 'content-type': 'text/plain' }, json({ id: 'r-plain' }));
    expect(plain).toEqual({ status: 415, body: { error: expect.stringMatching(/text\/plain.*application\/json/) } });
    // curl -d sends this type unless told otherwise
    const form = await raw('POST', '/api/admin/residents', { 'content-type': 'application/x-www-form-urlencoded' }, '{bad');
    expect(form.status).toBe(415);
    expect(form.body.error).toContain('application/x-www-form-urlencoded');
    expect((await raw('POST', '/api/admin/residents', {}, json({ id: 'r-none' }))).status).toBe(415);
    expect(await residents()).toEqual([]);
  });

  test('a body that is not JSON, or no body, creates nothing (400 naming the problem)', async () => {
    const bad = await raw('POST', '/api/admin/residents', { 'content-type': 'application/json' }, '{bad');
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/not valid JSON/);
    const empty = await raw('POST', '/api/admin/residents', { 'content-type': 'application/json' });
    expect(empty.status).toBe(400);
    expect(empty.body.error).toMatch(/needs a JSON object body/);
    expect((await raw('POST', '/api/admin/residents', { 'content-type': 'application/json' }, 'null')).status).toBe(400);
    expect((await raw('POST', '/api/sim/input', { 'content-type': 'application/json' })).body.error).toMatch(/body is empty/);
    expect(await residents()).toEqual([]);
  });

  test('text/plain to a sim route is 415 and presses nothing', async () => {
    const since = await lastSeq();
    const res = await raw('POST', '/api/sim/input', { 'content-type': 'text/plain' }, PULSE);
    expect(res).toEqual({ status: 415, body: { error: 'content-type text/plain is not accepted here: send application/json' } });
    await expectStillLocked(since);
  });
});

describe('the bench itself keeps working', () => {
  test('its own origin, as 127.0.0.1 or localhost, may change state', async () => {
    const own = await raw('POST', '/api/admin/residents', { origin: `http://127.0.0.1:${port}`, 'sec-fetch-site': 'same-origin', 'content-type': 'application/json; charset=utf-8' }, json({ id: 'r-own' }));
    expect(own).toMatchObject({ status: 200, body: { resident: { id: 'r-own' } } });
    const viaLocalhost = await raw('POST', '/api/admin/residents', { host: `localhost:${port}`, origin: `http://localhost:${port}`, 'content-type': 'application/json' }, json({ id: 'r-localhost' }));
    expect(viaLocalhost.status).toBe(200);
    expect((await raw('GET', '/api/state', { host: `localhost:${port}` })).status).toBe(200);
    // a link followed from another site still opens the page (it can change nothing)
    expect((await raw('GET', '/', { 'sec-fetch-site': 'cross-site' })).status).toBe(200);
  });

  test('no Origin at all (curl, the CLI) may change state', async () => {
    expect(await gate.post('/api/admin/residents', { id: 'r-curl' })).toMatchObject({ status: 200 });
    expect(await gate.post('/api/admin/residents/r-curl/revoke', {})).toMatchObject({ status: 200 });
    expect(await residents()).toEqual(expect.arrayContaining(['r-own', 'r-localhost', 'r-curl']));
  });

  test('{"name":"exit","pulse":true} presses past the debounce, answers after the release, and the door relocks after door.pulseMs', async () => {
    const since = await lastSeq();
    const started = Date.now();
    const res = await gate.post('/api/sim/input', { name: 'exit', pulse: true });
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    expect(res).toEqual({ status: 200, body: { ok: true, name: 'exit', pulse: true, holdMs: 200, released: true } });
    expect(await gate.waitForEvent((e) => e.seq > since && e.type === 'door.exit-request', 10_000)).toMatchObject({ reason: 'exit-button' });
    const unlocked = await gate.waitForEvent((e) => e.seq > since && e.type === 'door.unlocked', 10_000);
    expect(unlocked.reason).toBe('exit-button');
    const locked = await gate.waitForEvent((e) => e.seq > since && e.type === 'door.locked' && e.reason === 'pulse-ended', PULSE_MS + 15_000);
    expect(Date.parse(locked.ts) - Date.parse(unlocked.ts)).toBeGreaterThanOrEqual(PULSE_MS - 50);
    expect((await gate.state()).door.relay).toBe('locked');
    expect(gate.simLevels().relay.active).toBe(false);
  });

  test('holdMs sets the press length; out-of-range or mixed requests are 400 with the reason', async () => {
    const since = await lastSeq();
    expect(await gate.post('/api/sim/input', { name: 'exit', holdMs: 120 })).toEqual({ status: 200, body: { ok: true, name: 'exit', pulse: true, holdMs: 120, released: true } });
    await gate.waitForEvent((e) => e.seq > since && e.type === 'door.exit-request', 10_000);
    const bad = async (body: Record<string, unknown>) => (await gate.post('/api/sim/input', body)).body.error as string;
    expect(await bad({ name: 'exit', holdMs: 0 })).toBe('holdMs=0 must be a whole number of ms from 1 to 10000');
    expect(await bad({ name: 'exit', holdMs: 10_001 })).toBe('holdMs=10001 must be a whole number of ms from 1 to 10000');
    expect(await bad({ name: 'exit', holdMs: 1.5 })).toContain('whole number');
    expect(await bad({ name: 'exit', pulse: false })).toBe('pulse=false must be true (or left out)');
    expect(await bad({ name: 'exit', pulse: true, value: true })).toBe('give either value, or pulse/holdMs, not both');
    await gate.waitForEvent((e) => e.seq > since && e.type === 'door.locked' && e.reason === 'pulse-ended', PULSE_MS + 15_000);
  });

  test('a value request for the same input ends a pulse early; the pulse answers released: false', async () => {
    const pulse = gate.post('/api/sim/input', { name: 'tamper', holdMs: 5000 });
    await sleep(100);
    await gate.setInput('tamper', false);
    expect(await pulse).toEqual({ status: 200, body: { ok: true, name: 'tamper', pulse: true, holdMs: 5000, released: false } });
  });
});
