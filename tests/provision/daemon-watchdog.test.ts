import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, type StartedDaemon } from '../helpers/daemon';
import { waitFor } from './helpers/supervisor';

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const WATCHDOG_USEC = 1_000_000;

/**
 * The real daemon under a stand-in for systemd: its notifications go through the real systemd-notify
 * to a socket the test reads, and the test kills it with SIGABRT when the pings stop for WATCHDOG_USEC,
 * then starts it again on the same data, as Restart=always would. What the daemon sends is judged by
 * its order on the socket, not by how soon it arrives.
 */
(has('systemd-notify') && has('python3') ? describe : describe.skip)('the daemon under a watchdog', () => {
  let receiver: ChildProcess | undefined;
  const daemons: StartedDaemon[] = [];
  const notifyDir = mkdtempSync(join(tmpdir(), 'postern-notify-'));
  afterAll(async () => {
    for (const d of daemons) await d.signal('SIGKILL');
    receiver?.kill('SIGKILL');
    if (daemons[0]) rmSync(daemons[0].dir, { recursive: true, force: true });
    rmSync(notifyDir, { recursive: true, force: true });
  });

  it('stops pinging when its event loop blocks, is restarted, and the relay is locked again', async () => {
    const socketPath = join(notifyDir, 'notify');
    receiver = spawn('python3', [join(__dirname, 'helpers/notify-socket.py'), socketPath], { stdio: ['ignore', 'pipe', 'inherit'] });
    const got: { at: number; text: string }[] = [];
    receiver.stdout!.setEncoding('utf8').on('data', (s: string) => {
      for (const text of s.split('\n').filter(Boolean)) got.push({ at: Date.now(), text });
    });
    await waitFor('the notify socket', () => got.some((g) => g.text === 'listening'));
    const count = (what: string, after = 0) => got.filter((g) => g.at >= after && g.text.includes(what)).length;
    const sent = (what: string, from = 0, to = got.length) => got.slice(from, to).filter((g) => g.text.includes(what)).length;
    const indexOf = (what: string) => got.findIndex((g) => g.text.includes(what));

    // systemd-notify as found on PATH, except that STOPPING=1 takes a second to go out, as it can on a
    // busy machine: a daemon that exited without waiting for it would lose it.
    const realNotify = spawnSync('sh', ['-c', 'command -v systemd-notify'], { encoding: 'utf8' }).stdout.trim();
    const binDir = join(notifyDir, 'bin');
    mkdirSync(binDir);
    writeFileSync(join(binDir, 'systemd-notify'), `#!/bin/sh\ncase "$*" in *STOPPING=1*) sleep 1 ;; esac\nexec ${realNotify} "$@"\n`);
    chmodSync(join(binDir, 'systemd-notify'), 0o755);

    const options = {
      env: { NOTIFY_SOCKET: socketPath, WATCHDOG_USEC: String(WATCHDOG_USEC), PATH: `${binDir}:${process.env.PATH ?? ''}` },
      nodeArgs: ['--require', join(__dirname, 'fixtures/block-loop-on-sigusr2.js')],
      config: { door: { pulseMs: 20_000 } },
    };
    const first = await startDaemon(options);
    daemons.push(first);
    await waitFor('READY=1', () => count('READY=1') === 1);
    await waitFor('two pings', () => count('WATCHDOG=1') >= 2);

    await first.press('exit');
    await first.waitForEvent((e) => e.type === 'door.unlocked');
    expect((await first.state()).door.relay).toBe('unlocked');

    first.child.kill('SIGUSR2');
    // The fixture reports the block (and waits until the report is delivered) just before it spins.
    await waitFor('the event loop to block', () => indexOf('STATUS=event loop blocked') >= 0);
    const blocked = indexOf('STATUS=event loop blocked');
    let lastPing = got[blocked]!.at;
    await waitFor(
      'the watchdog to fire',
      () => {
        const pings = got.filter((g) => g.text.includes('WATCHDOG=1'));
        lastPing = Math.max(lastPing, pings.at(-1)?.at ?? 0);
        if (Date.now() - lastPing < WATCHDOG_USEC / 1000) return false;
        first.child.kill('SIGABRT');
        return true;
      },
    );
    // One ping started just before the block may land after the report; a loop still pinging would
    // send one every WATCHDOG_USEC / 2 and never have let the watchdog fire.
    expect(sent('WATCHDOG=1', blocked + 1)).toBeLessThanOrEqual(1);
    await first.signal('SIGABRT');
    // The dead process left its output where it was, as a real GPIO line keeps its level.
    expect(first.simLevels().relay.active).toBe(true);

    const restartedAt = Date.now();
    const second = await startDaemon({ ...options, dir: first.dir });
    daemons.push(second);
    expect(second.simLevels().relay.active).toBe(false);
    expect((await second.state()).door.relay).toBe('locked');
    await waitFor('READY=1 after the restart', () => count('READY=1', restartedAt) === 1);
    await waitFor('pings after the restart', () => count('WATCHDOG=1', restartedAt) >= 1);

    const beforeStop = got.length;
    await second.stop(true);
    // The daemon exits only once STOPPING=1 is delivered, so it is on the socket before anything sent now.
    spawnSync(realNotify, ['STATUS=test: the daemon has exited'], { env: { ...process.env, NOTIFY_SOCKET: socketPath }, stdio: 'ignore' });
    await waitFor('the exit marker', () => indexOf('STATUS=test: the daemon has exited') >= 0);
    expect(sent('STOPPING=1', beforeStop, indexOf('STATUS=test: the daemon has exited'))).toBe(1);
  }, 240_000);
});
