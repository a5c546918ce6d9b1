import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MATCH_THRESHOLD } from '../../firmware/vision/config';
import { startDaemon, type GateEventJson, type StartedDaemon } from '../helpers/daemon';
import { fixture } from '../helpers/fixtures';
import { PATIENCE_MS } from '../helpers/patience';

const photo = (rel: string) => readFileSync(fixture(`faces/${rel}`));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// Real models on a busy machine: a frame can take over a second, a model load many.
jest.setTimeout(240_000);

/**
 * One decision per photo: after a decision the gate ignores faces for this long, which covers the few
 * frames still in flight when the photo is taken away, however slowly they are analysed.
 */
const COOLDOWN_MS = 5000;

async function waitForFace(gate: StartedDaemon, status: string, timeoutMs = PATIENCE_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await gate.state()).methods.face === status) return;
    await sleep(100);
  }
  throw new Error(`face never became ${status}: ${JSON.stringify((await gate.state()).methods)}`);
}

async function lastSeq(gate: StartedDaemon): Promise<number> {
  const events = await gate.events();
  return events.length ? events[events.length - 1]!.seq : 0;
}

const show = (gate: StartedDaemon, rel: string, holdMs: number) =>
  gate.post(`/api/sim/camera?holdMs=${holdMs}`, photo(rel), rel.endsWith('.png') ? 'image/png' : 'image/jpeg');

/** The person walks away: another image, shown for 1 ms, replaces the photo, and the scene goes empty. */
const stepAway = (gate: StartedDaemon) => show(gate, 'non-face/brick.png', 1);

/**
 * Stands in front of the camera with a photo until the gate decides (the first access event after
 * `since`), however many frames that takes, then steps away and lets the cooldown pass, so that nothing
 * from this photo can reach the next test.
 */
async function decisionOn(gate: StartedDaemon, rel: string): Promise<GateEventJson> {
  const since = await lastSeq(gate);
  await show(gate, rel, 60_000);
  try {
    return await gate.waitForEvent((e) => e.seq > since && e.type.startsWith('access.'));
  } finally {
    await stepAway(gate);
    await sleep(COOLDOWN_MS);
  }
}

describe('face recognition through the real daemon, the bench camera and the admin API (real models)', () => {
  let gate: StartedDaemon;
  beforeAll(async () => {
    gate = await startDaemon({
      config: {
        access: { methods: ['card', 'face'] },
        // k-of-n agreeing frames within windowMs: wide, so a busy machine's slow frames still add up to a decision.
        face: { camera: { framerate: 5 }, match: { cooldownMs: COOLDOWN_MS, windowMs: 30_000 }, enrol: { timeoutMs: PATIENCE_MS } },
      },
    });
    await waitForFace(gate, 'ok');
    expect((await gate.post('/api/admin/residents', { id: 'res-a' })).status).toBe(200);
    expect((await gate.post('/api/admin/residents', { id: 'res-b' })).status).toBe(200);
  });
  afterAll(() => gate.stop());

  test('enrolment without a consent record is refused and stores nothing', async () => {
    const res = await gate.post('/api/admin/face/enrol', { residentId: 'res-b' });
    expect(res.status).toBe(403);
    expect(res.body.error).toContain('no consent');
    const residents = (await gate.get('/api/admin/residents')).body.residents;
    expect(residents.find((r: { id: string }) => r.id === 'res-b').face).toBe(false);
  });

  test('bad enrol and camera requests get clear errors', async () => {
    expect((await gate.post('/api/admin/face/enrol', { residentId: 'res-a', frames: 0 })).body.error).toBe('frames: frames must be at least 1');
    expect((await gate.post('/api/admin/face/enrol', {})).body.error).toContain('residentId');
    const notImage = await gate.post('/api/sim/camera', Buffer.from('hello'), 'image/jpeg');
    expect(notImage.status).toBe(400);
    expect(notImage.body.error).toContain('not a JPEG or PNG');
  });

  test('enrol with consent, then another photo of the same person is granted after k-of-n frames', async () => {
    const consent = await gate.post('/api/admin/residents/res-a/consent', { noticeVersion: 'v1', consentedBy: 'self' });
    expect(consent.status).toBe(200);
    const enrolling = gate.post('/api/admin/face/enrol', { residentId: 'res-a', frames: 3 });
    await sleep(100);
    await show(gate, 'face_recognition/obama2.jpg', 60_000);
    const enrolled = await enrolling;
    await stepAway(gate);
    expect(enrolled.status).toBe(200);
    expect(enrolled.body).toMatchObject({ residentId: 'res-a', frames: 3 });
    expect(enrolled.body.consistency).toBeGreaterThan(0.9);
    await gate.waitForEvent((e) => e.type === 'face.enrolled' && (e.data as { residentId: string }).residentId === 'res-a');
    await sleep(COOLDOWN_MS); // frames of the enrolment photo still in flight are judged, and any decision on them passes

    const granted = await decisionOn(gate, 'face_recognition/obama1.jpg');
    expect(granted.type).toBe('access.granted');
    expect(granted.data).toMatchObject({ method: 'face', residentId: 'res-a' });
    expect((granted.data as { score: number }).score).toBeGreaterThan(MATCH_THRESHOLD);
  });

  test('another person is denied with a reason', async () => {
    const denied = await decisionOn(gate, 'face_recognition/biden2.jpg');
    expect(denied.type).toBe('access.denied');
    expect(denied.reason).toBe('unknown');
    expect(denied.data).toMatchObject({ method: 'face' });
  });

  test('an image without a face yields no decision', async () => {
    const since = await lastSeq(gate);
    await show(gate, 'non-face/brick.png', 2000);
    await sleep(2500);
    const events = await gate.events(since);
    expect(events.filter((e) => e.type.startsWith('access.'))).toEqual([]);
  });

  test('after consent is withdrawn the template is gone (receipt) and the same face is denied', async () => {
    const withdrawn = await gate.post('/api/admin/residents/res-a/consent/withdraw', {});
    expect(withdrawn.status).toBe(200);
    expect(withdrawn.body.receipt).toMatchObject({ residentId: 'res-a', what: 'face-template', why: 'consent-withdrawn' });
    const residents = (await gate.get('/api/admin/residents')).body.residents;
    expect(residents.find((r: { id: string }) => r.id === 'res-a')).toMatchObject({ consent: false, face: false });
    const templates = readFileSync(join(gate.dataDir, 'templates.json'), 'utf8');
    expect(templates).not.toContain('res-a');

    const decision = await decisionOn(gate, 'face_recognition/obama1.jpg');
    expect(decision.type).toBe('access.denied');
    expect(decision.data).toMatchObject({ method: 'face' });
    expect(decision.data).not.toHaveProperty('residentId');
  });
});

describe('when the camera fails, face is degraded and cards still open the door', () => {
  let gate: StartedDaemon;
  beforeAll(async () => {
    gate = await startDaemon({
      config: { access: { methods: ['card', 'face'] }, face: { camera: { source: 'directory', path: '/nonexistent/camera' } } },
    });
  });
  afterAll(() => gate.stop());

  test('state shows face degraded with the reason; a card tap is granted', async () => {
    // Face is degraded from the start ("loading models"); the camera's reason comes once the worker has loaded them.
    const health = await gate.waitForEvent((e) => e.type === 'method.health' && (e.data as { method: string }).method === 'face' && e.reason.includes('/nonexistent/camera'));
    expect(health.data).toMatchObject({ status: 'degraded' });
    expect((await gate.state()).methods.face).toBe('degraded');
    expect((await gate.post('/api/admin/residents', { id: 'card-holder' })).status).toBe(200);
    expect((await gate.post('/api/admin/residents/card-holder/cards', { uid: '04A1B2C3D4E5F6' })).status).toBe(200);
    await gate.waitForMethod('card', 'ok');
    const since = await lastSeq(gate);
    await gate.post('/api/sim/nfc', { uid: '04A1B2C3D4E5F6' });
    const granted = await gate.waitForEvent((e) => e.seq > since && e.type.startsWith('access.'));
    expect(granted).toMatchObject({ type: 'access.granted', data: { method: 'card', residentId: 'card-holder' } });
  });
});
