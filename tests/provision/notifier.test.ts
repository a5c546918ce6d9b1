import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { notificationsSettled, systemdNotifyCommand } from '../../firmware/watchdog/notifier';
import { waitFor } from './helpers/supervisor';

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const canRun = has('systemd-notify') && has('python3');

function recordingLog() {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { log, lines };
}

(canRun ? describe : describe.skip)('systemdNotifyCommand through the real systemd-notify', () => {
  let receiver: ChildProcess | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'postern-notify-'));
  afterAll(() => {
    receiver?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers READY=1 and WATCHDOG=1 to $NOTIFY_SOCKET', async () => {
    const socketPath = join(dir, 'notify');
    receiver = spawn('python3', [join(__dirname, 'helpers/notify-socket.py'), socketPath], { stdio: ['ignore', 'pipe', 'inherit'] });
    const got: string[] = [];
    receiver.stdout!.setEncoding('utf8').on('data', (s: string) => got.push(...s.split('\n').filter(Boolean)));
    await waitFor('the socket', () => got.includes('listening'));
    const { log, lines } = recordingLog();
    const notifier = systemdNotifyCommand({ ...process.env, NOTIFY_SOCKET: socketPath }, log);
    notifier.send(['READY=1', 'STATUS=gate running']);
    await waitFor('READY', () => got.some((l) => l.includes('READY=1')));
    notifier.send(['WATCHDOG=1']);
    await waitFor('WATCHDOG', () => got.some((l) => l.includes('WATCHDOG=1')));
    expect(got.find((l) => l.includes('READY=1'))).toContain('STATUS=gate running');
    expect(lines.filter((l) => l.level === 50)).toEqual([]);
  });
});

describe('systemdNotifyCommand failures', () => {
  it('logs once, without throwing, when the command is missing', async () => {
    const { log, lines } = recordingLog();
    const notifier = systemdNotifyCommand({ NOTIFY_SOCKET: '/nonexistent' }, log, '/nonexistent/systemd-notify');
    notifier.send(['WATCHDOG=1']);
    notifier.send(['WATCHDOG=1']);
    await notificationsSettled(); // both attempts have failed by now
    expect(lines.filter((l) => l.level === 50)).toEqual([expect.objectContaining({ reason: 'ENOENT' })]);
  });
});

describe('notificationsSettled', () => {
  it('resolves only once every notification handed to systemd-notify has gone out', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'postern-notify-slow-'));
    try {
      // A systemd-notify that takes a while, as a real one can on a busy machine.
      const slow = join(dir, 'slow-notify');
      writeFileSync(slow, `#!/bin/sh\nsleep 0.5\necho "$*" >> ${JSON.stringify(join(dir, 'delivered'))}\n`);
      chmodSync(slow, 0o755);
      const { log } = recordingLog();
      const notifier = systemdNotifyCommand({ NOTIFY_SOCKET: '/nonexistent' }, log, slow);
      notifier.send(['WATCHDOG=1']);
      notifier.send(['STOPPING=1', 'STATUS=shutting down']);
      expect(existsSync(join(dir, 'delivered'))).toBe(false);
      await notificationsSettled();
      expect(readFileSync(join(dir, 'delivered'), 'utf8').split('\n').filter(Boolean).sort()).toEqual(['STOPPING=1 STATUS=shutting down', 'WATCHDOG=1']);
      await notificationsSettled(); // nothing left under way: resolves at once
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('resolves when the command cannot even start', async () => {
    const { log } = recordingLog();
    systemdNotifyCommand({ NOTIFY_SOCKET: '/nonexistent' }, log, '/nonexistent/systemd-notify').send(['STOPPING=1']);
    await notificationsSettled();
  });
});
