import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultDataDir } from '../../firmware/config/load';
import { resolveTarget } from '../../scripts/cli/admin-client';
import { commands, type CliIo } from '../../scripts/cli/registry';
import { REPO_ROOT, startDaemon, type StartedDaemon } from '../helpers/daemon';

const CLI = join(REPO_ROOT, 'dist', 'scripts', 'postern.js');

function io(): CliIo & { lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  return { lines, errors, out: (l) => lines.push(l), err: (l) => errors.push(l), env: {} };
}

const cli = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, POSTERN_CONFIG: '', POSTERN_ADMIN_SOCKET: '' } });

describe('--help on every command and verb prints its usage on stdout and exits 0', () => {
  test.each(Object.keys(commands))('postern %s --help, and each of its verbs', async (name) => {
    const command = await (commands[name] as () => Promise<{ run: (a: string[], io: CliIo) => Promise<number> }>)();
    const top = io();
    expect(await command.run(['--help'], top)).toBe(0);
    expect(top.errors).toEqual([]);
    expect(top.lines.join('\n')).toMatch(new RegExp(`^usage: postern ${name}\\b`));
    // Commands made of verbs list them as <a|b|c> in their usage line.
    const verbs = /<([a-z-]+(?:\|[a-z-]+)*)>/.exec(top.lines[0] ?? '')?.[1]?.split('|') ?? [];
    for (const verb of verbs) {
      const v = io();
      expect(await command.run([verb, '--help'], v)).toBe(0);
      expect(v.errors).toEqual([]);
      expect(v.lines.join('\n')).toMatch(/usage: postern /);
    }
  });

  test('postern --version, postern --help and a bare postern', () => {
    const version = cli(['--version']);
    expect(version.status).toBe(0);
    expect(version.stdout.trim()).toMatch(/^postern \d+\.\d+\.\d+$/);
    const help = cli(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^usage: postern <command>/);
    expect(cli([]).status).toBe(2);
  });
});

describe('the CLI finds the gate by itself', () => {
  test('with no flag, variable or installed config, it talks to the simulated gate of this checkout', () => {
    const target = resolveTarget({}, {}, join(REPO_ROOT, 'no-such-installed-config.json'));
    expect(target).toEqual({ kind: 'socket', path: join(defaultDataDir(), 'admin.sock') });
    expect(defaultDataDir()).toBe(join(REPO_ROOT, '.postern-sim'));
  });

  test('POSTERN_ADMIN_SOCKET, then POSTERN_CONFIG, then an installed config come before the checkout default', () => {
    const installed = join(REPO_ROOT, 'tests', 'fixtures', 'no-such-config.json');
    expect(resolveTarget({}, { POSTERN_ADMIN_SOCKET: '/run/x.sock', POSTERN_CONFIG: '/nope.json' }, installed)).toEqual({ kind: 'socket', path: '/run/x.sock' });
    expect(() => resolveTarget({}, { POSTERN_CONFIG: '/nope.json' }, installed)).toThrow(/nope\.json/);
    expect(() => resolveTarget({}, {}, '/proc/self/status')).toThrow(/cannot find the admin socket[\s\S]*not valid JSON/);
  });
});

describe('bad input is refused before anything is asked of the user or the gate', () => {
  test('an impossible --valid-until is a usage error; nothing is sent', async () => {
    const { run } = await commands.resident!();
    const out = io();
    expect(await run(['add', '--id', 'r-1', '--valid-until', '2027-02-30'], out)).toBe(2);
    expect(out.errors.join('\n')).toContain('--valid-until "2027-02-30" has day 30, but 2027-02 has 28 days');
    expect(out.errors.join('\n')).not.toMatch(/admin socket|reach the gate/);
  });

  test('receipt verify on a withdrawal that deleted nothing says so instead of failing on JSON', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'postern-receipt-'));
    try {
      writeFileSync(join(dir, 'receipt.json'), JSON.stringify({ receipt: null }));
      const { run } = await commands.receipt!();
      const out = io();
      expect(await run(['verify', join(dir, 'receipt.json')], out)).toBe(1);
      expect(out.errors.join('\n')).toContain('holds no receipt ("receipt": null): the resident had no face template, so nothing was deleted');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('against a running gate', () => {
    let gate: StartedDaemon;
    let socket: string;
    beforeAll(async () => {
      gate = await startDaemon();
      socket = join(gate.dataDir, 'admin.sock');
    });
    afterAll(() => gate.stop());

    test('card enrol for an unknown resident refuses without asking for a tap', async () => {
      const { run } = await commands.card!();
      const out = io();
      expect(await run(['enrol', 'r-nope', '--socket', socket], out)).toBe(1);
      expect(out.errors.join('\n')).toContain('no resident with id r-nope');
      expect(out.errors.join('\n')).not.toMatch(/Hold the card/);
    });

    test('face enrol with face off refuses without asking anyone to look at the camera', async () => {
      const { run: resident } = await commands.resident!();
      expect(await resident(['add', '--id', 'r-face', '--socket', socket], io())).toBe(0);
      const { run } = await commands.face!();
      const out = io();
      expect(await run(['enrol', 'r-face', '--socket', socket], out)).toBe(1);
      expect(out.errors.join('\n')).toContain('face recognition is off on this gate');
      expect(out.errors.join('\n')).not.toMatch(/Look at the camera/);
    });

    test('the admin API refuses an impossible date by name and creates nothing', async () => {
      const { run } = await commands.resident!();
      const out = io();
      const res = await gate.post('/api/admin/residents', { id: 'r-feb', validUntil: '2027-02-30' });
      expect(res.status).toBe(400);
      expect(res.body.error).toContain('validUntil "2027-02-30" has day 30');
      expect(await run(['list', '--socket', socket], out)).toBe(0);
      expect(out.lines.join('\n')).not.toContain('r-feb');
    });
  });
});
