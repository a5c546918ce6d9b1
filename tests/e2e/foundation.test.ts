import { join } from 'node:path';
import { REPO_ROOT, startDaemon, type StartedDaemon } from '../helpers/daemon';

const CRASH_INJECTOR = join(REPO_ROOT, 'tests', 'fixtures', 'crash-injector.js');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the gate daemon in sim mode', () => {
  let gate: StartedDaemon;
  beforeAll(async () => {
    // A pulse long enough for the test to see the door unlocked, however slowly a busy machine lets it look.
    gate = await startDaemon({ config: { door: { pulseMs: 5000, forcedGraceMs: 0 } } });
  });
  afterAll(() => gate.stop());

  test('prints the banner naming simulated devices and serves the locked state', async () => {
    expect(gate.stderr()).toContain('SIMULATED hardware');
    expect(gate.stderr()).toMatch(/gpio\s+simulated/);
    expect(gate.stderr()).toContain(gate.benchUrl);
    const state = await gate.state();
    expect(state.door).toEqual({ relay: 'locked', contact: 'closed', mode: 'normal' });
    expect(state.alarms).toEqual([]);
    expect(state.methods.exit).toBe('ok');
    expect(gate.simLevels().relay).toEqual({ level: 0, active: false });
  });

  test('the exit button unlocks for the pulse, then the relay locks again', async () => {
    await gate.press('exit');
    expect((await gate.state()).door.relay).toBe('unlocked');
    expect(gate.simLevels().relay.level).toBe(1);
    await gate.waitForEvent((e) => e.type === 'door.locked' && e.reason === 'pulse-ended');
    expect((await gate.state()).door.relay).toBe('locked');
    expect(gate.simLevels().relay.level).toBe(0);
  });

  test('the contact opening with no grant raises the door.forced alarm', async () => {
    await gate.setInput('contact', true);
    const forced = await gate.waitForEvent((e) => e.type === 'door.forced');
    expect(forced.reason).toBe('opened-without-grant');
    expect((await gate.state()).alarms).toEqual(['door.forced']);
    await gate.setInput('contact', false);
    await gate.waitForEvent((e) => e.type === 'alarm.cleared' && e.reason === 'door.forced');
  });

  test('events are ordered by seq with unique ids, and since= filters', async () => {
    const events = await gate.events();
    const seqs = events.map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    for (const e of events) expect(Object.keys(e)).toEqual(expect.arrayContaining(['seq', 'id', 'ts', 'type', 'reason']));
    const last = seqs[seqs.length - 1]!;
    expect(await gate.events(last)).toEqual([]);
  });

  test('bad bench requests get clear errors', async () => {
    expect(await gate.post('/api/sim/input', { name: 'doorbell', value: true })).toEqual({
      status: 400,
      body: { error: 'name="doorbell" must be one of exit, contact, tamper' },
    });
    expect((await gate.post('/api/sim/input', { name: 'exit', value: 'yes' })).body.error).toContain('must be true or false');
    expect((await gate.post('/api/sim/input', 'not json', 'application/json')).status).toBe(400);
    expect((await gate.get('/api/events?since=abc')).status).toBe(400);
    expect((await gate.get('/api/nothing')).status).toBe(404);
    expect((await gate.get('/api/sim/input')).status).toBe(405);
  });

  test('the live page and its event stream are served', async () => {
    const page = await gate.get('/');
    expect(page.status).toBe(200);
    expect(page.body).toContain('EventSource');
    const res = await fetch(`${gate.benchUrl}/api/stream`);
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toContain('event: state');
    expect(first).toContain('"relay":"locked"');
    await reader.cancel();
  });
});

describe('the relay is locked on every exit path', () => {
  /** Starts a gate, unlocks it for a long pulse, and returns it with the relay energised. */
  async function unlockedGate(extra: Parameters<typeof startDaemon>[0] = {}) {
    const gate = await startDaemon({ config: { door: { pulseMs: 60_000 } }, ...extra });
    await gate.press('exit');
    await gate.waitForEvent((e) => e.type === 'door.unlocked');
    expect(gate.simLevels().relay.level).toBe(1);
    return gate;
  }

  test.each(['SIGTERM', 'SIGINT'] as const)('%s locks the relay and exits 0', async (sig) => {
    const gate = await unlockedGate();
    expect(await gate.signal(sig)).toBe(0);
    expect(gate.simLevels().relay).toEqual({ level: 0, active: false });
    await gate.stop();
  });

  test.each([
    ['an uncaught exception', 'uncaught'],
    ['an unhandled rejection', 'rejection'],
  ])('%s locks the relay and exits non-zero', async (_label, kind) => {
    const gate = await unlockedGate({ nodeArgs: ['--require', CRASH_INJECTOR], env: { POSTERN_CRASH: kind } });
    const code = await gate.signal('SIGUSR2');
    expect(code).toBe(70);
    expect(gate.simLevels().relay).toEqual({ level: 0, active: false });
    expect(gate.logs.some((l) => l.msg === 'fatal error: relay locked, exiting')).toBe(true);
    await gate.stop();
  });

  test('after kill -9 mid-unlock, the next start locks the relay before anything else', async () => {
    const first = await unlockedGate();
    await first.signal('SIGKILL');
    // SIGKILL cannot be caught: the line keeps its level, as a real GPIO line would.
    expect(first.simLevels().relay.level).toBe(1);
    const second = await startDaemon({ dir: first.dir, config: { door: { pulseMs: 60_000 } } });
    try {
      expect(second.simLevels().relay.level).toBe(0);
      expect((await second.state()).door.relay).toBe('locked');
      const events = await second.events();
      expect(events.find((e) => e.type === 'door.unlocked')).toBeUndefined();
    } finally {
      await second.stop();
      await first.stop();
      await sleep(0);
    }
  });
});
