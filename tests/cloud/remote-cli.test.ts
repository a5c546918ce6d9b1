import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyCommand } from '../../firmware/cloud/commands';
import { run } from '../../scripts/cli/remote';

/** `postern remote` offline subcommands: key generation and signing, and its argument errors. */
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'postern-remote-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cli(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await run(args, { out: (l) => out.push(l), err: (l) => err.push(l), env: {} });
  return { code, out, err };
}

test('keygen writes a 0600 key once and prints its public key; sign makes an envelope the gate accepts', async () => {
  const key = join(dir, 'operator.key');
  const made = await cli('keygen', '--out', key);
  expect(made.code).toBe(0);
  expect(statSync(key).mode & 0o777).toBe(0o600);
  expect(made.out[0]).toMatch(/^[A-Za-z0-9+/]{43}=$/);
  expect((await cli('pubkey', '--key', key)).out).toEqual(made.out);
  expect(await cli('keygen', '--out', key)).toMatchObject({ code: 1, err: [expect.stringMatching(/exists; refusing to overwrite/)] });

  const signed = await cli('sign', '--key', key, '--site', 'site1', '--gate', 'gate-a', '--ttl', '20', 'lockdown', '{"on":true}');
  expect(signed.code).toBe(0);
  const verdict = verifyCommand(signed.out[0]!, { trustedKeys: new Set(made.out), roots: new Set(), revoked: { has: () => false }, identity: { site: 'site1', gate: 'gate-a' }, nowMs: Date.now(), skewMs: 0, maxBytes: 4096, replay: { has: () => false } });
  expect(verdict).toMatchObject({ ok: true, command: { cmd: 'lockdown', args: { on: true } } });
  expect(readFileSync(key, 'utf8').trim()).toHaveLength(88);
});

test('bad arguments get an error that says what was wrong', async () => {
  const key = join(dir, 'operator.key');
  expect((await cli('sign', '--key', key, '--site', 'site1', '--gate', 'gate-a', '--ttl', '600', 'open')).err[0]).toMatch(/--ttl must be between 1 and 60 seconds/);
  expect((await cli('sign', '--key', key, '--site', 'site1', 'open')).err[0]).toMatch(/--gate is required/);
  expect((await cli('sign', '--key', key, '--site', 'site1', '--gate', 'g', 'lockdown', 'on')).err[0]).toMatch(/must be a JSON object/);
  expect((await cli('send', '--key', key, '--site', 'site1', '--gate', 'g', 'open')).err[0]).toMatch(/--broker URL is required/);
  expect(await cli('frobnicate')).toMatchObject({ code: 64, err: [expect.stringMatching(/^usage: postern remote/)] });
  expect((await cli('sign', '--nope')).code).toBe(64);
});
