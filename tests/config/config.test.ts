import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, EXIT_CONFIG, loadConfig, parseConfig } from '../../firmware/config/load';
import { DAEMON_ENTRY } from '../helpers/daemon';

const problems = (raw: unknown): string[] => {
  try {
    parseConfig(raw);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('config was accepted');
};

describe('config validation', () => {
  test('no file at all gives a complete simulated gate', () => {
    const loaded = loadConfig(undefined);
    expect(loaded.source).toBe('defaults');
    expect(loaded.config.hardware).toBe('auto');
    expect(loaded.config.door).toMatchObject({ pulseMs: 5000, heldOpenMs: 15000, lockType: 'fail-secure', relockOnClose: true });
    expect(loaded.config.bench.port).toBe(8080);
    expect(loaded.keysDir).toBe(join(loaded.dataDir, 'keys'));
  });

  test.each([
    [{ door: { pulseMs: 100 } }, 'door.pulseMs = 100: Too small'],
    [{ door: { pulseMs: '5s' } }, 'door.pulseMs = "5s": Invalid input: expected number'],
    [{ door: { lockType: 'magnetic' } }, 'door.lockType = "magnetic": Invalid option: expected one of "fail-secure"|"fail-safe"'],
    [{ gate: { id: 'gate/1' } }, 'gate.id = "gate/1": must be 1-64 characters'],
    [{ gate: { site: '' } }, 'gate.site = "": must be 1-64 characters'],
    [{ hardware: 'arduino' }, 'hardware = "arduino": Invalid option: expected one of "auto"|"sim"|"pi"'],
    [{ gpio: { relay: { pin: 99 } } }, 'gpio.relay.pin = 99: Too big'],
    [{ bench: { port: 70000 } }, 'bench.port = 70000: Too big'],
    [{ door: { pulseMS: 3000 } }, 'door.pulseMS: is not a known setting'],
    [{ colour: 'red' }, 'colour: is not a known setting'],
  ])('%j is refused with a message naming key, value and what is allowed', (raw, expected) => {
    expect(problems(raw).join('\n')).toContain(expected);
  });

  test('every problem is reported at once', () => {
    expect(problems({ door: { pulseMs: 1, lockType: 'x' }, gate: { id: 'A B' } })).toHaveLength(3);
  });

  test('unreadable and non-JSON files are errors naming the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'postern-cfg-'));
    try {
      writeFileSync(join(dir, 'bad.json'), '{ "door": ');
      expect(() => loadConfig(join(dir, 'bad.json'))).toThrow(/bad\.json[\s\S]*not valid JSON/);
      expect(() => loadConfig(join(dir, 'missing.json'))).toThrow(/missing\.json[\s\S]*ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('relative dataDir resolves against the config file folder', () => {
    const dir = mkdtempSync(join(tmpdir(), 'postern-cfg-'));
    try {
      writeFileSync(join(dir, 'c.json'), JSON.stringify({ dataDir: 'state', keysDir: '/etc/postern/keys' }));
      const loaded = loadConfig(join(dir, 'c.json'));
      expect(loaded.dataDir).toBe(join(dir, 'state'));
      expect(loaded.keysDir).toBe('/etc/postern/keys');
      expect(loaded.adminSocket).toBe(join(dir, 'state', 'admin.sock'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the daemon with a bad config', () => {
  test('exits with EX_CONFIG, prints the problem, and never opens an output', () => {
    const dir = mkdtempSync(join(tmpdir(), 'postern-cfg-'));
    try {
      writeFileSync(join(dir, 'c.json'), JSON.stringify({ hardware: 'sim', dataDir: 'data', door: { pulseMs: -5 } }));
      const run = spawnSync(process.execPath, [DAEMON_ENTRY, '--config', join(dir, 'c.json')], { encoding: 'utf8', timeout: 15000 });
      expect(run.status).toBe(EXIT_CONFIG);
      expect(run.stderr).toContain('door.pulseMs = -5');
      expect(run.stdout).toBe('');
      // The simulated GPIO writes its levels file the moment any line is opened.
      expect(existsSync(join(dir, 'data', 'sim-gpio.json'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('an unknown command-line flag is a usage error', () => {
    const run = spawnSync(process.execPath, [DAEMON_ENTRY, '--colour'], { encoding: 'utf8', timeout: 15000 });
    expect(run.status).toBe(64);
    expect(run.stderr).toContain("Unknown option '--colour'");
  });
});
