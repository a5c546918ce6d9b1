import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { planWatchdog } from '../../firmware/watchdog/interval';
import { startWatchdog } from '../../firmware/watchdog/watchdog';
import { Supervisor, waitFor } from './helpers/supervisor';

const silent = pino({ level: 'silent' });

describe('planWatchdog', () => {
  it('pings at half of WATCHDOG_USEC', () => {
    expect(planWatchdog({ NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '30000000' }, 7)).toEqual({
      notify: true,
      pingMs: 15000,
      reason: 'WATCHDOG_USEC=30000000',
    });
  });
  it('stays silent outside systemd', () => {
    expect(planWatchdog({ WATCHDOG_USEC: '30000000' }, 7).notify).toBe(false);
  });
  it('does not ping for another process named by WATCHDOG_PID', () => {
    const plan = planWatchdog({ NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '30000000', WATCHDOG_PID: '8' }, 7);
    expect(plan).toMatchObject({ notify: true, pingMs: null });
    expect(plan.reason).toContain('WATCHDOG_PID=8');
  });
  it('rejects a malformed WATCHDOG_USEC', () => {
    expect(planWatchdog({ NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '30s' }, 7)).toMatchObject({ notify: true, pingMs: null });
  });
});

describe('startWatchdog', () => {
  afterEach(() => jest.useRealTimers());

  function harness() {
    jest.useFakeTimers();
    let clock = 0;
    const sent: string[][] = [];
    const wd = startWatchdog({
      env: { NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '2000000' },
      log: silent,
      notify: { send: (f) => sent.push([...f]) },
      pid: 1,
      now: () => clock,
    });
    const advance = (ms: number, loopLagMs = 0) => {
      clock += ms + loopLagMs;
      jest.advanceTimersByTime(ms);
    };
    return { wd, sent, advance };
  }

  it('pings every half interval, then READY and STOPPING, and no pings after stopping', () => {
    const { wd, sent, advance } = harness();
    expect(wd.pingMs).toBe(1000);
    advance(1000);
    advance(1000);
    wd.ready();
    advance(1000);
    wd.stopping();
    advance(5000);
    expect(sent).toEqual([
      ['WATCHDOG=1'],
      ['WATCHDOG=1'],
      ['WATCHDOG=1'],
      ['READY=1', 'STATUS=gate running'],
      ['WATCHDOG=1'],
      ['STOPPING=1', 'STATUS=shutting down'],
    ]);
  });

  it('withholds the ping when the loop came back more than half an interval late', () => {
    const { wd, sent, advance } = harness();
    advance(1000, 600);
    advance(1000, 100);
    wd.stop();
    expect(sent).toEqual([['WATCHDOG=1'], ['WATCHDOG=1']]);
  });
});

describe('a daemon whose event loop blocks', () => {
  // The real module in a real Node process: its pings stop when its loop blocks, and the supervisor
  // (standing in for systemd) kills and restarts it. The child reports the block on the same ordered
  // channel as its pings, so what came after it is known without timing the delivery. WATCHDOG_USEC is
  // long enough that a busy machine starting Node does not look like a hang.
  const built = resolve(__dirname, '../../dist/firmware/watchdog/watchdog.js');
  const dir = mkdtempSync(join(tmpdir(), 'postern-wd-'));
  const script = join(dir, 'child.js');
  writeFileSync(
    script,
    `const { startWatchdog } = require(${JSON.stringify(built)});
const pino = require(${JSON.stringify(require.resolve('pino'))});
const wd = startWatchdog({ env: process.env, log: pino({ level: 'silent' }), notify: { send: (f) => process.send({ notify: [...f] }) } });
const alive = setInterval(() => {}, 1000);
wd.ready();
process.on('message', (m) => { if (m === 'block') { process.send({ notify: ['STATUS=blocked'] }); for (;;) {} } });
`,
  );

  let supervisor: Supervisor | undefined;
  afterEach(async () => supervisor?.stop());
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('stops pinging, is killed after WATCHDOG_USEC, and comes back ready', async () => {
    supervisor = new Supervisor(script, 2_000_000);
    const sup = supervisor;
    sup.start();
    await waitFor('first READY', () => sup.messages.some((m) => m.fields.includes('READY=1')));
    await waitFor('three pings', () => sup.messages.filter((m) => m.fields.includes('WATCHDOG=1')).length >= 3);
    const firstPid = sup.pid();
    sup.send('block');
    await waitFor('the watchdog kill', () => sup.kills.length === 1);
    const run1 = sup.messages.filter((m) => m.run === 1);
    const blocked = run1.findIndex((m) => m.fields.includes('STATUS=blocked'));
    expect(blocked).toBeGreaterThan(0);
    expect(run1.slice(blocked + 1).filter((m) => m.fields.includes('WATCHDOG=1'))).toEqual([]);
    // Killed for the block, a full WATCHDOG_USEC after the last ping, not for a slow start.
    expect(sup.kills[0]).toMatchObject({ run: 1 });
    expect(sup.kills[0]!.at - run1[blocked]!.at).toBeGreaterThanOrEqual(0);
    expect(sup.kills[0]!.at - Math.max(...run1.filter((m) => m.fields.includes('WATCHDOG=1')).map((m) => m.at))).toBeGreaterThan(2000);
    await waitFor('READY from the restarted daemon', () => sup.messages.some((m) => m.run === 2 && m.fields.includes('READY=1')));
    expect(sup.pid()).not.toBe(firstPid);
    await waitFor('pings from the restarted daemon', () => sup.messages.filter((m) => m.run === 2 && m.fields.includes('WATCHDOG=1')).length >= 2);
  }, 90_000);
});
